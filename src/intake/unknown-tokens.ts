/**
 * Requests no recorder owns: an unknown token, or a request refused before the token lookup (too large, cut
 * short, sender not allowed). Nobody's alert is lost by limiting them, and unlimited they fill the disk (64
 * connections posting 16 KB bodies wrote ~48 MB/s into the raw log). So, per source address (an IPv6
 * sender by its /64):
 *
 * - a token bucket (UNKNOWN_TOKEN_RATE_PER_MINUTE, UNKNOWN_TOKEN_BURST): within it, the request gets a raw-log
 *   row of its own, as long as the relay-wide budget of such rows (UNKNOWN_TOKEN_ROWS_PER_MINUTE) lasts;
 * - past it, an unknown token is answered 429 (`rate_limited`, same envelope) and other refusals keep their
 *   status; either way the request is counted into one aggregate row per (minute, address, outcome, reply)
 *   with its count, bytes, first/last arrival and token prefixes (flood-tally.ts), so a flood writes
 *   O(addresses x minutes) rows, not O(requests). The reply waits for that count to be written, as any
 *   rejection waits for its row.
 *
 * Their body is stored only as its first 256 bytes (`body_bytes` keeps the full size); requests to known
 * tokens keep their whole body. Memory is bounded: at most `maxAddresses` buckets (the least recently seen
 * address is forgotten first) and `maxSourcesPerMinute` aggregate rows per minute (see flood-tally.ts).
 *
 * @example
 * const guard = new UnknownTokens({ sql, logger, perMinute: 30, burst: 10, rowsPerMinute: 120 });
 * const counted = guard.admit(raw, "unknown_token", 404, "Unknown webhook URL");
 * if (counted) return counted.reply; // after `await counted.written` (bounded)
 */
import { isIP } from "node:net";
import type { Sql } from "../db/client";
import type { RawWebhook, WebhookOutcome } from "../db/webhooks";
import type { Logger } from "../log";
import { FloodTally } from "./flood-tally";
import type { IntakeReply } from "./intake";

export interface UnknownTokensOptions {
  sql: Sql;
  logger: Logger;
  /** Per source address: requests no recorder owns, per minute, and the burst allowed. */
  perMinute: number;
  burst: number;
  /** Relay-wide: raw-log rows of their own for such requests, per minute (also the burst). */
  rowsPerMinute: number;
  /** Bytes of their body stored (default 256). */
  prefixBytes?: number;
  /** Most addresses tracked at once (default 10,000). */
  maxAddresses?: number;
  /** Most aggregate rows per minute and outcome; further addresses share one row, source `other`. */
  maxSourcesPerMinute?: number;
  now?: () => number;
}

/** A request counted into an aggregate row instead of a row of its own. */
export interface CountedRequest {
  reply: IntakeReply;
  /** Resolves once its count is written (or given up after retries, which is logged). */
  written: Promise<void>;
}

export const UNKNOWN_TOKEN_LIMITED =
  "Too many requests to unknown webhook URLs from this address; slow down. Counted, not stored one by one.";

export class UnknownTokens {
  private readonly addresses: BoundedBuckets;
  private readonly rows: BoundedBuckets;
  private readonly tally: FloodTally;

  constructor(private readonly o: UnknownTokensOptions) {
    const now = o.now ?? Date.now;
    this.addresses = new BoundedBuckets(o.perMinute, o.burst, o.maxAddresses ?? 10_000, now);
    this.rows = new BoundedBuckets(o.rowsPerMinute, o.rowsPerMinute, 1, now);
    this.tally = new FloodTally({
      sql: o.sql,
      logger: o.logger,
      maxSourcesPerMinute: o.maxSourcesPerMinute ?? 256,
    });
  }

  /**
   * Decides how a request no recorder owns is recorded. Cuts `raw.body` to its prefix in every case;
   * returns undefined when it gets a row of its own (the caller writes it), else the reply and the pending
   * count it was added to.
   */
  admit(
    raw: RawWebhook,
    outcome: WebhookOutcome,
    status: number,
    message: string,
  ): CountedRequest | undefined {
    if (raw.body !== null) raw.body = bodyPrefix(raw.body, this.o.prefixBytes ?? 256);
    const source = addressKey(raw.sourceIp);
    const withinAddress = this.addresses.take(source ?? "");
    if (withinAddress && this.rows.take("*")) return undefined;
    const limited = !withinAddress && outcome === "unknown_token";
    const reply = limited
      ? { status: 429, code: "rate_limited", message: UNKNOWN_TOKEN_LIMITED }
      : { status, code: outcome, message };
    const written = this.tally.add({
      at: raw.receivedAt,
      source,
      outcome,
      httpStatus: reply.status,
      error: reply.message,
      bytes: raw.bodyBytes,
      tokenPrefix: raw.tokenPrefix,
    });
    return {
      reply: {
        status: reply.status,
        body: { status: "rejected", error: { code: reply.code, message: reply.message } },
      },
      written,
    };
  }

  /** Stops retrying counts that could not be written (shutdown, after the intake's flush). */
  close(): void {
    this.tally.close();
  }
}

/** Token buckets by key, at most `max` keys: the key seen least recently is forgotten first. */
export class BoundedBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  take(key: string): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    // Re-inserted on every use, so the Map's order is least recently seen first.
    this.buckets.delete(key);
    b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, t - b.at) * this.perMinute) / 60_000);
    b.at = t;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > this.max) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    return ok;
  }
}

/** The sender as the limit sees it: an IPv4 address as is, an IPv6 one by its /64 (one host's usual share). */
export function addressKey(address: string | null): string | null {
  if (!address) return null;
  if (isIP(address) !== 6) return address;
  const [head = "", tail] = address.toLowerCase().split("::");
  const groups = head ? head.split(":") : [];
  if (tail !== undefined) {
    const rest = tail ? tail.split(":").reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0) : 0;
    while (groups.length < 8 - rest) groups.push("0");
  }
  const prefix = groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16));
  return `${prefix.join(":")}::/64`;
}

/** The first `max` bytes of `text` in UTF-8, never cutting a character in two. */
export function bodyPrefix(text: string, max: number): string {
  if (text.length * 3 <= max) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end);
}
