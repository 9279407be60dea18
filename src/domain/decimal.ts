/**
 * Exact decimal arithmetic for prices and money.
 *
 * A `Dec` is a bigint counting billionths (scale 1e9), so sums and products of prices and dollar values
 * never drift the way binary floats do. Nine places cover every futures tick in use (ZT's 1/128 point is
 * 0.0078125) and every dollar-per-tick value (ZN's 15.625).
 *
 * @example
 *   const pnl = mul(sub(dec("21010.25"), dec("21000")), dec(2)); // MNQ: 10.25 points x $2
 *   toStr(pnl) // "20.5"
 */
declare const brand: unique symbol;
export type Dec = bigint & { readonly [brand]: "Dec" };

export const SCALE = 1_000_000_000n;
const SCALE_DIGITS = 9;
const PATTERN = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export const ZERO = 0n as Dec;
export const ONE = SCALE as Dec;

/** Parses a decimal from a JSON number, a numeric string or an integer count. Throws on anything else. */
export function dec(value: string | number | bigint): Dec {
  if (typeof value === "bigint") return (value * SCALE) as Dec;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return parseDecimal(String(value));
  }
  return parseDecimal(value.trim());
}

/** Like `dec`, but returns undefined instead of throwing. */
export function tryDec(value: unknown): Dec | undefined {
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "bigint") return undefined;
  try {
    return dec(value);
  } catch {
    return undefined;
  }
}

function parseDecimal(text: string): Dec {
  const m = PATTERN.exec(text);
  if (!m || (m[2] === "" && (m[3] === undefined || m[3] === "")))
    throw new RangeError(`not a decimal: ${text}`);
  const sign = m[1] === "-" ? -1n : 1n;
  let digits = (m[2] ?? "") + (m[3] ?? "");
  const exponent = Number(m[4] ?? "0") - (m[3] ?? "").length + SCALE_DIGITS;
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400)
    throw new RangeError(`out of range: ${text}`);
  if (digits === "") digits = "0";
  if (exponent >= 0) return (sign * BigInt(digits) * 10n ** BigInt(exponent)) as Dec;
  // More than nine places: round half away from zero.
  const divisor = 10n ** BigInt(-exponent);
  const raw = BigInt(digits);
  let q = raw / divisor;
  if ((raw % divisor) * 2n >= divisor) q += 1n;
  return (sign * q) as Dec;
}

export const add = (a: Dec, b: Dec): Dec => (a + b) as Dec;
export const sub = (a: Dec, b: Dec): Dec => (a - b) as Dec;
export const neg = (a: Dec): Dec => -a as Dec;
export const abs = (a: Dec): Dec => (a < 0n ? -a : a) as Dec;
export const cmp = (a: Dec, b: Dec): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);
export const isZero = (a: Dec): boolean => a === 0n;
export const isPositive = (a: Dec): boolean => a > 0n;
export const min = (a: Dec, b: Dec): Dec => (a < b ? a : b);
export const max = (a: Dec, b: Dec): Dec => (a > b ? a : b);

/** Product of two decimals, rounded half away from zero to nine places. */
export function mul(a: Dec, b: Dec): Dec {
  return divRound(a * b, SCALE) as Dec;
}

/** Multiplies by an integer count (contracts, ticks) exactly. */
export function times(a: Dec, n: number | bigint): Dec {
  return (a * BigInt(n)) as Dec;
}

/** Quotient rounded half away from zero to nine places. */
export function div(a: Dec, b: Dec): Dec {
  if (b === 0n) throw new RangeError("division by zero");
  return divRound(a * SCALE, b) as Dec;
}

function divRound(n: bigint, d: bigint): bigint {
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  let q = an / ad;
  if ((an % ad) * 2n >= ad) q += 1n;
  return negative ? -q : q;
}

export type Rounding = "nearest" | "down" | "up";

/** Number of whole steps in `value` (e.g. ticks in a price), rounded as asked. */
export function stepsIn(value: Dec, step: Dec, rounding: Rounding = "nearest"): number {
  if (step <= 0n) throw new RangeError("step must be positive");
  let q = value / step;
  const r = value % step;
  if (r !== 0n) {
    if (rounding === "up" && r > 0n) q += 1n;
    else if (rounding === "down" && r < 0n) q -= 1n;
    else if (rounding === "nearest") {
      const twice = (r < 0n ? -r : r) * 2n;
      if (twice >= step) q += r < 0n ? -1n : 1n;
    }
  }
  return Number(q);
}

/** Rounds `value` to a multiple of `step` (a price to its tick). */
export function roundToStep(value: Dec, step: Dec, rounding: Rounding = "nearest"): Dec {
  return times(step, stepsIn(value, step, rounding));
}

/** Canonical decimal text without trailing zeros: "21000.25", "-3", "0.0078125". */
export function toStr(a: Dec): string {
  const negative = a < 0n;
  const v = negative ? -a : a;
  const whole = v / SCALE;
  const frac = (v % SCALE).toString().padStart(SCALE_DIGITS, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** The nearest JS number, for wire formats that demand JSON numbers. Never use it for arithmetic. */
export function toNum(a: Dec): number {
  return Number(toStr(a));
}

/** Whole-number value of a decimal that is known to be an integer count; throws otherwise. */
export function toInt(a: Dec): number {
  if (a % SCALE !== 0n) throw new RangeError(`not a whole number: ${toStr(a)}`);
  return Number(a / SCALE);
}

export function isInteger(a: Dec): boolean {
  return a % SCALE === 0n;
}

export function sum(values: Iterable<Dec>): Dec {
  let total = 0n;
  for (const v of values) total += v;
  return total as Dec;
}
