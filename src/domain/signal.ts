/**
 * Signal normalization: a TradingView (or TradersPost / PickMyTrade style) alert body -> one canonical
 * `Signal`, or a message a trader understands saying what is wrong.
 *
 * Accepted spellings: ticker|symbol, action|data, quantity|qty|contracts, plus sentiment, price, time,
 * id, takeProfit|tp, stopLoss|sl, marketPosition, prevMarketPosition, positionSize, risk_dollars |
 * risk_percentage (src/domain/signal-risk.ts). Numbers may arrive as
 * strings ("1", "21000.25"), because users quote TradingView placeholders, but only written plainly: a
 * dot for decimals, no thousands separators, no exponent ("1,5" is refused, never read as 15).
 * A quantity is a whole number of contracts (see `parseQuantity`).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { type Dec, dec, SCALE, toStr, tryDec } from "./decimal";
import { type LeaderMove, parseLeaderMove } from "./leader";
import { riskAliases, riskAliasesJson } from "./signal-risk";
import { readStopAliases, type StopOverrides, stopAliasesToJson } from "./stop-aliases";

export const ACTIONS = ["buy", "sell", "exit", "close", "flat", "cancel", "add"] as const;
export type Action = (typeof ACTIONS)[number];
export type Sentiment = "long" | "short" | "flat";
export type MarketPosition = "long" | "short" | "flat";

/** Per-alert exit override, normalized; the copy planner decides precedence and units. */
export interface ExitOverride {
  ticks?: number;
  /** Absolute price (TradersPost limitPrice / stopPrice). */
  price?: Dec;
  /** Distance in points from the fill. */
  points?: Dec;
  /** Distance as a percent of the fill price. */
  percent?: Dec;
  /** Distance in dollars per contract. */
  amount?: Dec;
}

export interface Signal {
  ticker: string;
  action: Action;
  sentiment?: Sentiment;
  quantity?: Dec;
  price?: Dec;
  time?: Date;
  alertId?: string;
  takeProfit?: ExitOverride;
  stopLoss?: ExitOverride;
  marketPosition?: MarketPosition;
  prevMarketPosition?: MarketPosition;
  /** Signed strategy position after the order ({{strategy.position_size}}). */
  positionSize?: Dec;
  comment?: string;
  /** Risk sizing from the alert (`risk_dollars`, `risk_percentage`; src/domain/signal-risk.ts). */
  riskDollars?: Dec;
  riskPercent?: Dec;
  /** Break-even / trailing-stop overrides (trail, trail_trigger, trail_freq, breakeven, breakeven_offset). */
  stops?: StopOverrides;
  /**
   * Leader copying (issue 14): set only on signals the relay makes from a leader's own fill, never read
   * from a webhook body; the planner then moves each follower to its share (src/domain/leader.ts).
   */
  leader?: LeaderMove;
}

export type NormalizeResult = { ok: true; signal: Signal } | { ok: false; message: string };

const PLACEHOLDER = /\{\{[^}]*\}\}/;

const text = (max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const s = String(v).trim();
    if (s === "") ctx.addIssue({ code: "custom", message: "is empty" });
    else if (s.length > max) ctx.addIssue({ code: "custom", message: `is longer than ${max} characters` });
    return s;
  });

/**
 * A decimal in a string, written plainly: optional sign, digits, optional dot and digits. No thousands
 * separators (is "1,5" one and a half or fifteen?), no exponent, no hex, no "Infinity".
 */
const PLAIN_DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** No price, distance or strategy position in an alert has more than nine digits before the point. */
const DECIMAL_LIMIT = 1_000_000_000n * SCALE;

/** How a refused value is shown back to the sender: strings quoted, at most 40 characters. */
function shown(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  const json = JSON.stringify(v);
  return json === undefined ? typeof v : json.length > 40 ? `${json.slice(0, 40)}...` : json;
}

/** A decimal from a JSON number (any finite value) or from a string written plainly (see PLAIN_DECIMAL). */
function plainDecimal(v: string | number): Dec | undefined {
  if (typeof v === "number") return tryDec(v);
  const s = v.trim();
  return PLAIN_DECIMAL.test(s) ? tryDec(s) : undefined;
}

