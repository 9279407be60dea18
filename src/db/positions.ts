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
