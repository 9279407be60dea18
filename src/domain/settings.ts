/**
 * Recorder settings and trader overrides: one zod schema each, one spelling per setting, unknown keys
 * refused. Defaults live here and nowhere else, and 0 always means what the setting says it means
 * (stopLossTicks 0 = no stop, a take-profit of 0 ticks = no take-profit), never "use a default".
 */
import { z } from "zod";
import { type Dec, dec } from "./decimal";

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
export const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

/** A distance or budget written plainly (no exponent, at most 9 decimal places), above 0 and up to `max`. */
function distanceSchema(max: number) {
  return z
    .number()
    .gt(0)
    .max(max)
    .refine(
      (n) => /^\d+(\.\d{1,9})?$/.test(String(n)),
      "must be a plain number with at most 9 decimal places",
    );
}

/** A take-profit target in whole ticks, as the exit calculator uses it. */
export interface TakeProfitTarget {
  ticks: number;
  trimPercent: number;
}

/**
 * A take-profit target as set: its distance in exactly one unit (ticks, points, dollars per contract or
 * percent of the fill price) plus the percent of the position it closes. Units other than ticks become
 * whole ticks at exit time (src/domain/exit-units.ts).
 */
export const takeProfitTargetSchema = z
  .strictObject({
    ticks: z.number().int().min(0).max(1_000_000).optional(),
    points: distanceSchema(1_000_000).optional(),
    dollars: distanceSchema(10_000_000).optional(),
    percent: distanceSchema(100).optional(),
    trimPercent: z.number().gt(0).max(100),
  })
  .superRefine((t, ctx) => {
    const units = TARGET_UNITS.filter((u) => t[u] !== undefined);
    if (units.length !== 1)
      ctx.addIssue({
        code: "custom",
        message: `a target needs exactly one of ticks, points, dollars, percent (got ${units.length ? units.join(" and ") : "none"})`,
      });
  });
export type TakeProfitSetting = z.infer<typeof takeProfitTargetSchema>;
export const TARGET_UNITS = ["ticks", "points", "dollars", "percent"] as const;
export type TargetUnit = (typeof TARGET_UNITS)[number];
export const targetUnit = (t: TakeProfitSetting): TargetUnit =>
  TARGET_UNITS.find((u) => t[u] !== undefined) ?? "ticks";

/**
 * A list whose targets all have 0 ticks means "no take-profit"; mixing 0 with real targets is refused, and
 * so is mixing units (targets are ordered by distance, which needs one unit).
 */
const takeProfitList = z
  .array(takeProfitTargetSchema)
  .max(10)
  .transform((list, ctx) => {
    const zero = list.filter((t) => t.ticks === 0).length;
    if (zero === list.length) return [];
    if (zero > 0) {
      ctx.addIssue({
        code: "custom",
        message: "a target with 0 ticks; use an empty list for no take-profit",
      });
    }
    const units = new Set(list.map(targetUnit));
    if (units.size > 1)
      ctx.addIssue({
        code: "custom",
        message: "all targets must use the same unit (ticks, points, dollars or percent)",
      });
    const distance = (t: TakeProfitSetting) => t[targetUnit(t)] ?? 0;
    return [...list].sort((a, b) => distance(a) - distance(b));
  });

export const tradingWindowSchema = z.strictObject({
  start: z.string().regex(HHMM, "must be HH:MM (24 h)"),
  end: z.string().regex(HHMM, "must be HH:MM (24 h)"),
  days: z.array(z.enum(DAYS)).min(1).optional(),
});
export type TradingWindow = z.infer<typeof tradingWindowSchema>;

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "is not a known time zone (e.g. America/Chicago)");

