/** Reads of the relay's per-trader position book (writes happen with fills, in orders.ts). */
import { dec } from "../domain/decimal";
import type { BookPosition } from "../domain/position";
import type { Sql } from "./client";

export interface PositionRow extends BookPosition {
  traderId: string;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  openedAt: Date | null;
  updatedAt: Date;
}

export function positionRowOf(r: Record<string, unknown>): PositionRow {
  return {
    traderId: r.trader_id as string,
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    netQty: r.net_qty as number,
    realized: dec(r.realized_pnl as string),
    ...(r.avg_price !== null ? { avgPrice: dec(r.avg_price as string) } : {}),
    openedAt: r.opened_at as Date | null,
    updatedAt: r.updated_at as Date,
  };
}

export async function getPosition(
  sql: Sql,
  key: { traderId: string; brokerAccountId: string; contract: string },
): Promise<PositionRow | undefined> {
  const [row] = await sql`
    select * from positions
     where trader_id = ${key.traderId} and broker_account_id = ${key.brokerAccountId} and contract = ${key.contract}`;
  return row ? positionRowOf(row as Record<string, unknown>) : undefined;
}

export async function listPositions(
  sql: Sql,
  filter: { traderId?: string; open?: boolean } = {},
): Promise<PositionRow[]> {
  const rows = await sql`
    select * from positions
     where (${filter.traderId ?? null}::uuid is null or trader_id = ${filter.traderId ?? null})
       and (${filter.open ?? false} = false or net_qty <> 0)
     order by trader_id, contract`;
  return rows.map((r) => positionRowOf(r as Record<string, unknown>));
}

export interface PositionKey {
  traderId: string;
  brokerAccountId: string;
  contract: string;
}

/** Many getPosition calls in one query, results in the order asked. */
export async function getPositions(sql: Sql, keys: PositionKey[]): Promise<(PositionRow | undefined)[]> {
  const wanted = keys.map((k) => ({
    trader_id: k.traderId,
    broker_account_id: k.brokerAccountId,
    contract: k.contract,
  }));
  const rows = await sql`
    select p.* from positions p
      join jsonb_to_recordset(${sql.json(wanted as never)}::jsonb) as v(trader_id uuid, broker_account_id text, contract text)
        on p.trader_id = v.trader_id and p.broker_account_id = v.broker_account_id and p.contract = v.contract`;
  const byKey = new Map(
    rows.map((r) => [
      `${r.trader_id}|${r.broker_account_id}|${r.contract}`,
      positionRowOf(r as Record<string, unknown>),
    ]),
  );
  return keys.map((k) => byKey.get(`${k.traderId}|${k.brokerAccountId}|${k.contract}`));
}

/** Every trader's open booked position in one contract of one sub-account. */
export async function openInContract(
  sql: Sql,
  key: { accountId: string; brokerAccountId: string; contract: string },
): Promise<PositionRow[]> {
  const rows = await sql`
    select * from positions
     where account_id = ${key.accountId} and broker_account_id = ${key.brokerAccountId}
       and contract = ${key.contract} and net_qty <> 0
     order by trader_id`;
  return rows.map((r) => positionRowOf(r as Record<string, unknown>));
}

/**
 * The channel every position write is announced on (src/orders/position-book.ts): relays keeping the book
 * in memory drop what another process changed. The payload is JSON `{s: source, k: [[trader, sub-account,
 * contract], ...]}`, at most POSITION_KEYS_PER_NOTICE keys a notice (Postgres caps a payload at 8,000 bytes).
 */
export const POSITIONS_CHANNEL = "relay_positions";
const POSITION_KEYS_PER_NOTICE = 50;

export interface PositionWrite {
  trader_id: string;
  account_id: string;
  broker_account_id: string;
  contract: string;
  net_qty: number;
  avg_price: string | null;
  realized_pnl: string;
  opened_at: string | null;
}

/**
 * Writes positions after their fills (the only writer of the table: applyOrderFills), announces the keys
 * on POSITIONS_CHANNEL in the same statement (delivered on commit, so never for a write that rolled back)
 * and returns the rows as written.
 */
export async function upsertPositions(
  tx: Sql,
  rows: PositionWrite[],
  source: string,
): Promise<PositionRow[]> {
  const written = await tx`
    with up as (
      insert into positions (trader_id, account_id, broker_account_id, contract, net_qty, avg_price, realized_pnl, opened_at, updated_at)
      select v.trader_id, v.account_id, v.broker_account_id, v.contract, v.net_qty, v.avg_price, v.realized_pnl, v.opened_at,
             clock_timestamp()
        from jsonb_to_recordset(${tx.json(rows as never)}::jsonb)
               as v(trader_id uuid, account_id uuid, broker_account_id text, contract text, net_qty integer,
                    avg_price numeric, realized_pnl numeric, opened_at timestamptz)
      on conflict (trader_id, broker_account_id, contract) do update set
        net_qty = excluded.net_qty, avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl,
        opened_at = case when excluded.net_qty = 0 then null
                         when positions.net_qty = 0 or sign(positions.net_qty) <> sign(excluded.net_qty) then excluded.opened_at
                         else positions.opened_at end,
        updated_at = excluded.updated_at
      returning *
    ), notices as (
      select pg_notify(${POSITIONS_CHANNEL}, json_build_object('s', ${source}::text,
               'k', json_agg(json_build_array(trader_id, broker_account_id, contract)))::text)
        from (select trader_id, broker_account_id, contract,
                     (row_number() over () - 1) / ${POSITION_KEYS_PER_NOTICE} as chunk from up) k
       group by chunk
    )
    select up.*, (select count(*) from notices) as notices from up`;
  return written.map((r) => positionRowOf(r as Record<string, unknown>));
}

/** Every position row: the book a relay holds in memory starts from it. */
export async function allPositions(sql: Sql): Promise<PositionRow[]> {
  const rows = await sql`select * from positions`;
  return rows.map((r) => positionRowOf(r as Record<string, unknown>));
}

export const positionKey = (k: PositionKey): string => `${k.traderId}|${k.brokerAccountId}|${k.contract}`;

/**
 * The trader's booked position and what an execution's own orders filled, read together (one snapshot:
 * a fill is booked onto both in one transaction), so the position before the execution follows.
 */
export async function positionAndOwnFills(
  sql: Sql,
  key: PositionKey,
  executionId: string,
): Promise<{ row: PositionRow | undefined; own: { side: "buy" | "sell"; filledQty: number }[] }> {
  const [r] = await sql`
    select p.*, (select coalesce(json_agg(json_build_object('side', o.side, 'filledQty', o.filled_qty)), '[]'::json)
                   from broker_orders o where o.execution_id = ${executionId} and o.filled_qty > 0) as own
      from (select 1) one
      left join positions p
        on p.trader_id = ${key.traderId} and p.broker_account_id = ${key.brokerAccountId} and p.contract = ${key.contract}`;
  const row = r && r.trader_id !== null ? positionRowOf(r as Record<string, unknown>) : undefined;
  return { row, own: (r?.own as { side: "buy" | "sell"; filledQty: number }[]) ?? [] };
}
