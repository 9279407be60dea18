/**
 * The `propRules` setting of a broker account (PATCH /api/accounts/:id): a list, one entry per broker
 * sub-account (`brokerAccountId`), or one entry without it for every sub-account of the login that has no
 * entry of its own. Each sub-account is its own plan: its own balance, high-water mark and floor.
 *
 * Stored as given (dollars normalized to decimal strings); `resolvePropRules` turns an entry into the
 * rules the monitor applies: the preset first, then every explicit field over it (null removes a rule).
 * Defaults live here only: trailing drawdown action "fail", profit target "pause", daily loss "flatten",
 * lock none.
 *
 * @example
 *   { "propRules": [{ "riskPreset": "apex-50k", "maxContracts": 4 }] }
 *   { "propRules": [{ "brokerAccountId": "123", "startingBalance": 50000,
 *       "trailingDrawdown": { "mode": "eod", "amount": 2000, "lock": 0 },
 *       "dailyProfitTarget": { "amount": 1500 } }] }
 */
import { z } from "zod";
import { dec, toStr, tryDec } from "./decimal";
import { PRESET_NAMES, PROP_PRESETS } from "./prop-presets";
import type { PropRules, RuleAction } from "./prop-rules";

function dollars(min: "positive" | "zero") {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const d = tryDec(v);
    if (d === undefined || (min === "positive" ? d <= 0n : d < 0n)) {
      ctx.addIssue({
        code: "custom",
        message: min === "positive" ? "must be dollars greater than 0" : "must be dollars, 0 or more",
      });
      return z.NEVER;
    }
    return toStr(d);
  });
}

const action = z.enum(["pause", "flatten", "fail"]);

const trailingInput = z.strictObject({
  mode: z.enum(["eod", "intraday"]).optional(),
  amount: dollars("positive").optional(),
  /** Dollars above the starting balance where the floor stops trailing; null: never stops. */
  lock: dollars("zero").nullable().optional(),
  action: action.optional(),
});

const dailyInput = z.strictObject({ amount: dollars("positive"), action: action.optional() });

const entryShape = z.strictObject({
  brokerAccountId: z.string().trim().min(1).max(64).optional(),
  riskPreset: z.enum(PRESET_NAMES).optional(),
  startingBalance: dollars("positive").optional(),
  highWaterBalance: dollars("positive").optional(),
  trailingDrawdown: trailingInput.nullable().optional(),
  dailyProfitTarget: dailyInput.nullable().optional(),
  dailyLossLimit: dailyInput.nullable().optional(),
  maxContracts: z.number().int().min(1).max(100_000).nullable().optional(),
});

export type PropRulesInput = z.infer<typeof entryShape>;

/** Resolves an entry, or says in a trader's words what is missing. */
export function resolvePropRules(
  input: PropRulesInput,
): { ok: true; rules: PropRules } | { ok: false; message: string } {
  const preset = input.riskPreset ? PROP_PRESETS[input.riskPreset] : undefined;
  const startingBalance =
    input.startingBalance !== undefined ? dec(input.startingBalance) : (preset?.startingBalance ?? null);
  let trailingDrawdown = preset?.trailingDrawdown ?? null;
  if (input.trailingDrawdown === null) trailingDrawdown = null;
  else if (input.trailingDrawdown) {
    const t = input.trailingDrawdown;
    const mode = t.mode ?? trailingDrawdown?.mode;
    const amount = t.amount !== undefined ? dec(t.amount) : trailingDrawdown?.amount;
    if (!mode) return { ok: false, message: "trailingDrawdown.mode: say eod or intraday" };
    if (amount === undefined)
      return { ok: false, message: "trailingDrawdown.amount: the drawdown in dollars is missing" };
    const lock =
      t.lock === undefined ? (trailingDrawdown?.lock ?? null) : t.lock === null ? null : dec(t.lock);
    const act: RuleAction = t.action ?? trailingDrawdown?.action ?? "fail";
    trailingDrawdown = { mode, amount, lock, action: act };
  }
  if (trailingDrawdown && startingBalance === null)
    return { ok: false, message: "startingBalance: a trailing drawdown needs the plan's starting balance" };
  const daily = (
    given: PropRulesInput["dailyProfitTarget"],
    fromPreset: PropRules["dailyProfitTarget"] | undefined,
    fallback: RuleAction,
  ): PropRules["dailyProfitTarget"] => {
    if (given === null) return null;
    if (given === undefined) return fromPreset ?? null;
    return { amount: dec(given.amount), action: given.action ?? fromPreset?.action ?? fallback };
  };
  const maxContracts = input.maxContracts === undefined ? (preset?.maxContracts ?? null) : input.maxContracts;
  return {
    ok: true,
    rules: {
      preset: input.riskPreset ?? null,
      startingBalance,
      highWaterBalance: input.highWaterBalance !== undefined ? dec(input.highWaterBalance) : null,
      trailingDrawdown,
      dailyProfitTarget: daily(input.dailyProfitTarget, preset?.dailyProfitTarget, "pause"),
      dailyLossLimit: daily(input.dailyLossLimit, preset?.dailyLossLimit, "flatten"),
      maxContracts,
    },
  };
}

const entry = entryShape.superRefine((e, ctx) => {
  const r = resolvePropRules(e);
  if (!r.ok) ctx.addIssue({ code: "custom", message: r.message });
});

/** The whole list: at most one entry per sub-account and one for "every sub-account". */
export const propRulesSchema = z
  .array(entry)
  .max(200)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, e] of list.entries()) {
      const key = e.brokerAccountId ?? "*";
      if (seen.has(key))
        ctx.addIssue({
          code: "custom",
          path: [i, "brokerAccountId"],
          message: e.brokerAccountId
            ? `sub-account ${e.brokerAccountId} has two entries`
            : "only one entry may leave out brokerAccountId (it covers every other sub-account)",
        });
      seen.add(key);
    }
  });

/** The entry that applies to a sub-account: its own, else the login-wide one. */
export function entryFor(list: PropRulesInput[], brokerAccountId: string): PropRulesInput | undefined {
  return list.find((e) => e.brokerAccountId === brokerAccountId) ?? list.find((e) => !e.brokerAccountId);
}

/** What the floor's state belongs to: a change of any of these starts the trail afresh. */
export function trailBasis(r: PropRules): string {
  const t = r.trailingDrawdown;
  if (!t || !r.startingBalance) return "";
  const lock = t.lock === null ? "none" : toStr(t.lock);
  const high = r.highWaterBalance === null ? "start" : toStr(r.highWaterBalance);
  return `${toStr(r.startingBalance)}|${t.mode}|${toStr(t.amount)}|${lock}|${high}`;
}
