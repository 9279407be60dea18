/**
 * The daily summary: at each trading-day roll, every trader on an account with that roll and the realized
 * P&L booked from its own fills during the day that ended (from `trader_daily_pnl`, so a restart during
 * the day loses nothing).
 */
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import { toStr } from "../domain/decimal";
import type { DayRule } from "../domain/trading-day";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import type { TradingDays } from "./days";
import { loadTraderDays } from "./repo";

export async function emitDailySummary(
  d: { sql: Sql; bus: EventBus; directory: Directory; log: Logger; days: TradingDays; now: () => Date },
  rule: DayRule,
  endedDay: string,
): Promise<void> {
  const accounts = new Set(
    d.directory
      .allAccounts()
      .filter((a) => d.days.sameRule(d.days.ruleOf(a.id), rule))
      .map((a) => a.id as string),
  );
  const traders = d.directory.allTraders().filter((t) => accounts.has(t.accountId));
  d.log.info(
    { event: "TradingDayRolled", endedDay, roll: rule.roll, timeZone: rule.timeZone },
    "new trading day",
  );
  if (traders.length === 0) return;
  const rows = new Map(
    (await loadTraderDays(d.sql, endedDay))
      .filter((r) => r.tradingDay === endedDay)
      .map((r) => [r.traderId, r]),
  );
  d.bus.emit({
    type: "DailySummary",
    at: d.now(),
    tradingDay: endedDay,
    traders: traders.map((t) => {
      const row = rows.get(t.id);
      return {
        traderId: t.id,
        recorderId: t.recorderId,
        recorderName: d.directory.recorder(t.recorderId)?.name ?? t.recorderId,
        accountName: d.directory.account(t.accountId)?.name ?? t.accountId,
        realizedPnl: row ? toStr(row.realized) : "0",
        trades: row?.trades ?? 0,
      };
    }),
  });
}
