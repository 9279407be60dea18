/**
 * Prop-firm risk rules of one broker sub-account, as pure functions over exact decimals: the trailing
 * drawdown floor (end-of-day or intraday, with its lock), its breach, the daily profit target, a daily
 * loss limit, and the max-contracts check counted with working orders. The loss monitor feeds them the
 * broker's balance and its own marks; nothing here does I/O.
 *
 * Equity = the broker's cash balance + the open P&L of the sub-account's positions at the last quote.
 *
 * The floor: high-water balance minus the drawdown amount, never above the lock level
 * (starting balance + lock) and never lower than it was. So once the floor reaches the lock level it
 * stays there for good (Topstep: lock 0, the floor stops at the starting balance; Apex: lock 100).
 *
 * @example
 *   const t = { mode: "intraday", amount: dec(2500), lock: dec(100), action: "fail" } as const;
 *   let s = initialTrail(dec(50000), t);          // high 50000, floor 47500
 *   s = raiseHigh(s, dec(51000), dec(50000), t);  // high 51000, floor 48500
 *   drawdownBreached(dec(48500), s.floor)         // true: equity reached the floor
 */
import { add, type Dec, max, min, neg, sub, ZERO } from "./decimal";

export type TrailMode = "eod" | "intraday";

/**
 * What a breach does. pause: entries refused for the rest of the trading day, positions kept.
 * flatten: flattened, entries refused for the rest of the trading day. fail: flattened and the
 * sub-account's traders disabled until someone re-enables them by hand.
 */
export type RuleAction = "pause" | "flatten" | "fail";

export interface TrailingDrawdown {
  mode: TrailMode;
  /** Dollars between the high-water balance and the floor. */
  amount: Dec;
  /** The floor never rises above starting balance + lock; null: it trails without end. */
  lock: Dec | null;
  action: RuleAction;
}

export interface DailyRule {
  amount: Dec;
  action: RuleAction;
}

export interface PropRules {
  /** The preset the rules came from, if any (explicit fields override it). */
  preset: string | null;
  /** The plan's starting balance: the high-water mark and the floor start from it. */
  startingBalance: Dec | null;
  /** Seeds the high-water mark for an account already part-way through its plan (else the start). */
  highWaterBalance: Dec | null;
  trailingDrawdown: TrailingDrawdown | null;
  /** When the day's P&L (realized + open) reaches it. Default action pause. */
  dailyProfitTarget: DailyRule | null;
  /** When the day's P&L reaches -amount. Default action flatten. */
  dailyLossLimit: DailyRule | null;
  /** Open contracts plus contracts in working entry orders, all contracts of the sub-account together. */
  maxContracts: number | null;
}

export interface TrailState {
  /** Highest balance the floor has trailed (end-of-day balances, or equity on every quote intraday). */
  highWater: Dec;
  floor: Dec;
}

/** Starting balance + lock: the floor's ceiling (undefined: no lock). */
export function lockLevel(startingBalance: Dec, t: TrailingDrawdown): Dec | undefined {
  return t.lock === null ? undefined : add(startingBalance, t.lock);
}

/** The floor a high-water mark implies, capped at the lock level. */
export function floorFor(highWater: Dec, startingBalance: Dec, t: TrailingDrawdown): Dec {
  const trailed = sub(highWater, t.amount);
  const cap = lockLevel(startingBalance, t);
  return cap === undefined ? trailed : min(trailed, cap);
}

/** The state at the plan's start (or from a seeded high-water mark). */
export function initialTrail(startingBalance: Dec, t: TrailingDrawdown, highWater?: Dec): TrailState {
  const high = highWater === undefined ? startingBalance : max(highWater, startingBalance);
  return { highWater: high, floor: floorFor(high, startingBalance, t) };
}

/**
 * A balance the floor may trail: intraday on every marked equity, end-of-day with the balance at the roll.
 * The high-water mark only rises; the floor only rises and never passes the lock level.
 */
