-- Issue 14: break-even and trailing stops the relay manages itself (brokers without a native trailing
-- order, or rules a native one cannot follow). One row per position (trader, broker sub-account,
-- contract) while it is managed, so a restart re-arms it: the best price seen since the position opened,
-- the stop price working at the broker and whether break-even already fired.
create table stop_management (
  trader_id uuid not null references traders (id),
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  contract text not null,
  side text not null check (side in ('buy', 'sell')),
  entry_price numeric not null check (entry_price > 0),
  tick_size numeric not null check (tick_size > 0),
  stop_loss_ticks integer not null check (stop_loss_ticks > 0),
  -- {trailingStop, trailTriggerTicks, trailStepTicks, breakEvenTicks, breakEvenOffsetTicks}
  rules jsonb not null,
  -- The exits in ticks ({targets, stopLossTicks}) the position was protected with: placed again, at the
  -- managed stop price, if its stop disappears at the broker.
  exits jsonb not null,
  best_price numeric not null check (best_price > 0),
  stop_price numeric not null check (stop_price > 0),
  break_even_done boolean not null default false,
  -- Times the stop had to be placed again (gone at the broker): part of the new orders' client ids.
  reprotects integer not null default 0,
  -- positions.opened_at of the position this row manages: a row left from an earlier one is not reused.
  position_opened_at timestamptz,
  armed_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (trader_id, broker_account_id, contract)
);
create index stop_management_account on stop_management (account_id, contract);
