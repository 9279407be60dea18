/**
 * Round-trip trades (issue 15), kept as fills are booked rather than computed on read: the booking
 * transaction (applyOrderFills) is the one place that knows each fill's booked part, its contract's value
 * per point and the position it applied to, and it runs once per fill key, so a fill reported twice never
 * changes a trade. Computing on read would need the value per point of every contract again (a broker
 * look-up) and could not tell a fill's booked part from its report.
 */
import { type Dec, dec, toStr } from "../domain/decimal";
import type { BookPosition } from "../domain/position";
import { type RoundTrip, roundTrips, type TradeFill } from "../domain/round-trips";
import type { Sql } from "./client";

export interface TradeGroup {
  traderId: string;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  /** The position before the first of `fills`. */
  before: BookPosition;
  valuePerPoint: Dec;
  fills: TradeFill[];
}

function tripOf(r: Record<string, unknown>): RoundTrip {
  return {
    direction: r.direction as "long" | "short",
    entryQty: r.entry_qty as number,
    entryValue: dec(r.entry_value as string),
    exitQty: r.exit_qty as number,
    exitValue: dec(r.exit_value as string),
    maxSize: r.max_size as number,
    netQty: r.net_qty as number,
    realized: dec(r.realized_pnl as string),
    openedAt: r.opened_at as Date,
    fills: r.fills as number,
    openFillId: r.open_fill_key as string,
  };
}

/**
 * Folds newly booked fills into the trades of their positions. Called inside the booking transaction,
 * with the positions' advisory locks held. An open trade that no longer matches the position (the book
 * was corrected to the broker outside our fills) ends as `cut` at the first new fill.
 */
export async function bookTrades(tx: Sql, groups: TradeGroup[]): Promise<void> {
  if (groups.length === 0) return;
  const wanted = groups.map((g) => ({
    trader_id: g.traderId,
    broker_account_id: g.brokerAccountId,
    contract: g.contract,
  }));
  const rows = await tx`
    select t.id, t.trader_id, t.broker_account_id, t.contract, t.direction, t.entry_qty, t.entry_value::text,
           t.exit_qty, t.exit_value::text, t.max_size, t.net_qty, t.realized_pnl::text, t.fills, t.opened_at,
           t.open_fill_key
      from trades t
      join jsonb_to_recordset(${tx.json(wanted as never)}::jsonb) as v(trader_id uuid, broker_account_id text, contract text)
        on t.trader_id = v.trader_id and t.broker_account_id = v.broker_account_id and t.contract = v.contract
     where t.status = 'open'`;
  const open = new Map(rows.map((r) => [`${r.trader_id}|${r.broker_account_id}|${r.contract}`, r]));
  for (const g of groups) {
    const row = open.get(`${g.traderId}|${g.brokerAccountId}|${g.contract}`);
    const first = g.fills[0];
    if (!first) continue;
    let continued: RoundTrip | undefined;
    if (row && g.before.netQty !== 0 && (row.net_qty as number) === g.before.netQty) continued = tripOf(row);
    else if (row)
      await tx`update trades set status = 'cut', closed_at = ${first.at}, close_fill_key = ${first.fillId} where id = ${row.id as string}`;
    const { trades } = roundTrips(g.fills, g.valuePerPoint, {
      position: g.before,
      ...(continued ? { open: continued } : {}),
    });
    for (const t of trades) {
      const values = {
        status: t.closedAt ? "closed" : "open",
        entry_qty: t.entryQty,
        entry_value: toStr(t.entryValue),
        exit_qty: t.exitQty,
        exit_value: toStr(t.exitValue),
        max_size: t.maxSize,
        net_qty: t.netQty,
        realized_pnl: toStr(t.realized),
        fills: t.fills,
        closed_at: t.closedAt ?? null,
        close_fill_key: t.closeFillId ?? null,
      };
      if (continued && row && t.openFillId === continued.openFillId) {
        await tx`update trades set ${tx(values)} where id = ${row.id as string}`;
        continue;
      }
      await tx`insert into trades ${tx({
        ...values,
        trader_id: g.traderId,
        account_id: g.accountId,
        broker_account_id: g.brokerAccountId,
        contract: g.contract,
        direction: t.direction,
        opened_at: t.openedAt,
        open_fill_key: t.openFillId,
      })}`;
    }
  }
}

export interface TradeRow {
  id: string;
  traderId: string;
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  direction: "long" | "short";
  status: "open" | "closed" | "cut";
  entryQty: number;
  entryValue: Dec;
  exitQty: number;
  exitValue: Dec;
  maxSize: number;
  netQty: number;
  realized: Dec;
  fills: number;
  openedAt: Date;
  closedAt: Date | null;
  /** The account's trading-day rule override (null: the relay's default). */
  roll: string | null;
  timeZone: string | null;
}

export interface TradeFilter {
  accountId?: string;
  traderId?: string;
  recorderId?: string;
  /** Trades opened at or after. */
  from?: Date;
  /** Trades opened before. */
  to?: Date;
  /** Only trades closed (or cut) at or after / before. */
  closedFrom?: Date;
  closedTo?: Date;
  limit?: number;
}

/** Trades matching the filter, newest first (by when they opened). */
export async function listTrades(sql: Sql, f: TradeFilter): Promise<TradeRow[]> {
  const rows = await sql`
    select t.id::text, t.trader_id, tr.recorder_id, t.account_id, t.broker_account_id, t.contract, t.direction,
           t.status, t.entry_qty, t.entry_value::text, t.exit_qty, t.exit_value::text, t.max_size, t.net_qty,
           t.realized_pnl::text, t.fills, t.opened_at, t.closed_at, a.trading_day_roll, a.trading_day_time_zone
      from trades t
      join traders tr on tr.id = t.trader_id
      join accounts a on a.id = t.account_id
     where true
       ${f.accountId ? sql`and t.account_id = ${f.accountId}` : sql``}
       ${f.traderId ? sql`and t.trader_id = ${f.traderId}` : sql``}
       ${f.recorderId ? sql`and tr.recorder_id = ${f.recorderId}` : sql``}
       ${f.from ? sql`and t.opened_at >= ${f.from}` : sql``}
       ${f.to ? sql`and t.opened_at < ${f.to}` : sql``}
       ${f.closedFrom ? sql`and t.closed_at >= ${f.closedFrom}` : sql``}
       ${f.closedTo ? sql`and t.closed_at < ${f.closedTo}` : sql``}
     order by t.opened_at desc, t.id desc
     ${f.limit ? sql`limit ${f.limit}` : sql``}`;
  return rows.map((r) => ({
    id: r.id as string,
    traderId: r.trader_id as string,
    recorderId: r.recorder_id as string,
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    direction: r.direction as "long" | "short",
    status: r.status as "open" | "closed" | "cut",
    entryQty: r.entry_qty as number,
    entryValue: dec(r.entry_value as string),
    exitQty: r.exit_qty as number,
    exitValue: dec(r.exit_value as string),
    maxSize: r.max_size as number,
    netQty: r.net_qty as number,
    realized: dec(r.realized_pnl as string),
    fills: r.fills as number,
    openedAt: r.opened_at as Date,
    closedAt: (r.closed_at as Date | null) ?? null,
    roll: (r.trading_day_roll as string | null) ?? null,
    timeZone: (r.trading_day_time_zone as string | null) ?? null,
  }));
}
