/**
 * Exit orders for a position, computed from the broker's real fill price.
 *
 * Take-profit targets split the position by their cumulative trim percent, so quantities never exceed the
 * position and a final cumulative 100% covers it exactly. Each take-profit leg is paired (OCO) with a stop
 * for the same quantity; contracts no target covers get one stand-alone stop. A stop is never placed at a
 * price <= 0, on the wrong side of the fill, or from a missing fill price.
 *
 * @example
 *   exitOrders({ side: "buy", qty: 3, fillPrice: dec("21000"), tickSize: dec("0.25"),
 *                targets: [{ ticks: 8, trimPercent: 50 }, { ticks: 16, trimPercent: 100 }], stopLossTicks: 12 })
 *   // tp1 2 @ 21002, tp2 1 @ 21004, sl1 2 @ 20997 (OCO tp1), sl2 1 @ 20997 (OCO tp2)
 */
import { add, type Dec, isPositive, roundToStep, SCALE, stepsIn, sub, times } from "./decimal";
import type { ExitSpec } from "./planner";
import type { TakeProfitTarget } from "./settings";
import type { ExitOverride } from "./signal";
import type { Side } from "./venue/types";

export interface ExitLeg {
  leg: string;
  side: Side;
  qty: number;
  type: "limit" | "stop";
  price: Dec;
  /** Leg this order is OCO-linked with at the broker. */
  ocoWith?: string;
}

export interface ExitInput {
  /** Side of the position's entry: "buy" = long. */
  side: Side;
  qty: number;
  fillPrice: Dec | undefined;
  tickSize: Dec;
  targets: TakeProfitTarget[];
  stopLossTicks: number;
}

export interface ExitPlan {
  legs: ExitLeg[];
  /** Set when a protective order we wanted could not be computed: the position is unprotected. */
  problem?: string;
}

/** Quantity per target by cumulative trim percent (rounded half up); targets left with 0 are dropped. */
export function allocateTargets(
  qty: number,
  targets: TakeProfitTarget[],
): { target: TakeProfitTarget; qty: number }[] {
  const out: { target: TakeProfitTarget; qty: number }[] = [];
  let cumulativePercent = 0;
  let allocated = 0;
  for (const target of targets) {
    if (allocated >= qty) break;
    cumulativePercent = Math.min(100, cumulativePercent + target.trimPercent);
    // Integer math in hundredths of a percent avoids float rounding at the boundaries.
    const hundredths = Math.round(cumulativePercent * 100);
    const upTo = hundredths >= 10_000 ? qty : Math.min(qty, Math.floor((qty * hundredths + 5_000) / 10_000));
    const legQty = upTo - allocated;
    if (legQty > 0) {
      out.push({ target, qty: legQty });
      allocated = upTo;
    }
  }
  return out;
}

export function exitOrders(input: ExitInput): ExitPlan {
  const { side, qty, fillPrice, tickSize, stopLossTicks } = input;
  const targets = input.targets.filter((t) => t.ticks > 0);
  if (qty <= 0 || (targets.length === 0 && stopLossTicks <= 0)) return { legs: [] };
  if (fillPrice === undefined || !isPositive(fillPrice)) {
    return { legs: [], problem: "no fill price from the broker, so no exit price could be computed" };
  }
  const exitSide: Side = side === "buy" ? "sell" : "buy";
  const long = side === "buy";
  const legs: ExitLeg[] = [];
  let problem: string | undefined;

  let stopPrice: Dec | undefined;
  if (stopLossTicks > 0) {
    const raw = long
      ? sub(fillPrice, times(tickSize, stopLossTicks))
      : add(fillPrice, times(tickSize, stopLossTicks));
    // Round toward the fill so the risk never exceeds the configured distance.
    stopPrice = roundToStep(raw, tickSize, long ? "up" : "down");
    const wrongSide = long ? stopPrice >= fillPrice : stopPrice <= fillPrice;
    if (!isPositive(stopPrice) || wrongSide) {
      problem = `stop ${stopLossTicks} ticks from ${fillPrice} would be at an impossible price`;
      stopPrice = undefined;
    }
  }

  const allocation = allocateTargets(qty, targets);
  let covered = 0;
  allocation.forEach(({ target, qty: legQty }, i) => {
    const raw = long
      ? add(fillPrice, times(tickSize, target.ticks))
      : sub(fillPrice, times(tickSize, target.ticks));
    const price = roundToStep(raw, tickSize, long ? "up" : "down");
    const n = i + 1;
    if (!isPositive(price)) {
      problem ??= `take-profit ${target.ticks} ticks from ${fillPrice} would be at an impossible price`;
      return;
    }
    legs.push({
      leg: `tp${n}`,
      side: exitSide,
      qty: legQty,
      type: "limit",
      price,
      ...(stopPrice ? { ocoWith: `sl${n}` } : {}),
    });
    if (stopPrice)
      legs.push({
        leg: `sl${n}`,
        side: exitSide,
        qty: legQty,
        type: "stop",
        price: stopPrice,
        ocoWith: `tp${n}`,
      });
    covered += legQty;
  });
  if (stopPrice && covered < qty) {
    legs.push({ leg: "sl0", side: exitSide, qty: qty - covered, type: "stop", price: stopPrice });
  }
  return problem ? { legs, problem } : { legs };
}

