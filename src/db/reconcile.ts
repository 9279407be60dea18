/** Reads reconciliation needs: one sub-account's live orders and open positions, and work in flight. */
import type { Sql } from "./client";
import { type OrderRow, orderRowOf } from "./orders";
import { type PositionRow, positionRowOf } from "./positions";

export async function liveOrdersOfSub(
  sql: Sql,
  traderIds: string[],
  brokerAccountId: string,
): Promise<OrderRow[]> {
  const rows = await sql`
    select * from broker_orders
     where trader_id = any(${traderIds}::uuid[]) and broker_account_id = ${brokerAccountId}
       and status in ('sending', 'accepted', 'working', 'unknown')
     order by id`;
  return rows.map((r) => orderRowOf(r as Record<string, unknown>));
}

export async function openPositionsOfSub(
  sql: Sql,
  traderIds: string[],
  brokerAccountId: string,
): Promise<PositionRow[]> {
  const rows = await sql`
    select * from positions
     where trader_id = any(${traderIds}::uuid[]) and broker_account_id = ${brokerAccountId} and net_qty <> 0`;
  return rows.map((r) => positionRowOf(r as Record<string, unknown>));
}

/**
 * Traders with an execution open, or finished since `since` (the broker's snapshot may predate its
 * orders): reconciliation leaves them to the executor.
 */
export async function tradersInFlight(sql: Sql, traderIds: string[], since: Date): Promise<Set<string>> {
  const rows = await sql`
    select distinct trader_id from executions
     where trader_id = any(${traderIds}::uuid[])
       and (status in ('pending', 'running', 'waiting_for_broker') or finished_at >= ${since})`;
  return new Set(rows.map((r) => r.trader_id as string));
}

/** The database's clock, so "since" compares with timestamps the database wrote. */
export async function databaseNow(sql: Sql): Promise<Date> {
  const [row] = await sql`select now() as now`;
  return row?.now as Date;
}

/** Orders older than `olderThanMs` only: a fresh order may simply not be visible at the broker yet. */
export function isOld(o: OrderRow & { createdAt?: Date }, now: number, olderThanMs: number): boolean {
  return o.createdAt !== undefined && now - o.createdAt.getTime() > olderThanMs;
}

/** How many exit orders the trader's position in this contract has had since it opened (seeds new ids). */
export async function exitOrdersSince(
  sql: Sql,
  key: { traderId: string; brokerAccountId: string; contract: string },
  since: Date | null,
): Promise<number> {
  const [row] = await sql`
    select count(*)::int as n from broker_orders
     where trader_id = ${key.traderId} and broker_account_id = ${key.brokerAccountId} and contract = ${key.contract}
       and leg ~ '^(tp|sl)[0-9]+$' and (${since}::timestamptz is null or created_at >= ${since})`;
  return (row?.n as number) ?? 0;
}

/** How many exits of ours are working in one contract of one sub-account. */
export async function liveExitCount(
  sql: Sql,
  accountId: string,
  brokerAccountId: string,
  contract: string,
): Promise<number> {
  const [row] = await sql`
    select count(*)::int as n from broker_orders
     where account_id = ${accountId} and broker_account_id = ${brokerAccountId} and contract = ${contract}
       and status in ('sending', 'accepted', 'working', 'unknown') and leg ~ '^(tp|sl)[0-9]+$'`;
  return (row?.n as number) ?? 0;
}
