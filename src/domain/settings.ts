/**
 * Recorder settings and trader overrides: one zod schema each, one spelling per setting, unknown keys
 * refused. Defaults live here and nowhere else, and 0 always means what the setting says it means
 * (stopLossTicks 0 = no stop, a take-profit of 0 ticks = no take-profit), never "use a default".
 */
import { z } from "zod";
import { type Dec, dec } from "./decimal";

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
export const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

export const takeProfitTargetSchema = z.strictObject({
  ticks: z.number().int().min(0).max(1_000_000),
  trimPercent: z.number().gt(0).max(100),
});
export type TakeProfitTarget = z.infer<typeof takeProfitTargetSchema>;

/** A list whose targets all have 0 ticks means "no take-profit"; mixing 0 with real targets is refused. */
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
    return [...list].sort((a, b) => a.ticks - b.ticks);
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
});
export type TraderOverrides = z.infer<typeof traderOverridesSchema>;

/** Recorder settings with the trader's overrides applied (trader beats recorder). */
export function effectiveSettings(recorder: RecorderSettings, overrides: TraderOverrides): RecorderSettings {
  const merged: RecorderSettings = { ...recorder };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
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
