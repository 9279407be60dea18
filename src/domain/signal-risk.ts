/**
 * Per-alert risk sizing, with the field names users already paste from PickMyTrade-style alerts:
 * `risk_dollars` (dollars to risk on the stop) and `risk_percentage` (percent of the broker's balance).
 * At most one of them; numbers or plain numeric strings. They override the recorder's riskDollars /
 * riskPercent and are overridden by a trader's (src/domain/sizing.ts).
 *
 * @example
 *   riskAliases({ risk_dollars: "150" })  // { ok: true, fields: { riskDollars: 150n * SCALE } }
 */
import { type Dec, SCALE, toStr, tryDec } from "./decimal";

export const RISK_ALIASES = { risk_dollars: "riskDollars", risk_percentage: "riskPercent" } as const;

export type RiskAliasResult =
  | { ok: true; fields: { riskDollars?: Dec; riskPercent?: Dec } }
  | { ok: false; message: string };

const PLAIN = /^\+?(\d+(\.\d*)?|\.\d+)$/;
const LIMITS = { risk_dollars: 10_000_000n, risk_percentage: 100n } as const;

/** Reads the two aliases from an alert body; the message is a whole sentence. */
export function riskAliases(body: Record<string, unknown>): RiskAliasResult {
  const present = (Object.keys(RISK_ALIASES) as (keyof typeof RISK_ALIASES)[]).filter(
    (k) => body[k] !== undefined && body[k] !== null && body[k] !== "",
  );
  if (present.length === 0) return { ok: true, fields: {} };
  if (present.length > 1)
    return { ok: false, message: 'Use either "risk_dollars" or "risk_percentage", not both.' };
  const key = present[0] as keyof typeof RISK_ALIASES;
  const raw = body[key];
  const value =
    typeof raw === "number"
      ? tryDec(raw)
      : typeof raw === "string" && PLAIN.test(raw.trim())
        ? tryDec(raw.trim())
        : undefined;
  const unit = key === "risk_dollars" ? "dollars, like 150" : "a percent of the balance, like 1.5";
  if (value === undefined)
    return {
      ok: false,
      message: `Field "${key}" must be ${unit}, written plainly (got ${JSON.stringify(raw)}).`,
    };
  if (value <= 0n || value > LIMITS[key] * SCALE)
    return {
      ok: false,
      message: `Field "${key}" must be above 0 and at most ${LIMITS[key]} (got ${toStr(value)}).`,
    };
  return { ok: true, fields: { [RISK_ALIASES[key]]: value } };
}

/** The aliases of a normalized signal as stored (read back by `riskAliases`). */
export function riskAliasesJson(s: {
  riskDollars?: Dec;
  riskPercent?: Dec;
}): Record<string, string | undefined> {
  return {
    risk_dollars: s.riskDollars === undefined ? undefined : toStr(s.riskDollars),
    risk_percentage: s.riskPercent === undefined ? undefined : toStr(s.riskPercent),
  };
}
