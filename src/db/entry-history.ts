/**
 * A trader's entries so far, for the entry filters (src/domain/filters.ts): when its last entry's signal
 * arrived, how many entries it made this trading day, and the signals it received since its position in
 * a contract opened. An entry is an execution with an entry or add order that filled.
 */
import type { Sql } from "./client";

/**
 * The last entry's signal arrival (looking back to `since`) and the entries whose signal arrived at or
 * after `dayStart`.
 */
export async function entryCounts(
  sql: Sql,
  traderId: string,
  dayStart: Date,
  since: Date,
): Promise<{ lastEntryAt?: Date; entriesToday: number }> {
  const from = since < dayStart ? since : dayStart;
  const [row] = await sql`
    select max(s.received_at) as last,
           count(*) filter (where s.received_at >= ${dayStart})::int as today
    from executions e
    join signals s on s.id = e.signal_id
    where e.trader_id = ${traderId}
      and e.created_at >= ${from}::timestamptz - interval '1 day'
      and s.received_at >= ${from}
      and exists (
        select 1 from broker_orders o
        where o.execution_id = e.id and o.leg in ('entry', 'add') and o.filled_qty > 0
      )`;
  const last = row?.last as Date | null | undefined;
  return { entriesToday: (row?.today as number | undefined) ?? 0, ...(last ? { lastEntryAt: last } : {}) };
}

/**
 * The stored signals (normalized JSON) of the trader's executions in `contract` after the one that opened
 * its current position there (an execution that opened, reversed or resynced) and before the running
 * one (signals queued behind it are not counted yet), oldest first. At most `limit`.
 */
export async function signalsSinceOpening(
  sql: Sql,
  traderId: string,
  contract: string,
  executionId: string,
  limit = 1_000,
): Promise<Record<string, unknown>[]> {
  const rows = await sql`
    with opening as (
      select max(s.seq) as seq
      from executions e join signals s on s.id = e.signal_id
      where e.trader_id = ${traderId} and e.contract = ${contract} and e.status = 'done'
        and e.decision in ('opened', 'reversed', 'resynced')
    )
    , running as (
      select s.seq from executions e join signals s on s.id = e.signal_id where e.id = ${executionId}
    )
    select s.payload
    from executions e join signals s on s.id = e.signal_id, opening, running
    where e.trader_id = ${traderId} and e.contract = ${contract}
      and opening.seq is not null and s.seq > opening.seq and s.seq < running.seq
    order by s.seq
    limit ${limit}`;
  return rows.map((r) => r.payload as Record<string, unknown>);
}
