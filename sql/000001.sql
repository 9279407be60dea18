-- Core schema of the relay. Every durable fact lives here; process memory is only a cache of it.

create table admin_tokens (
  id bigint generated always as identity primary key,
  token_hash text not null unique,            -- sha256 hex of the bearer token; the token itself is never stored
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

-- A broker login. Credentials are AES-256-GCM sealed with the account id as associated data.
create table accounts (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  broker text not null check (broker in ('paper', 'tradovate', 'ninjatrader', 'projectx', 'webull')),
  environment text not null check (environment in ('demo', 'live')),
  credentials bytea not null,
  broker_accounts jsonb not null default '[]',  -- discovered sub-accounts [{id, name}]
  status text not null default 'new',           -- new | connected | error
  status_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

-- A signal source: one webhook token and its sizing and exit settings (validated by one zod schema).
create table recorders (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  webhook_token text not null unique,
  settings jsonb not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

-- The link recorder -> account (+ broker sub-account).
create table traders (
  id uuid primary key default gen_random_uuid(),
  recorder_id uuid not null references recorders (id),
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  multiplier numeric not null default 1 check (multiplier > 0),
  enabled boolean not null default true,
  max_daily_loss numeric check (max_daily_loss > 0),
  overrides jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
-- One sub-account follows a recorder once: two links would double every order.
create unique index traders_one_link on traders (recorder_id, account_id, broker_account_id) where deleted_at is null;
create index traders_by_recorder on traders (recorder_id) where deleted_at is null;

-- Every request to /webhook, accepted or not, with what we answered.
create table webhooks (
  id bigint generated always as identity primary key,
  received_at timestamptz not null,
  recorder_id uuid references recorders (id),
  token_prefix text,
  source_ip text,
  content_type text,
  headers jsonb not null default '{}',
  body text,
  body_bytes integer not null,
  outcome text not null,   -- accepted | duplicate | stale | invalid | unknown_token | too_large | rate_limited | forbidden | disabled
  http_status integer not null,
  error text,
  signal_id uuid,
  age_ms bigint
);
create index webhooks_recent on webhooks (received_at desc);
create index webhooks_by_recorder on webhooks (recorder_id, received_at desc);
create index webhooks_by_signal on webhooks (signal_id) where signal_id is not null;

-- One accepted alert, normalized.
create table signals (
  id uuid primary key,
  seq bigint generated always as identity unique,
  recorder_id uuid not null references recorders (id),
  webhook_id bigint not null references webhooks (id),
  received_at timestamptz not null,
  committed_at timestamptz not null default clock_timestamp(),
  alert_id text,
  fingerprint text not null,
  action text not null,
  ticker text not null,
  quantity numeric,
  price numeric,
  signal_time timestamptz,
  age_ms bigint,
  payload jsonb not null,
  summarized_at timestamptz                 -- set once, when every execution has finished and was reported
);
-- An alert id is executed at most once per recorder, ever.
create unique index signals_alert_once on signals (recorder_id, alert_id) where alert_id is not null;
create index signals_dedup on signals (recorder_id, fingerprint, received_at desc);
create index signals_recent on signals (received_at desc);

-- What one signal did on one trader.
create table executions (
  id uuid primary key default gen_random_uuid(),
  signal_id uuid not null references signals (id),
  trader_id uuid not null references traders (id),
  account_id uuid not null references accounts (id),
  status text not null default 'pending',  -- pending | running | done | ignored | failed | unknown
  claimed_by text,
  lease_until timestamptz,
  attempts integer not null default 0,
  decision text,                           -- opened | added | reversed | closed | ignored_same_direction | ...
  reason text,                             -- in words a trader understands
  contract text,
  plan jsonb,
  error text,
  created_at timestamptz not null default clock_timestamp(),
  started_at timestamptz,
  finished_at timestamptz,
  latency_ms integer,                      -- webhook received -> last broker acknowledgment
  unique (signal_id, trader_id)
);
create index executions_open on executions (lease_until) where status in ('pending', 'running');
create index executions_by_trader on executions (trader_id, created_at desc);
create index executions_failed on executions (finished_at desc) where status in ('failed', 'unknown');

-- Every order we send, keyed by its deterministic client order id: a second insert of the same id fails.
create table broker_orders (
  id bigint generated always as identity primary key,
  client_order_id text not null unique,
  execution_id uuid references executions (id),
  trader_id uuid references traders (id),
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  contract text not null,
  leg text not null,
  side text not null check (side in ('buy', 'sell')),
  order_type text not null,
  qty integer not null check (qty > 0),
  price numeric,
  stop_price numeric,
  status text not null,                    -- sending | accepted | working | filled | cancelled | rejected | unknown
  broker_order_id text,
  filled_qty integer not null default 0,
  fill_price numeric,
  reason text,
  raw jsonb,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp()
);
create index broker_orders_by_execution on broker_orders (execution_id);
create index broker_orders_by_broker_id on broker_orders (account_id, broker_order_id);
create index broker_orders_working on broker_orders (trader_id, contract) where status in ('sending', 'accepted', 'working', 'unknown');

-- Each fill counted once, whichever way it reached us (order reply, event stream, reconciliation).
create table broker_fills (
  account_id uuid not null references accounts (id),
  fill_key text not null,
  client_order_id text not null,
  qty integer not null,
  price numeric not null,
  at timestamptz not null,
  primary key (account_id, fill_key)
);

-- The relay's view of each position, keyed by (trader, broker account, contract): never by recorder.
create table positions (
  trader_id uuid not null references traders (id),
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  contract text not null,
  net_qty integer not null default 0,
  avg_price numeric,
  realized_pnl numeric not null default 0,
  opened_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (trader_id, broker_account_id, contract)
);

-- A trader or account that crossed its daily loss limit in a trading day. Survives restarts.
create table breaches (
  id bigint generated always as identity primary key,
  scope text not null check (scope in ('trader', 'account')),
  trader_id uuid references traders (id),
  account_id uuid references accounts (id),
  trading_day date not null,
  loss_limit numeric not null,
  pnl_at_breach numeric not null,
  breached_at timestamptz not null default now(),
  flattened_at timestamptz,
  status text not null default 'flattening'
);
create unique index breaches_once_per_day on breaches (scope, coalesce(trader_id, account_id), trading_day);

create table audit (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  subject text,
  detail jsonb not null default '{}'
);
create index audit_recent on audit (at desc);

-- The paper venue's book per paper account (orders, positions, cash), so paper trading survives restarts.
create table paper_state (
  account_id uuid primary key references accounts (id),
  state jsonb not null,
  version bigint not null default 1,           -- optimistic concurrency between relays
  trading_day text,                            -- the trading day whose realized P&L the book holds
  updated_at timestamptz not null default now()
);

-- Small durable switches (kill switch and the like).
create table relay_state (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);

-- Last accepted time of each normalized signal per recorder: the dedup window without a table lock.
-- Concurrent identical deliveries meet on this row's lock; different signals never wait for each other.
create table signal_fingerprints (
  recorder_id uuid not null references recorders (id),
  fingerprint text not null,
  last_at timestamptz not null,
  signal_id uuid not null,
  primary key (recorder_id, fingerprint)
);

-- Accept one valid signal in one round trip: duplicate checks, the raw log row, the signal and one
-- execution per enabled trader, claimed by the accepting instance.
create function accept_signal(
  p_signal_id uuid,
  p_recorder_id uuid,
  p_received_at timestamptz,
  p_webhook jsonb,           -- {source_ip, content_type, headers, body, body_bytes, token_prefix}
  p_alert_id text,
  p_fingerprint text,
  p_dedup_window_ms integer,
  p_signal jsonb,            -- {action, ticker, quantity, price, time, payload, age_ms}
  p_instance text,
  p_lease_ms integer
) returns jsonb
language plpgsql as $$
declare
  v_duplicate uuid;
  v_fresh boolean;
  v_webhook bigint;
  v_inserted uuid;
  v_executions jsonb;
begin
  if p_alert_id is not null then
    select id into v_duplicate from signals where recorder_id = p_recorder_id and alert_id = p_alert_id;
  end if;

  if v_duplicate is null then
    insert into signal_fingerprints as f (recorder_id, fingerprint, last_at, signal_id)
    values (p_recorder_id, p_fingerprint, p_received_at, p_signal_id)
    on conflict (recorder_id, fingerprint) do update
       set last_at = excluded.last_at, signal_id = excluded.signal_id
     where f.last_at <= excluded.last_at - make_interval(secs => p_dedup_window_ms / 1000.0)
    returning true into v_fresh;
    if v_fresh is null then
      select signal_id into v_duplicate from signal_fingerprints
       where recorder_id = p_recorder_id and fingerprint = p_fingerprint;
    end if;
  end if;

  insert into webhooks (received_at, recorder_id, token_prefix, source_ip, content_type, headers, body, body_bytes,
                        outcome, http_status, signal_id, age_ms)
  values (p_received_at, p_recorder_id, p_webhook ->> 'token_prefix', p_webhook ->> 'source_ip',
          p_webhook ->> 'content_type', coalesce(p_webhook -> 'headers', '{}'), p_webhook ->> 'body',
          (p_webhook ->> 'body_bytes')::integer,
          case when v_duplicate is null then 'accepted' else 'duplicate' end,
          case when v_duplicate is null then 202 else 200 end,
          coalesce(v_duplicate, p_signal_id), (p_signal ->> 'age_ms')::bigint)
  returning id into v_webhook;

  if v_duplicate is null then
    insert into signals (id, recorder_id, webhook_id, received_at, alert_id, fingerprint, action, ticker, quantity,
                         price, signal_time, age_ms, payload)
    values (p_signal_id, p_recorder_id, v_webhook, p_received_at, p_alert_id, p_fingerprint, p_signal ->> 'action',
            p_signal ->> 'ticker', (p_signal ->> 'quantity')::numeric, (p_signal ->> 'price')::numeric,
            (p_signal ->> 'time')::timestamptz, (p_signal ->> 'age_ms')::bigint, p_signal -> 'payload')
    on conflict (recorder_id, alert_id) where alert_id is not null do nothing
    returning id into v_inserted;
    if v_inserted is null then
      -- The same alert id arrived concurrently with different content: the first one wins.
      select id into v_duplicate from signals where recorder_id = p_recorder_id and alert_id = p_alert_id;
      update webhooks set outcome = 'duplicate', http_status = 200, signal_id = v_duplicate where id = v_webhook;
      update signal_fingerprints set signal_id = v_duplicate
       where recorder_id = p_recorder_id and fingerprint = p_fingerprint and signal_id = p_signal_id;
    end if;
  end if;

  if v_duplicate is not null then
    return jsonb_build_object('outcome', 'duplicate', 'signalId', v_duplicate, 'webhookId', v_webhook);
  end if;

  with created as (
    insert into executions (signal_id, trader_id, account_id, claimed_by, lease_until)
    select p_signal_id, t.id, t.account_id, p_instance, clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0)
      from traders t
      join accounts a on a.id = t.account_id and a.deleted_at is null
     where t.recorder_id = p_recorder_id and t.enabled and t.deleted_at is null
     order by t.created_at, t.id
    returning id, trader_id, account_id
  )
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'traderId', trader_id, 'accountId', account_id)), '[]')
    into v_executions from created;

  return jsonb_build_object('outcome', 'accepted', 'signalId', p_signal_id, 'webhookId', v_webhook,
                            'executions', v_executions);
end;
$$;

-- Config changes wake every relay's cache (LISTEN relay_config).
create function notify_config_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('relay_config', tg_table_name);
  return null;
end;
$$;
create trigger recorders_changed after insert or update or delete on recorders for each statement execute function notify_config_change();
create trigger traders_changed after insert or update or delete on traders for each statement execute function notify_config_change();
create trigger accounts_changed after insert or update or delete on accounts for each statement execute function notify_config_change();
