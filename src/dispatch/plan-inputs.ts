/**
 * What the copy planner needs beyond the trader's position, for the entry filters and risk sizing
 * (issue 14): the trader's entry history from its executions, and the broker's balance. Each is read only
 * when a setting needs it and only for a signal that may enter, so other signals cost nothing more.
 */
import type { BrokerSession } from "../brokers/port";
import type { Sql } from "../db/client";
import { entryCounts, signalsSinceOpening } from "../db/entry-history";
import type { ContractSpec } from "../domain/contract";
import { countSameDirection, needsHistory } from "../domain/filters";
import type { PlanContext } from "../domain/planner";
import { effectiveSettings, type RecorderSettings, type TraderOverrides } from "../domain/settings";
import { runsWhateverItsAge, type Signal, signalFromJson } from "../domain/signal";
import { needsBalance } from "../domain/sizing";
import { type DayRule, dayStart, tradingDay } from "../domain/trading-day";
import { BrokerUnreachable, why } from "../orders/unreachable";
import type { Balances } from "../sessions/balances";
import type { ExecutionJob } from "./executor";

/** TRADING_DAY_ROLL / TRADING_DAY_TIME_ZONE's defaults, for an executor built without the loss monitor. */
const RELAY_DAY: DayRule = { roll: "17:00", timeZone: "America/Chicago" };

export interface PlanInputDeps {
  sql: Sql;
  dayRule?: (accountId: string) => DayRule;
  balances?: Balances;
}

export async function readPlanInputs(
  d: PlanInputDeps,
  i: {
    job: ExecutionJob;
    trader: { id: string; brokerAccountId: string; overrides: TraderOverrides };
    recorder: RecorderSettings;
    session: BrokerSession;
    contract: ContractSpec;
    netQty: number;
  },
): Promise<Pick<PlanContext, "history" | "balance">> {
  const { job, trader } = i;
  if (runsWhateverItsAge(job.signal)) return {}; // exits, closes and cancels are never filtered or sized
  const out: Pick<PlanContext, "history" | "balance"> = {};
  const settings = effectiveSettings(i.recorder, trader.overrides);
  if (needsHistory(settings)) {
    const rule = d.dayRule?.(job.accountId) ?? RELAY_DAY;
    const startOfDay = dayStart(tradingDay(job.receivedAt, rule), rule);
    const since = new Date(job.receivedAt.getTime() - settings.cooldownSeconds * 1000);
    const counts = await entryCounts(d.sql, trader.id, startOfDay, since);
    let same = 0;
    if (settings.addEvery > 1 && i.netQty !== 0) {
      const stored = await signalsSinceOpening(d.sql, trader.id, i.contract.name, job.executionId);
      const signals = stored.flatMap((j): Signal[] => {
        try {
          return [signalFromJson(j)];
        } catch {
          return []; // a signal stored under older rules that no longer parses is not counted
        }
      });
      same = countSameDirection(signals, i.netQty > 0 ? "buy" : "sell", settings.inverse);
    }
    out.history = { ...counts, sameDirectionSignals: same };
  }
  if (d.balances && needsBalance(i.recorder, trader.overrides, job.signal)) {
    // A balance the broker cannot give now is waited for like any broker call an entry needs.
    const balance = await d.balances.of(i.session, trader.brokerAccountId).catch((error: unknown) => {
      throw new BrokerUnreachable(`could not read the account balance at the broker (${why(error)})`);
    });
    if (balance !== undefined) out.balance = balance;
  }
  return out;
}
