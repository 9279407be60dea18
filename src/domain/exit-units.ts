/**
 * Exit distances in the units a trader sets them: take-profit targets in ticks, points, dollars per
 * contract or percent of the fill price, and the stop in ticks (`stopLossTicks`) or one of the others
 * (`stopLoss`). Settings become an exit spec here; the spec becomes whole ticks at exit time, once the
 * fill price is known, through the one converter the per-alert overrides use (`resolveExitTicks`).
 *
 * @example
 *   settingsTargets([{ dollars: 10, trimPercent: 100 }])
 *   // { targets: [], unitTargets: [{ distance: { amount: 10 }, trimPercent: 100 }] }
 *   // on MNQ (tick 0.25, $0.50 a tick) that is 20 ticks: 5 points from the fill
 */
import { dec } from "./decimal";
import type { ExitSpec } from "./planner";
import type { RecorderSettings, TakeProfitSetting } from "./settings";
import type { ExitOverride } from "./signal";

/** A take-profit target whose distance becomes ticks at exit time. */
export interface UnitTarget {
  distance: ExitOverride;
  trimPercent: number;
}

/** One distance setting in the per-alert override's shape (dollars are its `amount`). */
export function distanceOf(u: {
  ticks?: number;
  points?: number;
  dollars?: number;
  percent?: number;
}): ExitOverride {
  if (u.ticks !== undefined) return { ticks: u.ticks };
  if (u.points !== undefined) return { points: dec(String(u.points)) };
  if (u.dollars !== undefined) return { amount: dec(String(u.dollars)) };
  if (u.percent !== undefined) return { percent: dec(String(u.percent)) };
  return {};
}

/** Take-profit settings as an exit spec: whole ticks as they are, other units kept for the fill price. */
export function settingsTargets(
  list: readonly TakeProfitSetting[],
): Pick<ExitSpec, "targets" | "unitTargets"> {
  if (list.every((t) => t.ticks !== undefined))
    return { targets: list.map((t) => ({ ticks: t.ticks ?? 0, trimPercent: t.trimPercent })) };
  return {
    targets: [],
    unitTargets: list.map((t) => ({ distance: distanceOf(t), trimPercent: t.trimPercent })),
  };
}

/** The stop settings as an exit spec: `stopLoss` (points, dollars, percent) or `stopLossTicks`. */
export function settingsStop(
  s: Partial<Pick<RecorderSettings, "stopLossTicks" | "stopLoss">>,
): Pick<ExitSpec, "stopLossTicks" | "unitStop"> {
  if (s.stopLoss) return { stopLossTicks: 0, unitStop: distanceOf(s.stopLoss) };
  return { stopLossTicks: s.stopLossTicks ?? 0 };
}

/** The exits of a set of (effective) settings alone, with no alert: for reconciliation. */
export function settingsExitSpec(
  s: Pick<RecorderSettings, "takeProfit" | "stopLossTicks" | "stopLoss">,
): ExitSpec {
  return { ...settingsTargets(s.takeProfit), ...settingsStop(s) };
}
