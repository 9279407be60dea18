-- Notifications outbox. Bus listeners store each event once per target (notification_items, one insert);
-- the sender packs waiting items into Discord messages (notification_messages) and delivers those, claimed
-- with `for update skip locked` so two relays never send the same message and a restart loses none.

create table notification_messages (
  id bigint generated always as identity primary key,
  target_kind text not null check (target_kind in ('channel', 'user')),
  target_id text not null,
  urgent boolean not null,
  body jsonb not null,                          -- {content, embeds}: exactly what is posted
  status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
  attempts integer not null default 0,          -- deliveries tried (rate-limit waits do not count)
  not_before timestamptz not null default now(), -- back-off: not sent before this time
  claimed_by text,                              -- instance sending it now
  lease_until timestamptz,                      -- after this, another relay may take it over
  last_error text,
  discord_message_id text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  updated_at timestamptz not null default now()
);
create index notification_messages_due on notification_messages (urgent desc, id)
  where status in ('pending', 'sending');
create index notification_messages_done on notification_messages (created_at)
  where status in ('sent', 'failed');

create table notification_items (
  id bigint generated always as identity primary key,
  target_kind text not null check (target_kind in ('channel', 'user')),
  target_id text not null,
  urgent boolean not null,
  event_type text not null,
  signal_id text,                               -- SignalExecuted / ExecutionFailed: to fold failures into the summary
  payload jsonb not null,                       -- {event, recorderName?}: the event as this target sees it
  message_id bigint references notification_messages (id) on delete cascade,  -- null until packed
  created_at timestamptz not null default now()
);
create index notification_items_unpacked on notification_items (id) where message_id is null;
create index notification_items_by_message on notification_items (message_id);
create index notification_items_summaries on notification_items (signal_id, target_kind, target_id)
  where event_type = 'SignalExecuted';
