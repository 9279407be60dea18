/**
 * Database operations of the loss monitor (tables and columns of sql/000003.sql, plus reads of the order
 * and position book). `setAccountLossSettings` is for PATCH /api/accounts/:id.
 */
import type { Sql } from "../db/client";
import { type Dec, dec, toStr } from "../domain/decimal";

export interface AccountLossSettings {
  maxDailyLoss: Dec | null;
  /** "HH:MM" roll override, null = the relay's TRADING_DAY_ROLL. */
  tradingDayRoll: string | null;
  /** Time zone override, null = the relay's TRADING_DAY_TIME_ZONE. */
  tradingDayTimeZone: string | null;
}

export async function loadAccountLossSettings(sql: Sql): Promise<Map<string, AccountLossSettings>> {
  const rows = await sql`
    select id, max_daily_loss, trading_day_roll, trading_day_time_zone from accounts where deleted_at is null`;
  return new Map(
    rows.map((r) => [
      r.id as string,
      {
        maxDailyLoss: r.max_daily_loss === null ? null : dec(r.max_daily_loss as string),
        tradingDayRoll: (r.trading_day_roll as string | null) ?? null,
        tradingDayTimeZone: (r.trading_day_time_zone as string | null) ?? null,
      },
    ]),
  );
}

/**
 * Changes an account's limit and roll (undefined keeps a field, null clears it). Validate the roll and
 * zone first (`validRule` in src/domain/trading-day.ts). The accounts trigger wakes every relay.
 */
export async function setAccountLossSettings(
  sql: Sql,
  accountId: string,
  change: Partial<AccountLossSettings>,
): Promise<AccountLossSettings | undefined> {
  const keep = (v: unknown) => v === undefined;
  const [row] = await sql`
    update accounts set
           max_daily_loss = case when ${keep(change.maxDailyLoss)} then max_daily_loss
                                 else ${change.maxDailyLoss ? toStr(change.maxDailyLoss) : null}::numeric end,
           trading_day_roll = case when ${keep(change.tradingDayRoll)} then trading_day_roll
                                   else ${change.tradingDayRoll ?? null} end,
           trading_day_time_zone = case when ${keep(change.tradingDayTimeZone)} then trading_day_time_zone
                                        else ${change.tradingDayTimeZone ?? null} end,
           updated_at = now()
     where id = ${accountId} and deleted_at is null
    returning max_daily_loss, trading_day_roll, trading_day_time_zone`;
  if (!row) return undefined;
  return {
    maxDailyLoss: row.max_daily_loss === null ? null : dec(row.max_daily_loss as string),
    tradingDayRoll: (row.trading_day_roll as string | null) ?? null,
    tradingDayTimeZone: (row.trading_day_time_zone as string | null) ?? null,
  };
}

export interface TraderDayRow {
  traderId: string;
  tradingDay: string;
  realized: Dec;
  trades: number;
  peak: Dec | null;
}

export async function loadTraderDays(sql: Sql, sinceDay: string): Promise<TraderDayRow[]> {
  const rows = await sql`
    select trader_id, to_char(trading_day, 'YYYY-MM-DD') as day, realized, trades, peak
      from trader_daily_pnl where trading_day >= ${sinceDay}::date`;
  return rows.map((r) => ({
    traderId: r.trader_id as string,
    tradingDay: r.day as string,
    realized: dec(r.realized as string),
    trades: r.trades as number,
    peak: r.peak === null ? null : dec(r.peak as string),
  }));
}

/** Adds one fill's realized dollars to the trader's day; additions commute, so order does not matter. */
export async function addTraderRealized(
  sql: Sql,
  traderId: string,
  day: string,
  realized: Dec,
  trades: number,
): Promise<void> {
  await sql`
    insert into trader_daily_pnl (trader_id, trading_day, realized, trades)
    values (${traderId}, ${day}::date, ${toStr(realized)}::numeric, ${trades})
    on conflict (trader_id, trading_day) do update set
      realized = trader_daily_pnl.realized + excluded.realized,
      trades = trader_daily_pnl.trades + excluded.trades,
      updated_at = now()`;
}