const fields = {
  /** Contracts per entry when the alert gives no quantity. */
  quantity: z.number().int().min(1).max(10_000),
  /** Contracts per add (DCA); when unset an add uses `quantity`. */
  addQuantity: z.number().int().min(1).max(10_000),
  takeProfit: takeProfitList,
  stopLossTicks: z.number().int().min(0).max(1_000_000),
  avgDown: z.boolean(),
  /** Pre-trade cap on the position, in contracts. Unset = no cap. */
  maxContracts: z.number().int().min(1).max(100_000),
  maxSignalAgeSeconds: z.number().int().min(1).max(86_400),
  dedupWindowMs: z.number().int().min(0).max(600_000),
  tradingWindows: z.array(tradingWindowSchema).max(10),
  timeZone,
  /** Contract to trade instead of the alert's ticker, e.g. "MNQ1!" for alerts on NQ1!. */
  ticker: z.string().trim().min(1).max(40),
  /** On an opposite-direction signal: reverse (close then open) or close only. */
  onOpposite: z.enum(["reverse", "close"]),
  /** When the alert's expected position disagrees with the follower's real one. */
  positionSync: z.enum(["off", "skip", "flatten", "resync"]),
  /** Discord channel that receives this recorder's notifications. */
  discordChannelId: z.string().regex(/^\d{15,25}$/, "must be a Discord channel id (digits)"),
  /** Discord users who get this recorder's notifications as direct messages. */
  discordUserIds: z.array(z.string().regex(/^\d{15,25}$/, "must be Discord user ids (digits)")).max(25),
  // Issue 14, filters / exit units / sizing: see src/domain/filters.ts, exit-units.ts, sizing.ts.
  /** The stop in points, dollars per contract or percent of the fill price, instead of stopLossTicks. */
  stopLoss: z
    .strictObject({
      points: distanceSchema(1_000_000).optional(),
      dollars: distanceSchema(10_000_000).optional(),
      percent: distanceSchema(100).optional(),
    })
    .refine(
      (o) => Object.values(o).filter((v) => v !== undefined).length === 1,
      "needs exactly one of points, dollars, percent (for ticks use stopLossTicks)",
    ),
  /** Risk sizing: contracts = these dollars / the stop's dollar risk per contract, rounded down. */
  riskDollars: distanceSchema(10_000_000).refine(
    (n) => Number.isInteger(Math.round(n * 100)) && Math.abs(n * 100 - Math.round(n * 100)) < 1e-6,
    "must be dollars and cents, like 250 or 187.5",
  ),
  /** Risk sizing: this percent of the broker's balance / the stop's dollar risk per contract, rounded down. */
  riskPercent: distanceSchema(100),
  /** Seconds after an entry during which the next entry (open, add or the new side of a reverse) is refused. */
  cooldownSeconds: z.number().int().min(0).max(86_400),
  /** Entries (opens, adds, reverses' new sides) per trading day; unset = no limit. */
  maxEntriesPerDay: z.number().int().min(1).max(10_000),
  /** While in a position, only every Nth same-direction signal adds (1 = every one). Needs avgDown. */
  addEvery: z.number().int().min(1).max(1_000),
  /** Which sides may be opened: a refused side still closes the opposite position. */
  direction: z.enum(["both", "long", "short"]),
  /** Trade the opposite of each signal: buy <-> sell, long <-> short; exits unchanged. */
  inverse: z.boolean(),
  // Issue 14, break-even and trailing stop (src/domain/stop-rules.ts).
  /** Trail the stop behind the best price at the stop-loss distance. */
  trailingStop: z.boolean(),
  /** Ticks of profit before the trail starts; 0 = from the start. */
  trailTriggerTicks: z.number().int().min(0).max(100_000),
  /** The trailing stop moves only in whole steps of this many ticks. */
  trailStepTicks: z.number().int().min(1).max(100_000),
  /** Ticks of profit that move the stop to break-even; 0 = off. */
  breakEvenTicks: z.number().int().min(0).max(100_000),
  /** Where the break-even stop goes: this many ticks beyond the entry, on the profit side. */
  breakEvenOffsetTicks: z.number().int().min(0).max(100_000),
};

