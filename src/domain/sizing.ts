/**
 * Risk-based sizing: contracts = the risk budget / the stop's dollar risk per contract (stop ticks x tick
 * value), rounded down. The budget is dollars (`riskDollars`) or a percent of the broker's balance
 * (`riskPercent`), times the trader's multiplier. Precedence as for exits: trader > alert
 * (`risk_dollars`, `risk_percentage`) > recorder. Unset everywhere: fixed sizing (`quantity`).
 *
 * All in scaled integers: the contracts never risk more than the budget, to the cent and below.
 *
 * @example
 *   riskContracts({ dollars: dec(100) }, ONE, 20, dec("0.5"))  // 10 ($100 / (20 ticks x $0.50))
 */
import { type ContractSpec, tickValue } from "./contract";
import { type Dec, dec, mul, ONE, SCALE, times, toStr } from "./decimal";
import { resolveExitTicks } from "./exits";
import type { ExitSpec } from "./planner";
import type { RecorderSettings, TraderOverrides } from "./settings";
import type { Signal } from "./signal";
import type { Side } from "./venue/types";

export type RiskBudget = { dollars: Dec } | { percent: Dec };

/** The risk budget that applies to this signal on this trader, and who set it; undefined = fixed sizing. */
export function riskBudget(
  recorder: Pick<RecorderSettings, "riskDollars" | "riskPercent">,
  overrides: Pick<TraderOverrides, "riskDollars" | "riskPercent">,
  signal: Pick<Signal, "riskDollars" | "riskPercent">,
): { budget: RiskBudget; from: "trader" | "alert" | "recorder" } | undefined {
  const of = (d?: number | Dec, p?: number | Dec): RiskBudget | undefined =>
    d !== undefined
      ? { dollars: typeof d === "number" ? dec(String(d)) : d }
      : p !== undefined
        ? { percent: typeof p === "number" ? dec(String(p)) : p }
        : undefined;
  const trader = of(overrides.riskDollars, overrides.riskPercent);
  if (trader) return { budget: trader, from: "trader" };
  const alert = of(signal.riskDollars, signal.riskPercent);
  if (alert) return { budget: alert, from: "alert" };
  const rec = of(recorder.riskDollars, recorder.riskPercent);
  return rec ? { budget: rec, from: "recorder" } : undefined;
}

/** Whether sizing this signal needs the broker's balance (a percent budget applies). */
export function needsBalance(
  recorder: Pick<RecorderSettings, "riskDollars" | "riskPercent">,
  overrides: Pick<TraderOverrides, "riskDollars" | "riskPercent">,
  signal: Pick<Signal, "riskDollars" | "riskPercent">,
): boolean {
  const b = riskBudget(recorder, overrides, signal);
  return b !== undefined && "percent" in b.budget;
}

/** The budget in dollars (before the multiplier), for messages. */
export function budgetDollars(budget: RiskBudget, balance: Dec | undefined): Dec | undefined {
  if ("dollars" in budget) return budget.dollars;
  return balance === undefined ? undefined : (((balance * budget.percent) / (100n * SCALE)) as Dec);
}

/**
 * Contracts whose stop risk fits the budget, rounded down: floor(budget x multiplier / (ticks x tick
 * value)). `balance` is needed for a percent budget; a missing or non-positive balance sizes 0.
 */
export function riskContracts(
  budget: RiskBudget,
  multiplier: Dec,
  stopTicks: number,
  tickValue: Dec,
  balance?: Dec,
): number {
  if (stopTicks <= 0 || tickValue <= 0n) return 0;
  const perContract: bigint = times(tickValue, stopTicks);
  // Every number is scaled by SCALE: dollars x multiplier / perContract carries one SCALE too many,
  // a percent of the balance two and a hundred.
  let q: bigint;
  if ("dollars" in budget) q = (budget.dollars * multiplier) / (perContract * SCALE);
  else {
    if (balance === undefined || balance <= 0n) return 0;
    q = (balance * budget.percent * multiplier) / (100n * perContract * SCALE * SCALE);
  }
  return q > 0n ? Number(q > 1_000_000_000n ? 1_000_000_000n : q) : 0;
}

