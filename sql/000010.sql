-- Prop-firm risk rules per broker sub-account (issue 14): the rules as the API stored them, the trailing
-- floor's durable state (a restart keeps the high-water mark and the floor), and each rule breach of a
-- trading day (a restart keeps a paused sub-account paused and never fails an account twice).

-- The `propRules` list of a login: one row per entry; broker_account_id '' is the entry for every
-- sub-account of the login without its own row.
create table prop_rules (
  account_id uuid not null references accounts (id),
  broker_account_id text not null default '',
  position integer not null,                    -- the entry's place in the list as given
  rules jsonb not null,                         -- the entry as validated (src/domain/prop-settings.ts)
  updated_at timestamptz not null default now(),
  primary key (account_id, broker_account_id)
);
create trigger prop_rules_changed after insert or update or delete on prop_rules
  for each statement execute function notify_config_change();

-- The trailing floor of one sub-account. `basis` names the settings it was computed for (starting
-- balance, mode, amount, lock, seeded high-water): when they change the trail starts afresh.
create table prop_trail (
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  basis text not null,
  high_water numeric not null,
  floor numeric not null,
  trading_day date,                             -- the last trading day the trail saw (an eod roll missed
                                                -- while the relay was down is applied at start)
  updated_at timestamptz not null default now(),
  primary key (account_id, broker_account_id)
);

-- One breach per sub-account, rule and trading day.
create table prop_breaches (
  id bigserial primary key,
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  rule text not null check (rule in ('trailingDrawdown', 'dailyProfitTarget', 'dailyLossLimit')),
  action text not null check (action in ('pause', 'flatten', 'fail')),
  trading_day date not null,
  message text not null,
  equity numeric not null,
  threshold numeric not null,                   -- the floor, the target or -limit that was reached
  breached_at timestamptz not null,
  status text not null default 'detected'
    check (status in ('detected', 'flattening', 'waiting', 'flat', 'stuck', 'paused')),
  attempts integer not null default 0,
  last_error text,
  flattened_at timestamptz,
  traders_disabled_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (account_id, broker_account_id, rule, trading_day)
);
create index prop_breaches_recent on prop_breaches (trading_day desc);