export const recorderSettingsSchema = z.strictObject({
  quantity: fields.quantity.default(1),
  addQuantity: fields.addQuantity.optional(),
  takeProfit: fields.takeProfit.default([]),
  stopLossTicks: fields.stopLossTicks.default(0),
  avgDown: fields.avgDown.default(false),
  maxContracts: fields.maxContracts.optional(),
  maxSignalAgeSeconds: fields.maxSignalAgeSeconds.default(30),
  dedupWindowMs: fields.dedupWindowMs.default(3000),
  tradingWindows: fields.tradingWindows.default([]),
  timeZone: fields.timeZone.default("America/Chicago"),
  ticker: fields.ticker.optional(),
  onOpposite: fields.onOpposite.default("reverse"),
  positionSync: fields.positionSync.default("off"),
  discordChannelId: fields.discordChannelId.optional(),
  discordUserIds: fields.discordUserIds.default([]),
  // Issue 14, filters / exit units / sizing.
  stopLoss: fields.stopLoss.optional(),
  riskDollars: fields.riskDollars.optional(),
  riskPercent: fields.riskPercent.optional(),
  cooldownSeconds: fields.cooldownSeconds.default(0),
  maxEntriesPerDay: fields.maxEntriesPerDay.optional(),
  addEvery: fields.addEvery.default(1),
  direction: fields.direction.default("both"),
  inverse: fields.inverse.default(false),
  // Issue 14, break-even and trailing stop.
  trailingStop: fields.trailingStop.default(false),
  trailTriggerTicks: fields.trailTriggerTicks.default(0),
  trailStepTicks: fields.trailStepTicks.default(1),
  breakEvenTicks: fields.breakEvenTicks.default(0),
  breakEvenOffsetTicks: fields.breakEvenOffsetTicks.default(0),
  // Issue 14, session flatten: every trader flattened (exits cancelled) when the trading windows close.
  flattenAtWindowEnd: z.boolean().default(false),
});
export type RecorderSettings = z.infer<typeof recorderSettingsSchema>;
export const RECORDER_SETTING_KEYS = Object.keys(recorderSettingsSchema.shape) as (keyof RecorderSettings)[];

/** What a trader may override; anything unset inherits the recorder's value. */
export const traderOverridesSchema = z.strictObject({
  quantity: fields.quantity.optional(),
  addQuantity: fields.addQuantity.optional(),
  takeProfit: fields.takeProfit.optional(),
  stopLossTicks: fields.stopLossTicks.optional(),
  avgDown: fields.avgDown.optional(),
  maxContracts: fields.maxContracts.optional(),
  ticker: fields.ticker.optional(),
  onOpposite: fields.onOpposite.optional(),
  // Issue 14, filters / exit units / sizing.
  stopLoss: fields.stopLoss.optional(),
  riskDollars: fields.riskDollars.optional(),
  riskPercent: fields.riskPercent.optional(),
  cooldownSeconds: fields.cooldownSeconds.optional(),
  maxEntriesPerDay: fields.maxEntriesPerDay.optional(),
  addEvery: fields.addEvery.optional(),
  direction: fields.direction.optional(),
  inverse: fields.inverse.optional(),
  // Issue 14, break-even and trailing stop.
  trailingStop: fields.trailingStop.optional(),
  trailTriggerTicks: fields.trailTriggerTicks.optional(),
  trailStepTicks: fields.trailStepTicks.optional(),
  breakEvenTicks: fields.breakEvenTicks.optional(),
  breakEvenOffsetTicks: fields.breakEvenOffsetTicks.optional(),
});
export type TraderOverrides = z.infer<typeof traderOverridesSchema>;

/**
 * Recorder settings with the trader's overrides applied (trader beats recorder). The stop and the risk
 * budget are one setting each in two spellings: a trader who sets one spelling replaces the recorder's other.
 */
export function effectiveSettings(recorder: RecorderSettings, overrides: TraderOverrides): RecorderSettings {
  const merged: RecorderSettings = { ...recorder };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  if (overrides.stopLossTicks !== undefined) delete merged.stopLoss;
  if (overrides.stopLoss !== undefined) merged.stopLossTicks = 0;
  if (overrides.riskDollars !== undefined) delete merged.riskPercent;
  if (overrides.riskPercent !== undefined) delete merged.riskDollars;
  return merged;
}

/**
 * What is wrong with a trader's overrides on this recorder: two spellings of the stop or of the risk budget
 * in the overrides, or the effective settings' stop and sizing (`stopAndSizingProblems`).
 */
export function overridesProblems(
  recorder: RecorderSettings,
  overrides: TraderOverrides,
): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  if (overrides.stopLoss !== undefined && overrides.stopLossTicks !== undefined)
    out.push({ path: ["stopLoss"], message: "set either stopLossTicks or stopLoss, not both" });
  if (overrides.riskDollars !== undefined && overrides.riskPercent !== undefined)
    out.push({ path: ["riskPercent"], message: "set either riskDollars or riskPercent, not both" });
  return out.length ? out : stopAndSizingProblems(effectiveSettings(recorder, overrides));
}

/**
 * What is wrong with a set of settings' stop and sizing together, in a trader's words: two spellings of the
 * stop or of the risk budget, or risk sizing without a stop to measure the risk by. Checked on a
 * recorder's settings by the API (`recorderSettingsWithin`) and on a trader's (`overridesProblems`); the
 * planner refuses risk sizing without a stop whatever got stored.
 */
