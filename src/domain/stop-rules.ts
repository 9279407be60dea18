/**
 * Break-even and trailing stop: where a position's stop belongs after a new quote. Pure; the stop manager
 * (src/orders/stop-manager.ts) feeds it quotes and moves the broker's stop with a modify.
 *
 * | rule | when | new stop (long; a short mirrors it) |
 * |---|---|---|
 * | break-even | the best price since the position opened is `breakEvenTicks` above the entry, once | entry + `breakEvenOffsetTicks` ticks, rounded up to the tick |
 * | trailing | the best price is `trailTriggerTicks` above the entry (0 = at once) | best - the stop-loss distance, in whole steps of `trailStepTicks` counted from the first stop |
 *
 * Whatever the rules say, a stop never moves backwards (looser), always sits on the tick grid, and stays
 * at least one tick behind the last price, so moving it never closes the position by itself.
 *
 * @example
 *   // long 1 @ 21000, tick 0.25, stop 8 ticks (20998), break-even after 8 ticks with 1 tick offset
 *   advance(m, { best: dec("21000"), stop: dec("20998"), breakEvenDone: false }, dec("21002"))
 *   // move { stop: 21000.25, kind: "break_even" }, state.breakEvenDone = true
 */
import { add, type Dec, max, min, roundToStep, stepsIn, sub, times } from "./decimal";
import type { Side } from "./venue/types";

/** Stop management settings after precedence (trader > alert > recorder). */
export interface StopRules {
  /** Trail the stop behind the best price at the stop-loss distance. */
  trailingStop: boolean;
  /** Profit, in ticks from the entry, before trailing starts; 0 = from the start. */
  trailTriggerTicks: number;
  /** The stop moves only in whole steps of this many ticks (at least 1). */
  trailStepTicks: number;
  /** Profit in ticks that moves the stop to break-even; 0 = off. */
  breakEvenTicks: number;
  /** Ticks beyond the entry, on the profit side, where the break-even stop goes. */
  breakEvenOffsetTicks: number;
}

/** One managed position: what does not change with quotes. */
export interface ManagedPosition {
  /** Side of the position's entry: "buy" = long. */
  side: Side;
  /** Average entry price; an add that changes it re-arms break-even from the new average. */
  entry: Dec;
  tickSize: Dec;
  /** The stop-loss distance the trail keeps behind the best price. */
  stopLossTicks: number;
  rules: StopRules;
}

/** What changes with quotes; stored per position so a restart resumes where it was. */
export interface StopState {
  /** Best price since the position opened (highest for a long, lowest for a short). */
  best: Dec;
  /** The stop price working at the broker. */
  stop: Dec;
  breakEvenDone: boolean;
}

export interface StopMove {
  stop: Dec;
  /** What set the new level: break-even when its level is the tighter one. */
  kind: "break_even" | "trail";
}

/** Whether the broker's own trailing order does the whole job: trigger 0, step 1 tick, no break-even. */
export function nativeTrailFits(rules: StopRules): boolean {
  return (
    rules.trailingStop &&
    rules.trailTriggerTicks === 0 &&
    rules.trailStepTicks === 1 &&
    rules.breakEvenTicks === 0
  );
}

/** Whether any rule moves the stop at all. */
export const managesStop = (rules: StopRules): boolean => rules.trailingStop || rules.breakEvenTicks > 0;

/** The first stop, as src/domain/exits.ts places it: the distance from the entry, rounded toward it. */
export function firstStop(m: ManagedPosition): Dec {
  const long = m.side === "buy";
  const raw = long
    ? sub(m.entry, times(m.tickSize, m.stopLossTicks))
    : add(m.entry, times(m.tickSize, m.stopLossTicks));
  return roundToStep(raw, m.tickSize, long ? "up" : "down");
}

/** `a` is a tighter stop than `b` for this side (closer to the market on the profit side). */
const tighter = (long: boolean, a: Dec, b: Dec) => (long ? a > b : a < b);

/**
 * Takes one quote: the best price moves on, and the stop moves when a rule says so.
 * `state.stop` is never loosened; the result's state is the one to store.
 */
export function advance(
  m: ManagedPosition,
  state: StopState,
  last: Dec,
): { state: StopState; move?: StopMove } {
  const long = m.side === "buy";
  const tick = m.tickSize;
  const best = long ? max(state.best, last) : min(state.best, last);
  const profitTicks = stepsIn(long ? sub(best, m.entry) : sub(m.entry, best), tick, "down");
  // The tightest place a stop may go: one tick behind the last price.
  const limit = long ? sub(last, tick) : add(last, tick);
  const within = (level: Dec) => (long ? level <= limit : level >= limit);

  let breakEvenDone = state.breakEvenDone;
  let breakEven: Dec | undefined;
  const { rules } = m;
  if (rules.breakEvenTicks > 0 && !breakEvenDone && profitTicks >= rules.breakEvenTicks) {
    const raw = long
      ? add(m.entry, times(tick, rules.breakEvenOffsetTicks))
      : sub(m.entry, times(tick, rules.breakEvenOffsetTicks));
    // Rounded to the profit side: a break-even stop never locks in a loss.
    const level = roundToStep(raw, tick, long ? "up" : "down");
    // A level the market is already at waits for a better quote instead of closing the position.
    if (within(level)) {
      breakEvenDone = true;
      breakEven = level;
    }
  }

  let trail: Dec | undefined;
  const step = rules.trailStepTicks;
  if (rules.trailingStop && step >= 1 && m.stopLossTicks > 0 && profitTicks >= rules.trailTriggerTicks) {
    const anchor = firstStop(m);
    const wanted = long ? sub(best, times(tick, m.stopLossTicks)) : add(best, times(tick, m.stopLossTicks));
    const capped = long ? min(wanted, limit) : max(wanted, limit);
    const steps = Math.floor(stepsIn(long ? sub(capped, anchor) : sub(anchor, capped), tick, "down") / step);
    if (steps > 0)
      trail = long ? add(anchor, times(tick, steps * step)) : sub(anchor, times(tick, steps * step));
  }

  const next: StopState = { best, stop: state.stop, breakEvenDone };
  let move: StopMove | undefined;
  if (breakEven !== undefined && tighter(long, breakEven, state.stop))
    move = { stop: breakEven, kind: "break_even" };
  if (trail !== undefined && tighter(long, trail, move?.stop ?? state.stop))
    move = { stop: trail, kind: "trail" };
  if (move) next.stop = move.stop;
  return move ? { state: next, move } : { state: next };
}

const RULE_KEYS = [
  "trailingStop",
  "trailTriggerTicks",
  "trailStepTicks",
  "breakEvenTicks",
  "breakEvenOffsetTicks",
] as const;

/** Precedence, field by field: the trader's override, else the alert's, else the recorder's setting. */
export function resolveStopRules(
  recorder: StopRules,
  alert: Partial<StopRules> | undefined,
  trader: Partial<StopRules>,
): StopRules {
  const out = {} as Record<(typeof RULE_KEYS)[number], number | boolean>;
  for (const k of RULE_KEYS) out[k] = trader[k] ?? alert?.[k] ?? recorder[k];
  return out as unknown as StopRules;
}
