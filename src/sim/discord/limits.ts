/**
 * Rate limits as Discord applies them: a fixed-window bucket per route and major parameter (one per
 * channel for message creation), reported on every reply through X-RateLimit-* headers, and a 429 when
 * a client ignores them. Forced 429s (fault control) use the same headers and body.
 */

export interface BucketRule {
  limit: number;
  windowMs: number;
}

export interface RateLimitReply {
  status: 429;
  headers: Record<string, string>;
  body: { message: string; retry_after: number; global: boolean; code?: number };
}

interface Bucket {
  hash: string;
  count: number;
  resetAt: number;
}

const secs = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

export class Buckets {
  private readonly buckets = new Map<string, Bucket>();
  private globalUntil = 0;

  constructor(
    private readonly rule: BucketRule,
    private readonly now: () => number,
  ) {}

  /** A global 429 while a forced global limit lasts. */
  globalLimit(): RateLimitReply | undefined {
    const now = this.now();
    if (now >= this.globalUntil) return undefined;
    const b = { hash: "global", count: this.rule.limit, resetAt: this.globalUntil };
    return limitedReply(this.globalUntil - now, {
      global: true,
      scope: "global",
      bucket: b,
      rule: this.rule,
    });
  }

  /**
   * Counts one request on `route` (e.g. "POST /channels/:id/messages") for its major parameter (the
   * channel id); a 429 reply when that bucket is empty, else the headers to send.
   */
  take(route: string, major: string): { limited?: RateLimitReply; headers: Record<string, string> } {
    const now = this.now();
    const key = `${route} ${major}`;
    let b = this.buckets.get(key);
    if (!b || now >= b.resetAt) {
      b = { hash: hashOf(route), count: 0, resetAt: now + this.rule.windowMs };
      this.buckets.set(key, b);
    }
    if (b.count >= this.rule.limit) {
      return {
        limited: limitedReply(b.resetAt - now, { global: false, scope: "user", bucket: b, rule: this.rule }),
        headers: {},
      };
    }
    b.count++;
    return { headers: headersOf(b, this.rule, now) };
  }

  /**
   * A forced 429 on `route`/`major`: its bucket is emptied for `retryAfterMs`, so a client that retries
   * early is refused again (and the early retry is on record).
   */
  forced(route: string, major: string, retryAfterMs: number, global: boolean): RateLimitReply {
    const now = this.now();
    const key = `${route} ${major}`;
    const b = { hash: hashOf(route), count: this.rule.limit, resetAt: now + retryAfterMs };
    if (global) this.globalUntil = b.resetAt;
    else this.buckets.set(key, b);
    return limitedReply(retryAfterMs, {
      global,
      scope: global ? "global" : "user",
      bucket: b,
      rule: this.rule,
    });
  }
}

function headersOf(b: Bucket, rule: BucketRule, now: number): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(rule.limit),
    "X-RateLimit-Remaining": String(Math.max(0, rule.limit - b.count)),
    "X-RateLimit-Reset": secs(b.resetAt),
    "X-RateLimit-Reset-After": secs(b.resetAt - now),
    "X-RateLimit-Bucket": b.hash,
  };
}

function limitedReply(
  retryAfterMs: number,
  o: { global: boolean; scope: string; bucket: Bucket; rule: BucketRule },
): RateLimitReply {
  const retryAfter = Math.max(0, retryAfterMs) / 1000;
  const headers: Record<string, string> = {
    // Discord sends whole seconds in Retry-After and the precise value in the body and Reset-After.
    "Retry-After": String(Math.ceil(retryAfter)),
    "X-RateLimit-Scope": o.scope,
  };
  if (o.global) headers["X-RateLimit-Global"] = "true";
  else {
    headers["X-RateLimit-Limit"] = String(o.rule.limit);
    headers["X-RateLimit-Remaining"] = "0";
    headers["X-RateLimit-Reset"] = secs(o.bucket.resetAt);
    headers["X-RateLimit-Reset-After"] = retryAfter.toFixed(3);
    headers["X-RateLimit-Bucket"] = o.bucket.hash;
  }
  return {
    status: 429,
    headers,
    body: { message: "You are being rate limited.", retry_after: retryAfter, global: o.global },
  };
}

function hashOf(key: string): string {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16).padStart(8, "0");
}