export function stopAndSizingProblems(
  s: Pick<RecorderSettings, "stopLossTicks" | "stopLoss" | "riskDollars" | "riskPercent">,
): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  if (s.stopLoss !== undefined && s.stopLossTicks > 0)
    out.push({
      path: ["stopLoss"],
      message: 'set either stopLossTicks or stopLoss, not both (send "stopLossTicks": null to switch)',
    });
  if (s.riskDollars !== undefined && s.riskPercent !== undefined)
    out.push({
      path: ["riskPercent"],
      message: "set either riskDollars or riskPercent, not both (send null for the one to drop)",
    });
  const risk =
    s.riskDollars !== undefined ? "riskDollars" : s.riskPercent !== undefined ? "riskPercent" : undefined;
  if (risk && s.stopLoss === undefined && s.stopLossTicks <= 0)
    out.push({
      path: [risk],
      message: "risk sizing divides the risk by the stop's distance: set stopLossTicks or stopLoss too",
    });
  return out;
}

/** Recorder settings that size orders; each is refused above the relay's MAX_ORDER_CONTRACTS. */
export const SIZE_SETTING_KEYS = ["quantity", "addQuantity", "maxContracts"] as const;
export type SizeSettingKey = (typeof SIZE_SETTING_KEYS)[number];

/**
 * The recorder settings schema with the relay-wide MAX_ORDER_CONTRACTS applied to the sizing settings in
 * `keys` (all of them by default; a PATCH passes only the keys it sets, so a recorder stored before the
 * limit was lowered can still be renamed or disabled, and the planner's per-order cap still holds).
 */
export function recorderSettingsWithin(
  maxOrderContracts: number,
  keys: readonly string[] = SIZE_SETTING_KEYS,
) {
  return recorderSettingsSchema.superRefine((settings, ctx) => {
    for (const problem of stopAndSizingProblems(settings)) ctx.addIssue({ code: "custom", ...problem });
    for (const key of SIZE_SETTING_KEYS) {
      const value = settings[key];
      if (!keys.includes(key) || value === undefined || value <= maxOrderContracts) continue;
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `${value} is more than this relay allows in one order: at most ${maxOrderContracts} contracts (MAX_ORDER_CONTRACTS)`,
      });
    }
  });
}

/**
 * Why one order of `contracts` may not be sent under MAX_ORDER_CONTRACTS, in a trader's words, or undefined
 * when it may. For the planner's per-order cap (an order after the multiplier above the limit is blocked).
 */
export function orderSizeProblem(contracts: number, maxOrderContracts: number): string | undefined {
  if (contracts <= maxOrderContracts) return undefined;
  return `an order of ${contracts} contracts is more than this relay allows in one order (MAX_ORDER_CONTRACTS ${maxOrderContracts})`;
}

export const MULTIPLIER_MIN = "0.01";
export const MULTIPLIER_MAX = "100";

/**
 * A trader's multiplier: from 0.01 to 100 inclusive, in steps of 0.01 (at most two decimal places), as a
 * JSON number or a string written plainly ("1.5", "0.25", "2"). Refused: "1,5", "1e2", 1e300, 1e-9, 0,
 * negatives, 0.001, 101, and floats such as 0.1 + 0.2 that are not a whole number of hundredths.
 */
export const multiplierSchema = z.unknown().transform((v, ctx): Dec => {
  const bad = () => {
    const got =
      typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : String(v);
    ctx.addIssue({
      code: "custom",
      message: `must be a number from ${MULTIPLIER_MIN} to ${MULTIPLIER_MAX} with at most 2 decimal places, like 1.5 (got ${got})`,
    });
    return z.NEVER;
  };
  // A number's shortest spelling: 1e300 and 1e-9 show their exponent and are refused with the strings.
  const text =
    typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : typeof v === "string" ? v.trim() : "";
  // Digits, and at most two decimal places that are not zero ("1.50" is 1.5; "1.505" is refused).
  if (!/^\d+(\.\d{1,2}0*)?$/.test(text) || text.length > 40) return bad();
  const d = dec(text);
  if (d < dec(MULTIPLIER_MIN) || d > dec(MULTIPLIER_MAX)) return bad();
  return d;
});