const decimal = (opts: { positive?: boolean; nonNegative?: boolean; integer?: boolean; max?: number } = {}) =>
  z.union([z.string(), z.number()]).transform((v, ctx): Dec => {
    const d = plainDecimal(v);
    if (d === undefined) {
      ctx.addIssue({
        code: "custom",
        message:
          typeof v === "string" && v.includes(",")
            ? `must be a number written plainly, with a dot for decimals and no thousands separators, like 21000.25 (got ${shown(v)})`
            : `${shown(v)} is not a number written plainly, like 21000.25`,
      });
      return z.NEVER;
    }
    const limit = opts.max === undefined ? DECIMAL_LIMIT : BigInt(opts.max) * SCALE;
    if (d >= limit || -d >= limit) {
      ctx.addIssue({ code: "custom", message: `is too large (got ${shown(v)})` });
      return z.NEVER;
    }
    if (opts.positive && d <= 0n) ctx.addIssue({ code: "custom", message: "must be greater than 0" });
    if (opts.nonNegative && d < 0n) ctx.addIssue({ code: "custom", message: "must not be negative" });
    if (opts.integer && d % SCALE !== 0n) ctx.addIssue({ code: "custom", message: "must be a whole number" });
    return d;
  });

/**
 * The most contracts an alert's quantity can name at all (nine digits). The relay's own limit,
 * MAX_ORDER_CONTRACTS, is far lower and is applied by intake (`normalizeSignal`'s `maxQuantity`).
 */
export const QUANTITY_CEILING = 999_999_999;

export const QUANTITY_FIELDS = ["quantity", "qty", "contracts"] as const;

export type QuantityResult = { ok: true; contracts: number } | { ok: false; message: string };

/**
 * An alert's quantity: a whole number of contracts from 1 to `max`, as a JSON number or as a string of
 * ASCII digits (spaces around it are ignored). Refused: "1,5", 1.5, "1.5", "1e3", "+2", "2 lots", "0x10",
 * "Infinity", 0, negatives, and anything above `max`.
 *
 * A JSON number's spelling cannot be seen here: JSON.parse has already turned the literal into a double,
 * so 3, 3.0 and 3e0 all arrive as 3 (accepted), and the literal 1e3 arrives as 1000 (accepted only if the
 * limit allows 1000 contracts). Strings keep their spelling, so there only plain digits pass.
 *
 * The message completes `Field "quantity" ...`.
 */
export function parseQuantity(value: unknown, max: number = QUANTITY_CEILING): QuantityResult {
  const plainly = `must be a whole number of contracts written plainly, like 2 (got ${shown(value)})`;
  let contracts: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || !Number.isInteger(value)) return { ok: false, message: plainly };
    contracts = value;
  } else if (typeof value === "string") {
    const s = value.trim();
    if (!/^\d+$/.test(s)) {
      return {
        ok: false,
        message: /\d/.test(s) ? plainly : `is not a number: it ${plainly}`,
      };
    }
    const digits = s.replace(/^0+/, "");
    // More than nine significant digits is more than any limit; no need to read it exactly.
    contracts = digits.length > 9 ? Number.POSITIVE_INFINITY : Number(digits);
  } else {
    return { ok: false, message: plainly };
  }
  if (contracts < 1) return { ok: false, message: `must be at least 1 contract (got ${shown(value)})` };
  if (contracts > max) {
    return {
      ok: false,
      message:
        max < QUANTITY_CEILING
          ? `is more than this relay allows in one order: at most ${max} contracts (MAX_ORDER_CONTRACTS), got ${shown(value)}`
          : `is too large to be a number of contracts (got ${shown(value)})`,
    };
  }
  return { ok: true, contracts };
}

const position = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(["long", "short", "flat"], { message: 'must be "long", "short" or "flat"' }));

