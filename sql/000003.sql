-- Loss monitor and kill switch: account-level daily loss limits, per-account trading-day rolls, and each
-- trader's realized P&L per trading day (so a restart keeps today's figure).

-- Account (login) daily loss limit in account currency; null = none. The roll overrides
-- TRADING_DAY_ROLL / TRADING_DAY_TIME_ZONE for this account and every trader on it.
alter table accounts
  add column max_daily_loss numeric check (max_daily_loss > 0),
  add column trading_day_roll text check (trading_day_roll ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  add column trading_day_time_zone text check (trading_day_time_zone <> '');

-- Realized dollars booked from the trader's own fills, per trading day of the trader's account.
create table trader_daily_pnl (
  trader_id uuid not null references traders (id),
  trading_day date not null,
  realized numeric not null default 0,
  trades integer not null default 0,          -- fills that realized P&L (closing fills)
  peak numeric,                               -- highest total P&L seen that day (realized + unrealized)
  updated_at timestamptz not null default now(),
  primary key (trader_id, trading_day)
);

-- The flatten of a breach is an explicit state machine: detected -> flattening -> flat, or stuck (retries
-- spent while the broker refused) until the session comes back. Every attempt is counted.
alter table breaches
  add column attempts integer not null default 0,
  add column last_error text,
  add column updated_at timestamptz not null default now();
create index breaches_recent on breaches (trading_day desc);
