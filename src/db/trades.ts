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
    high: dec(r.high_price as string),
    low: dec(r.low_price as string),
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
           t.open_fill_key, t.high_price::text, t.low_price::text
      from trades t
      join jsonb_to_recordset(${tx.json(wanted as never)}::jsonb) as v(trader_id uuid, broker_account_id text, contract text)
        on t.trader_id = v.trader_id and t.broker_account_id = v.broker_account_id and t.contract = v.contract
     where t.status = 'open'`;
  const open = new Map(rows.map((r) => [`${r.trader_id}|${r.broker_account_id}|${r.contract}`, r]));
  // Collected, then written in at most three statements (a fan-out books hundreds of fills at once):
  // cuts first, then the continued trades, then new ones (one open trade per position at any moment).
  const cuts: { id: string; closed_at: Date; close_fill_key: string }[] = [];
  const updates: Record<string, unknown>[] = [];
  const inserts: Record<string, unknown>[] = [];
  for (const g of groups) {
    const row = open.get(`${g.traderId}|${g.brokerAccountId}|${g.contract}`);
    const first = g.fills[0];
    if (!first) continue;
    let continued: RoundTrip | undefined;
    if (row && g.before.netQty !== 0 && (row.net_qty as number) === g.before.netQty) continued = tripOf(row);
    else if (row) cuts.push({ id: row.id as string, closed_at: first.at, close_fill_key: first.fillId });
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
        high_price: toStr(t.high),
        low_price: toStr(t.low),
      };
      if (continued && row && t.openFillId === continued.openFillId) updates.push({ ...values, id: row.id });
      else
        inserts.push({
          ...values,
          trader_id: g.traderId,
          account_id: g.accountId,
          broker_account_id: g.brokerAccountId,
          contract: g.contract,
          direction: t.direction,
          opened_at: t.openedAt,
          open_fill_key: t.openFillId,
          value_per_point: toStr(g.valuePerPoint),
        });
    }
  }
  if (cuts.length)
    await tx`
      update trades t set status = 'cut', closed_at = v.closed_at, close_fill_key = v.close_fill_key
        from jsonb_to_recordset(${tx.json(cuts as never)}::jsonb) as v(id bigint, closed_at timestamptz, close_fill_key text)
       where t.id = v.id`;
  if (updates.length)
    // Only ever widened: the loss monitor may have written a quote's extreme since the row was read.
    await tx`
      update trades t set status = v.status, entry_qty = v.entry_qty, entry_value = v.entry_value,
             exit_qty = v.exit_qty, exit_value = v.exit_value, max_size = v.max_size, net_qty = v.net_qty,
             realized_pnl = v.realized_pnl, fills = v.fills, closed_at = v.closed_at,
             close_fill_key = v.close_fill_key,
             high_price = greatest(t.high_price, v.high_price), low_price = least(t.low_price, v.low_price)
        from jsonb_to_recordset(${tx.json(updates as never)}::jsonb)
               as v(id bigint, status text, entry_qty integer, entry_value numeric, exit_qty integer, exit_value numeric,
                    max_size integer, net_qty integer, realized_pnl numeric, fills integer, closed_at timestamptz,
                    close_fill_key text, high_price numeric, low_price numeric)
       where t.id = v.id`;
  if (inserts.length) await tx`insert into trades ${tx(inserts as never)}`;
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
  /** Highest and lowest price seen while open (fills and quotes). */
  high: Dec;
  low: Dec;
  /** Dollars per point when booked (null: booked before sql/000013.sql). */
  valuePerPoint: Dec | null;
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
           t.realized_pnl::text, t.fills, t.opened_at, t.closed_at, a.trading_day_roll, a.trading_day_time_zone,
           t.high_price::text, t.low_price::text, t.value_per_point::text
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
    high: dec(r.high_price as string),
    low: dec(r.low_price as string),
    valuePerPoint: r.value_per_point === null ? null : dec(r.value_per_point as string),
    roll: (r.trading_day_roll as string | null) ?? null,
    timeZone: (r.trading_day_time_zone as string | null) ?? null,
  }));
}

/** A position's open trade as the loss monitor follows it (src/monitor/excursions.ts). */
export interface OpenTradeExtremes {
  traderId: string;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  direction: "long" | "short";
  high: Dec;
  low: Dec;
}

export async function openTradeExtremes(sql: Sql): Promise<OpenTradeExtremes[]> {
  const rows = await sql`
    select trader_id, account_id, broker_account_id, contract, direction, high_price::text, low_price::text
      from trades where status = 'open'`;
  return rows.map((r) => ({
    traderId: r.trader_id as string,
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    direction: r.direction as "long" | "short",
    high: dec(r.high_price as string),
    low: dec(r.low_price as string),
  }));
}

/** A quote extreme seen on a position, and when (the quote's own time). */
export interface SeenExtreme {
  traderId: string;
  brokerAccountId: string;
  contract: string;
  high?: { price: Dec; at: Date };
  low?: { price: Dec; at: Date };
}

/**
 * Widens the trades of the positions with quote extremes, in one statement. Each extreme goes to the
 * position's trade that was open when the quote was seen (opened at or before it, closed at or after it
 * or still open), so a quote written after its trade closed and the next opened never lands on the next.
 * Only ever widens (greatest / least): a late or repeated write changes nothing.
 */
export async function widenTrades(sql: Sql, seen: SeenExtreme[]): Promise<number> {
  if (seen.length === 0) return 0;
  const rows = seen.map((x) => ({
    trader_id: x.traderId,
    broker_account_id: x.brokerAccountId,
    contract: x.contract,
    high: x.high ? toStr(x.high.price) : null,
    high_at: x.high ? x.high.at.toISOString() : null,
    low: x.low ? toStr(x.low.price) : null,
    low_at: x.low ? x.low.at.toISOString() : null,
  }));
  const during = (at: string) =>
    sql.unsafe(`(t.opened_at <= v.${at} and (t.closed_at is null or t.closed_at >= v.${at}))`);
  const result = await sql`
    update trades t set
      high_price = case when ${during("high_at")} then greatest(t.high_price, v.high) else t.high_price end,
      low_price = case when ${during("low_at")} then least(t.low_price, v.low) else t.low_price end
      from jsonb_to_recordset(${sql.json(rows as never)}::jsonb)
             as v(trader_id uuid, broker_account_id text, contract text, high numeric, high_at timestamptz,
                  low numeric, low_at timestamptz)
     where t.trader_id = v.trader_id and t.broker_account_id = v.broker_account_id and t.contract = v.contract
       and ((${during("high_at")} and v.high > t.high_price) or (${during("low_at")} and v.low < t.low_price))`;
  return result.count;
}