const ACTION_ALIASES: Record<string, Action> = {
  buy: "buy",
  long: "buy",
  sell: "sell",
  short: "sell",
  exit: "exit",
  close: "close",
  flat: "flat",
  flatten: "flat",
  cancel: "cancel",
  add: "add",
};

const SENTIMENT_ALIASES: Record<string, Sentiment> = {
  long: "long",
  bullish: "long",
  short: "short",
  bearish: "short",
  flat: "flat",
};

/** Same bound as the recorder's take-profit and stop-loss settings. */
const MAX_TICKS = 1_000_000;

const exitObject = z
  .object({
    ticks: decimal({ nonNegative: true, integer: true, max: MAX_TICKS + 1 }).optional(),
    limitPrice: decimal({ positive: true }).optional(),
    stopPrice: decimal({ positive: true }).optional(),
    price: decimal({ positive: true }).optional(),
    points: decimal({ nonNegative: true }).optional(),
    percent: decimal({ nonNegative: true }).optional(),
    amount: decimal({ nonNegative: true }).optional(),
    type: z.string().optional(),
  })
  .transform((o, ctx): ExitOverride => {
    const out: ExitOverride = {};
    if (o.ticks !== undefined) out.ticks = Number(o.ticks / SCALE);
    const price = o.limitPrice ?? o.stopPrice ?? o.price;
    if (price !== undefined) out.price = price;
    if (o.points !== undefined) out.points = o.points;
    if (o.percent !== undefined) out.percent = o.percent;
    if (o.amount !== undefined) out.amount = o.amount;
    if (Object.keys(out).length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: "needs exactly one of ticks, price (limitPrice/stopPrice), points, percent, amount",
      });
    }
    return out;
  });

// A bare number or numeric string means ticks, as PickMyTrade and TradersPost users send it.
const exitOverride = z.union([
  decimal({ nonNegative: true, integer: true, max: MAX_TICKS + 1 }).transform(
    (d): ExitOverride => ({ ticks: Number(d / SCALE) }),
  ),
  exitObject,
]);

/** The alert body as read (exported for the OpenAPI document, src/http/openapi.ts). */
export const alertBodySchema = z.object({
  ticker: text(40).optional(),
  symbol: text(40).optional(),
  action: z.string().optional(),
  data: z.string().optional(),
  sentiment: z.string().optional(),
  // Read by `parseQuantity` after the rest of the body, against the caller's limit.
  quantity: z.unknown().optional(),
  qty: z.unknown().optional(),
  contracts: z.unknown().optional(),
  price: decimal({ positive: true }).optional(),
  time: z.union([z.string(), z.number()]).optional(),
  id: text(128).optional(),
  takeProfit: exitOverride.optional(),
  tp: exitOverride.optional(),
  stopLoss: exitOverride.optional(),
  sl: exitOverride.optional(),
  marketPosition: position.optional(),
  prevMarketPosition: position.optional(),
  // {{strategy.position_size}}: signed and possibly fractional; bounded like every decimal here.
  positionSize: decimal().optional(),
  comment: z.string().max(500).optional(),
});

export interface NormalizeOptions {
  /**
   * The most contracts a quantity may name (MAX_ORDER_CONTRACTS at intake). Unset when reading back a
   * stored signal, which was checked when it arrived.
   */
  maxQuantity?: number;
}