export function raiseHigh(
  s: TrailState,
  balance: Dec,
  startingBalance: Dec,
  t: TrailingDrawdown,
): TrailState {
  const highWater = max(s.highWater, balance);
  const floor = max(s.floor, floorFor(highWater, startingBalance, t));
  return highWater === s.highWater && floor === s.floor ? s : { highWater, floor };
}

/** True once the floor has reached the lock level: it will not move again. */
export function floorLocked(s: TrailState, startingBalance: Dec, t: TrailingDrawdown): boolean {
  const cap = lockLevel(startingBalance, t);
  return cap !== undefined && s.floor >= cap;
}

/** The trailing drawdown is breached when equity reaches the floor (touching it is a breach). */
export function drawdownBreached(equity: Dec, floor: Dec): boolean {
  return equity <= floor;
}

/** Dollars left before the floor (negative past it). */
export function drawdownLeft(equity: Dec, floor: Dec): Dec {
  return sub(equity, floor);
}

/** The day's profit target is reached when the day's P&L is at or above it. */
export function profitTargetHit(dayPnl: Dec, target: Dec): boolean {
  return dayPnl >= target;
}

/** Dollars of the day's profit target still to make (0 once reached). */
export function profitTargetLeft(dayPnl: Dec, target: Dec): Dec {
  return max(ZERO, sub(target, dayPnl));
}

/** The daily loss limit is breached when the day's P&L is at or below -limit. */
export function dailyLossBreached(dayPnl: Dec, limit: Dec): boolean {
  return dayPnl <= neg(limit);
}

/** Dollars of the daily loss limit left (negative past it). */
export function lossLeft(dayPnl: Dec, limit: Dec): Dec {
  return add(limit, dayPnl);
}

/** One contract's position and its working orders, by side. */
export interface ContractExposure {
  contract: string;
  /** Signed: positive long. */
  netQty: number;
  /** Unfilled contracts of working buy orders. */
  workingBuy: number;
  workingSell: number;
}

/**
 * The most contracts the position can come to if every working order on one side fills: a long's
 * take-profit and stop (sells) never count as more exposure, a working buy limit does.
 */
export function worstCase(e: ContractExposure): number {
  return Math.max(Math.abs(e.netQty + e.workingBuy), Math.abs(e.netQty - e.workingSell));
}

/** An entry about to be sent: the contracts it closes first (a reversal) and the ones it opens. */
export interface EntryRequest {
  contract: string;
  side: "buy" | "sell";
  qty: number;
  /** Contracts the same plan closes before the entry (0 when it only opens or adds). */
  closeQty: number;
}

/** The sub-account's contracts counted the way max contracts counts them, with or without an entry. */
export function contractsInUse(exposures: ContractExposure[], entry?: EntryRequest): number {
  const list =
    entry && !exposures.some((e) => e.contract === entry.contract)
      ? [...exposures, { contract: entry.contract, netQty: 0, workingBuy: 0, workingSell: 0 }]
      : exposures;
  let total = 0;
  for (const e of list) {
    if (!entry || e.contract !== entry.contract) {
      total += worstCase(e);
      continue;
    }
    // The close moves the position toward zero first; the entry then works on its side.
    const closing = Math.min(entry.closeQty, Math.abs(e.netQty));
    const netQty = e.netQty > 0 ? e.netQty - closing : e.netQty + closing;
    const workingBuy = e.workingBuy + (entry.side === "buy" ? entry.qty : 0);
    const workingSell = e.workingSell + (entry.side === "sell" ? entry.qty : 0);
    total += worstCase({ contract: e.contract, netQty, workingBuy, workingSell });
  }
  return total;
}

/** Why the entry is refused, or undefined when it fits under max contracts. */
export function maxContractsRefusal(
  maxContracts: number,
  exposures: ContractExposure[],
  entry: EntryRequest,
): string | undefined {
  const now = contractsInUse(exposures);
  const after = contractsInUse(exposures, entry);
  if (after <= maxContracts || after <= now) return undefined;
  return `max contracts ${maxContracts}: ${now} open or working, this ${entry.side} of ${entry.qty} ${entry.contract} would make ${after}`;
}
