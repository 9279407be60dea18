/**
 * Realized P&L of the trading day per account, from half-turn trades: the sum of `profitAndLoss` (gross,
 * null on opening fills) minus fees and commissions, voided trades left out, each trade counted once
 * whether it came from the hub or from a REST reconciliation. The day starts at 17:00 America/Chicago.
 */
import { add, type Dec, dec, sub, ZERO } from "../../domain/decimal";
import type { TradeWire } from "./wire";

/** Offset of a time zone from UTC at a moment, in ms (local = utc + offset). */
function zoneOffset(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? "0");
  const local = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return local - Math.floor(at / 1000) * 1000;
}

/** Start of the trading day containing `now`: the latest `startHour`:00 local time at or before it. */
export function tradingDayStart(now: number, timeZone = "America/Chicago", startHour = 17): number {
  const offset = zoneOffset(now, timeZone);
  const local = new Date(now + offset);
  let start = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), startHour);
  if (start > now + offset) start -= 86_400_000;
  // Convert local wall time back to UTC with the offset in force at that moment (DST-safe).
  const guess = start - offset;
  return start - zoneOffset(guess, timeZone);
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