/** Turns a parsed JSON body into a Signal or a clear refusal. Never throws. */
export function normalizeSignal(input: unknown, options: NormalizeOptions = {}): NormalizeResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return {
      ok: false,
      message: 'The alert message must be a JSON object, e.g. {"ticker":"MNQ1!","action":"buy"}.',
    };
  }
  const placeholder = findPlaceholder(input as Record<string, unknown>);
  if (placeholder) {
    return {
      ok: false,
      message: `Field "${placeholder.key}" still holds the TradingView placeholder ${placeholder.value}: TradingView did not fill it in. Check the alert's message.`,
    };
  }
  const control = findControl(input as Record<string, unknown>);
  if (control)
    return { ok: false, message: `Field "${control}" contains control characters or broken Unicode.` };
  const parsed = alertBodySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "body";
    return { ok: false, message: `Field "${field}" ${issue ? specific(issue) : "is invalid"}.` };
  }
  const b = parsed.data;
  let quantity: Dec | undefined;
  for (const field of QUANTITY_FIELDS) {
    if (b[field] === undefined) continue;
    const q = parseQuantity(b[field], options.maxQuantity);
    if (!q.ok) return { ok: false, message: `Field "${field}" ${q.message}.` };
    quantity ??= dec(BigInt(q.contracts));
  }
  const ticker = b.ticker ?? b.symbol;
  if (!ticker) return { ok: false, message: 'The alert needs a "ticker" (or "symbol"), e.g. "MNQ1!".' };

  let sentiment: Sentiment | undefined;
  if (b.sentiment !== undefined) {
    sentiment = SENTIMENT_ALIASES[b.sentiment.trim().toLowerCase()];
    if (!sentiment)
      return {
        ok: false,
        message: `Unknown sentiment "${b.sentiment}": use long, short, flat, bullish or bearish.`,
      };
  }
  const rawAction = b.action ?? b.data;
  let action: Action | undefined;
  if (rawAction !== undefined) {
    action = ACTION_ALIASES[rawAction.trim().toLowerCase()];
    if (!action) {
      return {
        ok: false,
        message: `Unknown action "${rawAction}": use buy, sell, exit, close, flat, cancel or add.`,
      };
    }
  } else if (sentiment === "flat") {
    action = "exit";
  }
  if (!action)
    return {
      ok: false,
      message: 'The alert needs an "action": buy, sell, exit, close, flat, cancel or add.',
    };

  let time: Date | undefined;
  if (b.time !== undefined) {
    time = parseTime(b.time);
    if (!time)
      return {
        ok: false,
        message: `Field "time" is not a real ISO-8601 time or epoch (a date such as 2026-02-30 does not exist): "${String(b.time).slice(0, 40)}".`,
      };
  }

  const signal: Signal = { ticker: ticker.toUpperCase(), action };
  if (sentiment) signal.sentiment = sentiment;
  if (quantity !== undefined) signal.quantity = quantity;
  if (b.price !== undefined) signal.price = b.price;
  if (time) signal.time = time;
  if (b.id !== undefined) signal.alertId = b.id;
  const tp = b.takeProfit ?? b.tp;
  if (tp) signal.takeProfit = tp;
  const sl = b.stopLoss ?? b.sl;
  if (sl) signal.stopLoss = sl;
  if (b.marketPosition) signal.marketPosition = b.marketPosition;
  if (b.prevMarketPosition) signal.prevMarketPosition = b.prevMarketPosition;
  if (b.positionSize !== undefined) signal.positionSize = b.positionSize;
  if (b.comment) signal.comment = b.comment;
  const risk = riskAliases(input as Record<string, unknown>);
  if (!risk.ok) return { ok: false, message: risk.message };
  Object.assign(signal, risk.fields);
  // Issue 14: the stop-management aliases users paste (src/domain/stop-aliases.ts).
  const stops = readStopAliases(input as Record<string, unknown>);
  if (!stops.ok) return { ok: false, message: stops.message };
  if (Object.keys(stops.overrides).length > 0) signal.stops = stops.overrides;
  return { ok: true, signal };
}

/** For "one of these shapes" fields, the message of the shape the sender was evidently aiming at. */
function specific(issue: z.core.$ZodIssue): string {
  if (issue.code !== "invalid_union") return issue.message;
  const branches = issue.errors.map((b) => b[0]).filter((b): b is z.core.$ZodIssue => b !== undefined);
  const meaningful =
    branches.find((b) => b.code !== "invalid_type" && b.code !== "invalid_union") ?? branches[0];
  return meaningful ? specific(meaningful) : "has an unexpected shape";
}