/** "risk $100 (1% of $10000)" for reasons. */
export function describeBudget(budget: RiskBudget, multiplier: Dec, balance?: Dec): string {
  const dollars = budgetDollars(budget, balance);
  const scaled = dollars === undefined ? undefined : mul(dollars, multiplier);
  const amount = scaled === undefined ? "?" : `$${toStr(scaled)}`;
  const times = multiplier === SCALE ? "" : ` x${toStr(multiplier)}`;
  if ("dollars" in budget) return `risk ${amount}${times ? ` ($${toStr(budget.dollars)}${times})` : ""}`;
  return `risk ${amount} (${toStr(budget.percent)}% of the balance $${balance === undefined ? "?" : toStr(balance)}${times})`;
}

export type RiskSizing =
  | { qty: number; note: string }
  | { refused: "skipped_risk_sizing" | "ignored_zero_size"; reason: string };

export interface RiskSizingInput {
  recorder: Pick<RecorderSettings, "riskDollars" | "riskPercent">;
  overrides: Pick<TraderOverrides, "riskDollars" | "riskPercent">;
  signal: Signal;
  multiplier: Dec;
  /** The exits this signal gets (after precedence): the stop measures the risk. */
  exits: ExitSpec;
  side: Side;
  contract?: Pick<ContractSpec, "tickSize" | "valuePerPoint">;
  balance?: Dec;
  /** Where a stop in percent of price, or at an alert's price, is measured from before the fill. */
  referencePrice?: Dec;
  maxOrderContracts?: number;
}

/**
 * Contracts for an entry under risk sizing, or undefined when sizing is fixed. The stop's ticks come from
 * the same converter the exits use, measured from the alert's price (the fill is not known yet), so a
 * stop in ticks, points or dollars risks exactly what was sized, and one in percent or at a price risks
 * what it would at the alert's price.
 */
export function riskQuantity(i: RiskSizingInput): RiskSizing | undefined {
  const r = riskBudget(i.recorder, i.overrides, i.signal);
  if (!r) return undefined;
  const refuse = (reason: string): RiskSizing => ({
    refused: "skipped_risk_sizing",
    reason: `risk sizing: ${reason}`,
  });
  if (!i.contract) return refuse("the contract's tick value is not known");
  const stop = i.exits.unitStop ?? i.exits.alertStop;
  const needsPrice = stop?.percent !== undefined || stop?.price !== undefined;
  const reference = i.referencePrice ?? (needsPrice ? undefined : ONE);
  if (!reference) return refuse("the stop is measured from the price and the alert has no price");
  const tv = tickValue(i.contract);
  const { stopLossTicks } = resolveExitTicks(i.exits, i.side, reference, i.contract.tickSize, tv);
  if (stopLossTicks <= 0) return refuse("this signal has no stop to measure the risk by");
  if ("percent" in r.budget && i.balance === undefined)
    return refuse("the broker reported no balance for this account");
  const text = describeBudget(r.budget, i.multiplier, i.balance);
  const per = `$${toStr(times(tv, stopLossTicks))} a contract (${stopLossTicks} ticks x $${toStr(tv)})`;
  let qty = riskContracts(r.budget, i.multiplier, stopLossTicks, tv, i.balance);
  if (qty <= 0)
    return { refused: "ignored_zero_size", reason: `${text} is less than one contract's stop risk, ${per}` };
  let capped = "";
  if (i.maxOrderContracts !== undefined && qty > i.maxOrderContracts) {
    capped = `, capped from ${qty} by MAX_ORDER_CONTRACTS ${i.maxOrderContracts}`;
    qty = i.maxOrderContracts;
  }
  return { qty, note: `${text} / ${per}${capped}` };
}
