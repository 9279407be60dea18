-- The broker is the truth (issue 12).

-- An exit, close or flatten whose broker cannot be reached waits for it instead of failing: it is still
-- open work, resumed by whichever relay holds its lease.
drop index executions_open;
create index executions_open on executions (lease_until) where status in ('pending', 'running', 'waiting_for_broker');

-- A login being deleted takes no new traders; set (in the same row lock a trader insert checks) before
-- its orders are cancelled and its positions closed.
alter table accounts add column deleting_at timestamptz;

-- Where a broker's ids live (broker, environment, host): the same order or fill id on another venue (a
-- login moved from demo to live, another ProjectX firm) is another order or fill.
alter table broker_orders add column venue text;

-- Our working orders per contract of a login: deletes, and the look a position gone flat at the broker
-- gets (are exits of ours still working there?).
create index broker_orders_live_by_account on broker_orders (account_id, broker_account_id, contract)
  where status in ('sending', 'accepted', 'working', 'unknown');

-- drift.kind also: book_corrected (the relay cut its book to the broker's position), fill_conflict (a
-- broker fill id seen before, with other contents).
