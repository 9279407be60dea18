-- Issue 15: history. Round-trip trades of each trader's position (trader, broker account, contract), kept
-- in the transaction that books the fills (src/db/orders.ts, src/db/trades.ts): a fill is booked once
-- (broker_fills' key), so it changes a trade once. A trade opens when the position leaves flat and closes
-- when it returns to flat; a reverse closes one and opens the next. realized_pnl is the realized P&L the
-- relay booked on the position for the trade's fills.
create table trades (
  id bigint generated always as identity primary key,
  trader_id uuid not null references traders (id),
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  contract text not null,
  direction text not null check (direction in ('long', 'short')),
  -- open | closed | cut (the book was corrected to the broker's position outside our fills: the trade
  -- ends where the relay's fills leave it)
  status text not null check (status in ('open', 'closed', 'cut')),
  entry_qty integer not null,
  entry_value numeric not null,      -- sum of price x qty of the entries
  exit_qty integer not null default 0,
  exit_value numeric not null default 0,
  max_size integer not null,
  net_qty integer not null,
  realized_pnl numeric not null default 0,
  fills integer not null,
  opened_at timestamptz not null,
  closed_at timestamptz,
  open_fill_key text not null,
  close_fill_key text
);
create unique index trades_one_open on trades (trader_id, broker_account_id, contract) where status = 'open';
create index trades_by_closed on trades (closed_at desc, id desc);
create index trades_by_trader on trades (trader_id, opened_at desc);
create index trades_by_account on trades (account_id, opened_at desc);
