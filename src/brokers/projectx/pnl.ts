/**
 * Realized P&L of the trading day per account, from half-turn trades: the sum of `profitAndLoss` (gross,
 * null on opening fills) minus fees and commissions, voided trades left out, each trade counted once
 * whether it came from the hub or from a REST reconciliation. The day is the relay's trading day
 * (TRADING_DAY_ROLL in TRADING_DAY_TIME_ZONE, 17:00 America/Chicago by default).
 */
import { add, type Dec, dec, sub, ZERO } from "../../domain/decimal";
import { type DayRule, dayStart, tradingDay } from "../../domain/trading-day";
import type { TradeWire } from "./wire";

/** Start of the trading day containing `now` (ms), by the relay's trading-day rule. */
export function tradingDayStart(now: number, rule: DayRule): number {
  return dayStart(tradingDay(new Date(now), rule), rule).getTime();
}

interface AccountDay {
  dayStart: number;
  gross: Dec;
  costs: Dec;
  seen: Set<number>;
}

export class DailyPnl {
  private readonly accounts = new Map<number, AccountDay>();

  constructor(private readonly dayStart: (now: number) => number) {}

  /** Adds a trade once; returns true when it was new and counted for today. */
  add(trade: TradeWire, now: number): boolean {
    const day = this.day(trade.accountId, now);
    if (day.seen.has(trade.id)) return false;
    day.seen.add(trade.id);
    const at = trade.creationTimestamp ? Date.parse(trade.creationTimestamp) : now;
    if (trade.voided || (Number.isFinite(at) && at < day.dayStart)) return false;
    if (trade.profitAndLoss !== null && trade.profitAndLoss !== undefined)
      day.gross = add(day.gross, dec(trade.profitAndLoss));
    day.costs = add(add(day.costs, dec(trade.fees ?? 0)), dec(trade.commissions ?? 0));
    return true;
  }

  /** Net realized P&L of today (gross minus fees and commissions). */
  realized(accountId: number, now: number): Dec {
    const day = this.day(accountId, now);
    return sub(day.gross, day.costs);
  }

  private day(accountId: number, now: number): AccountDay {
    const start = this.dayStart(now);
    let day = this.accounts.get(accountId);
    if (!day || day.dayStart !== start) {
      day = { dayStart: start, gross: ZERO, costs: ZERO, seen: new Set() };
      this.accounts.set(accountId, day);
    }
    return day;
  }
}