/**
 * Turns an exit spec into whole ticks once the fill price is known: targets and stops set in points,
 * dollars per contract or percent of price (settings or the alert), and alert exits at an absolute price,
 * become tick distances. An override that lands on the wrong side of the fill is dropped and reported,
 * never flipped.
 *
 * Rounding, exact in integers (no float on the way): a take-profit goes to the nearest tick (half away
 * from the fill); a stop rounds toward the fill, so it never risks more than asked; a distance above 0
 * but under one tick is one tick, the nearest an order can be.
 */
export function resolveExitTicks(
  spec: ExitSpec,
  side: Side,
  fillPrice: Dec,
  tickSize: Dec,
  tickValue: Dec,
): { targets: TakeProfitTarget[]; stopLossTicks: number; problem?: string } {
  let problem: string | undefined;
  let targets = [...spec.targets];
  let stopLossTicks = spec.stopLossTicks;
  const up: 1 | -1 = side === "buy" ? 1 : -1;
  const down: 1 | -1 = side === "buy" ? -1 : 1;
  if (spec.unitTargets?.length) {
    targets = spec.unitTargets.map((t) => ({
      ticks: distanceTicks(t.distance, up, fillPrice, tickSize, tickValue, "target"),
      trimPercent: t.trimPercent,
    }));
  }
  if (spec.unitStop)
    stopLossTicks = distanceTicks(spec.unitStop, down, fillPrice, tickSize, tickValue, "stop");
  if (spec.alertTarget) {
    const ticks = distanceTicks(spec.alertTarget, up, fillPrice, tickSize, tickValue, "target");
    if (ticks > 0) targets.splice(0, targets.length, { ticks, trimPercent: 100 });
    else problem = "the alert's take-profit is on the wrong side of the fill; no take-profit placed";
  }
  if (spec.alertStop) {
    const ticks = distanceTicks(spec.alertStop, down, fillPrice, tickSize, tickValue, "stop");
    if (ticks > 0) stopLossTicks = ticks;
    else problem = "the alert's stop-loss is on the wrong side of the fill; no stop placed";
  }
  return problem ? { targets, stopLossTicks, problem } : { targets, stopLossTicks };
}

/**
 * A distance in whole ticks; `direction` is +1 when the exit lies above the fill and -1 when below. The
 * quotients are taken on the scaled integers themselves, so the result is exact before it is rounded.
 */
export function distanceTicks(
  o: ExitOverride,
  direction: 1 | -1,
  fill: Dec,
  tick: Dec,
  tickValue: Dec,
  role: "target" | "stop",
): number {
  const rounding = role === "stop" ? "down" : "nearest";
  if (o.ticks !== undefined) return o.ticks;
  if (o.price !== undefined)
    return stepsIn(direction === 1 ? sub(o.price, fill) : sub(fill, o.price), tick, rounding);
  let raw: { value: bigint; per: bigint } | undefined;
  if (o.points !== undefined) raw = { value: o.points, per: tick };
  // fill x percent / 100, in ticks: (F x P) / (T x 100 x SCALE) with every number scaled by SCALE.
  else if (o.percent !== undefined) raw = { value: fill * o.percent, per: tick * 100n * SCALE };
  else if (o.amount !== undefined) raw = { value: o.amount, per: tickValue };
  if (!raw || raw.value <= 0n) return 0;
  return Math.max(1, stepsIn(raw.value as Dec, raw.per as Dec, rounding));
}