export async function saveTraderPeak(sql: Sql, traderId: string, day: string, peak: Dec): Promise<void> {
  await sql`
    insert into trader_daily_pnl (trader_id, trading_day, peak) values (${traderId}, ${day}::date, ${toStr(peak)}::numeric)
    on conflict (trader_id, trading_day) do update set
      peak = greatest(coalesce(trader_daily_pnl.peak, excluded.peak), excluded.peak), updated_at = now()`;
}

export type BreachStatus = "flattening" | "waiting" | "flat" | "stuck";

/** A limit crossed: whose, on which trading day, the limit and the P&L that crossed it. */
export interface Detection {
  scope: "trader" | "account";
  traderId: string | null;
  accountId: string;
  tradingDay: string;
  limit: Dec;
  pnl: Dec;
}

export interface BreachRow extends Detection {
  id: string;
  breachedAt: Date;
  flattenedAt: Date | null;
  status: BreachStatus;
  attempts: number;
  lastError: string | null;
}

function breachRow(r: Record<string, unknown>): BreachRow {
  return {
    id: String(r.id),
    scope: r.scope as BreachRow["scope"],
    traderId: (r.trader_id as string | null) ?? null,
    accountId: r.account_id as string,
    tradingDay: r.day as string,
    limit: dec(r.loss_limit as string),
    pnl: dec(r.pnl_at_breach as string),
    breachedAt: r.breached_at as Date,
    flattenedAt: (r.flattened_at as Date | null) ?? null,
    status: r.status as BreachStatus,
    attempts: r.attempts as number,
    lastError: (r.last_error as string | null) ?? null,
  };
}

const BREACH_COLUMNS =
  "id, scope, trader_id, account_id, to_char(trading_day, 'YYYY-MM-DD') as day, loss_limit, pnl_at_breach, breached_at, flattened_at, status, attempts, last_error";

/** Records a breach once per subject and trading day; a second detection returns the first row. */
export async function insertBreach(
  sql: Sql,
  b: Detection & { at: Date },
): Promise<{ row: BreachRow; existed: boolean }> {
  const inserted = await sql`
    insert into breaches (scope, trader_id, account_id, trading_day, loss_limit, pnl_at_breach, breached_at, status)
    values (${b.scope}, ${b.traderId}, ${b.accountId}, ${b.tradingDay}::date, ${toStr(b.limit)}::numeric,
            ${toStr(b.pnl)}::numeric, ${b.at}, 'flattening')
    on conflict do nothing
    returning ${sql.unsafe(BREACH_COLUMNS)}`;
  if (inserted[0]) return { row: breachRow(inserted[0] as Record<string, unknown>), existed: false };
  const subject = b.scope === "trader" ? b.traderId : b.accountId;
  const [existing] = await sql`
    select ${sql.unsafe(BREACH_COLUMNS)} from breaches
     where scope = ${b.scope} and coalesce(trader_id, account_id) = ${subject} and trading_day = ${b.tradingDay}::date`;
  if (!existing) throw new Error("breach neither inserted nor found");
  return { row: breachRow(existing as Record<string, unknown>), existed: true };
}

export async function updateBreach(
  sql: Sql,
  id: string,
  u: { status: BreachStatus; attempts: number; lastError?: string | null; flattenedAt?: Date | null },
): Promise<void> {
  await sql`
    update breaches set status = ${u.status}, attempts = ${u.attempts},
           last_error = coalesce(${u.lastError ?? null}, last_error),
           flattened_at = coalesce(${u.flattenedAt ?? null}, flattened_at), updated_at = now()
     where id = ${id}`;
}

export async function loadBreaches(sql: Sql, sinceDay: string): Promise<BreachRow[]> {
  const rows = await sql`
    select ${sql.unsafe(BREACH_COLUMNS)} from breaches where trading_day >= ${sinceDay}::date order by id`;
  return rows.map((r) => breachRow(r as Record<string, unknown>));
}
