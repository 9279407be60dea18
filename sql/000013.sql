-- Issue 15: maximum favourable / adverse excursion of each trade. high_price and low_price are the highest
-- and lowest prices seen while the trade was open: its fill prices (booked with the fills,
-- src/db/trades.ts) and the quotes the loss monitor received (written behind, throttled, and when the
-- trade closes: src/monitor/excursions.ts; only ever widened, greatest()/least()). value_per_point is the
-- contract's dollar value per point when the trade was booked, so MFE / MAE are dollars without a broker
-- look-up on read.
alter table trades
  add column high_price numeric,
  add column low_price numeric,
  add column value_per_point numeric;

-- Trades booked before this migration: their fills' extremes are not kept, so the entry and exit averages
-- stand in (the excursion is then at least the one the averages show). Their value per point is unknown
-- (null): the API shows no MFE / MAE for them.
update trades
   set high_price = greatest(entry_value / entry_qty, case when exit_qty > 0 then exit_value / exit_qty end),
       low_price = least(entry_value / entry_qty, case when exit_qty > 0 then exit_value / exit_qty end);

alter table trades
  alter column high_price set not null,
  alter column low_price set not null;
