-- Issue 14: leader copying and session flatten.

-- A recorder's leader: a broker sub-account whose own fills (orders the relay did not place) are copied
-- to the recorder's traders. One leader per recorder.
create table recorder_leaders (
  recorder_id uuid primary key references recorders (id),
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index recorder_leaders_by_account on recorder_leaders (account_id, broker_account_id);

-- Loop safety: a sub-account never leads a recorder it also follows (its copies would be copied back).
create function refuse_leader_follower() returns trigger language plpgsql as $$
begin
  if exists (
    select 1 from recorder_leaders l join traders t
      on t.recorder_id = l.recorder_id and t.account_id = l.account_id
     and t.broker_account_id = l.broker_account_id and t.deleted_at is null
     where l.recorder_id = new.recorder_id
       and (tg_table_name <> 'traders' or t.id::text = to_jsonb(new) ->> 'id')
  ) then
    raise exception 'a sub-account cannot both lead and follow one recorder' using errcode = 'RL001';
  end if;
  return new;
end;
$$;
create constraint trigger recorder_leaders_not_follower after insert or update on recorder_leaders
  deferrable initially immediate for each row execute function refuse_leader_follower();
create constraint trigger traders_not_leader after insert or update on traders
  deferrable initially immediate for each row execute function refuse_leader_follower();
create trigger recorder_leaders_changed after insert or update or delete on recorder_leaders
  for each statement execute function notify_config_change();

-- The leader's own position per contract after the last fill copied: the "before" of the next signal.
create table leader_positions (
  recorder_id uuid not null references recorders (id),
  contract text not null,
  net_qty integer not null,
  updated_at timestamptz not null default now(),
  primary key (recorder_id, contract)
);

-- Where a signal came from: a webhook, or a leader's fill (written in the same transaction).
alter table signals add column source text not null default 'webhook' check (source in ('webhook', 'leader'));

-- Session flatten: the last close of a recorder's trading windows that was handled, so one close is
-- flattened once, restarts included. `done_at` null: its flatten was still running (resumed at start, same
-- order ids). A close seen first when the setting is switched on is only recorded (done_at set, nothing
-- flattened).
create table session_flattens (
  recorder_id uuid primary key references recorders (id),
  window_end timestamptz not null,
  started_at timestamptz not null default now(),
  done_at timestamptz
);