function findPlaceholder(obj: Record<string, unknown>): { key: string; value: string } | undefined {
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === "string") {
      const m = PLACEHOLDER.exec(value);
      if (m) return { key, value: m[0] };
    }
  }
  return undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Half of a UTF-16 pair without its other half: no text encoding (nor the database) can store it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function findControl(obj: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(obj))
    if (typeof value === "string" && (CONTROL.test(value) || LONE_SURROGATE.test(value))) return key;
  return undefined;
}

/** ISO-8601 text, or epoch seconds / milliseconds as a number or digit string. */
export function parseTime(value: string | number): Date | undefined {
  const s = String(value).trim();
  let ms: number;
  if (/^\d{9,13}(\.\d+)?$/.test(s)) {
    const n = Number(s);
    ms = n < 1e11 ? n * 1000 : n;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(s)) {
    // Date.parse rolls impossible dates over ("2026-02-30" becomes March 2): check the fields first.
    if (!realCalendarTime(s)) return undefined;
    ms = Date.parse(s.replace(" ", "T"));
  } else {
    return undefined;
  }
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** Whether the date and time fields of an ISO-8601 text name a real moment (month 1-12, day of that month). */
function realCalendarTime(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/i.exec(s);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m
    .slice(1)
    .map((x) => (x === undefined ? 0 : Number(x)));
  if (month === undefined || day === undefined || year === undefined) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

/** Age of a signal against the server clock, in milliseconds (negative when the sender's clock is ahead). */
export function signalAgeMs(signal: Signal, receivedAt: Date): number | undefined {
  return signal.time ? receivedAt.getTime() - signal.time.getTime() : undefined;
}

/** Plain JSON form of a signal (decimals as strings), for storage and API responses. */
export function signalToJson(s: Signal): Record<string, unknown> {
  const exit = (e?: ExitOverride) =>
    e &&
    Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === "bigint" ? toStr(v as Dec) : v]));
  return {
    ticker: s.ticker,
    action: s.action,
    sentiment: s.sentiment,
    quantity: s.quantity === undefined ? undefined : toStr(s.quantity),
    price: s.price === undefined ? undefined : toStr(s.price),
    time: s.time?.toISOString(),
    id: s.alertId,
    takeProfit: exit(s.takeProfit),
    stopLoss: exit(s.stopLoss),
    marketPosition: s.marketPosition,
    prevMarketPosition: s.prevMarketPosition,
    positionSize: s.positionSize === undefined ? undefined : toStr(s.positionSize),
    comment: s.comment,
    ...riskAliasesJson(s),
    ...stopAliasesToJson(s.stops),
    leader: s.leader,
  };
}

/** Reads back what `signalToJson` stored. */
export function signalFromJson(j: Record<string, unknown>): Signal {
  const result = normalizeSignal(j);
  if (!result.ok) throw new Error(`stored signal no longer parses: ${result.message}`);
  const leader = parseLeaderMove(j.leader);
  return leader ? { ...result.signal, leader } : result.signal;
}

/**
 * Identity of a normalized signal for the dedup window: two deliveries of the same alert (TradingView sends
 * some twice within a millisecond) have the same fingerprint.
 */
export function fingerprint(s: Signal): string {
  return createHash("sha256")
    .update(canonicalJson(signalToJson(s)))
    .digest("hex")
    .slice(0, 32);
}

/** JSON with object keys sorted at every depth and undefined values dropped. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export const isEntryAction = (a: Action) => a === "buy" || a === "sell" || a === "add";
export const isExitAction = (a: Action) => a === "exit" || a === "close" || a === "flat";

/**
 * Signals that only close, reduce or cancel (exit, close, flat, a flat sentiment, a strategy's partial
 * exit, cancel): they run whatever their age, because refusing a late exit leaves the follower in a trade
 * the strategy has left. Only signals that may open or add are refused as stale.
 */
export function runsWhateverItsAge(s: Signal): boolean {
  if (isExitAction(s.action) || s.action === "cancel" || s.sentiment === "flat") return true;
  // "sell" while the strategy stays long (or "buy" while it stays short) is a partial exit.
  return (s.action === "sell" && s.sentiment === "long") || (s.action === "buy" && s.sentiment === "short");
}
