/**
 * Text helpers for messages read on a phone: money with sign and two decimals (exact, from decimal
 * strings), short durations, markdown-safe names, and `Scrubber`, which removes anything that looks like
 * a secret from text that came from outside (broker errors, reasons) and defuses @everyone/@here.
 */
import { abs, isPositive, toStr, tryDec } from "../domain/decimal";

/** "-612.5" -> "-612.50", "1234.5" -> "+1,234.50"; at least two decimals, never rounded. */
export function money(value: string, signed = true): string {
  const d = tryDec(value);
  if (d === undefined) return value;
  const [whole = "0", frac = ""] = toStr(abs(d)).split(".");
  const decimals = frac.replace(/0+$/, "").padEnd(2, "0");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = d < 0n ? "-" : signed && isPositive(d) ? "+" : "";
  return `${sign}${grouped}.${decimals}`;
}

/** "45 ms", "1.2 s", "3m 05s", "2h 04m". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Nearest-rank percentile of whole milliseconds; undefined for an empty list. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Escapes Discord markdown in a name so "My_Account_2" is not shown in italics. */
export function md(text: string): string {
  return text.replace(/([\\*_~`|>])/g, "\\$1");
}

/** Side and size of a signed position: "long 2", "short 1". */
export function position(netQty: number): string {
  if (netQty === 0) return "size unknown";
  return `${netQty > 0 ? "long" : "short"} ${Math.abs(netQty)}`;
}

/** A decimal price string in its shortest exact form ("21000.250" -> "21000.25"); "?" when missing. */
export function price(value: string | null): string {
  const d = value ? tryDec(value) : undefined;
  return d === undefined ? "?" : toStr(d);
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Bot|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, "$1 [redacted]"],
  [
    /\b(token|access_?token|refresh_?token|password|passwd|secret|api_?key|app_?secret|credentials?|authorization|cid|sec|p-ticket)(["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi,
    "$1$2[redacted]",
  ],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, "[redacted]"],
  [/\/webhook\/[^\s/?#"']+/g, "/webhook/[redacted]"],
  [/\b[A-Fa-f0-9]{32,}\b/g, "[redacted]"],
  [/\b[A-Za-z0-9+/_-]{40,}={0,2}/g, "[redacted]"],
];

/**
 * Removes secrets from text before it goes into a message: the exact values it was given (the bot token,
 * any configured secret) and anything shaped like a credential. Also defuses mass mentions.
 */
export class Scrubber {
  private readonly exact: string[];

  constructor(secrets: (string | undefined)[] = []) {
    this.exact = secrets.filter((s): s is string => typeof s === "string" && s.length >= 6);
  }

  clean(text: string): string {
    let out = text;
    for (const s of this.exact) out = out.split(s).join("[redacted]");
    for (const [re, by] of SECRET_PATTERNS) out = out.replace(re, by);
    return out.replace(/@(everyone|here)/g, "@\u200b$1");
  }
}
