/**
 * Fault injection and rate limiting for the Webull simulator. Paths are exact request paths such as
 * "/openapi/trade/order/place"; "*" matches every path.
 */

export interface ErrorBody {
  error_code: string;
  message: string;
}

interface Counted<T> {
  value: T;
  remaining: number;
}

export type ReplyFault =
  | { kind: "none" }
  | { kind: "delay"; ms: number }
  /** Process the request but never answer it. */
  | { kind: "swallow" };

export type PreFault =
  | { kind: "none" }
  /** Answer with this status and body without processing. */
  | { kind: "reject"; status: number; body: ErrorBody };

export class Faults {
  private readonly delays = new Map<string, Counted<number>>();
  private readonly swallows = new Map<string, number>();
  private readonly rejects = new Map<string, { status: number; body: ErrorBody }[]>();
  private readonly limited = new Map<string, number>();

  delayReplies(path: string, ms: number, count = Number.POSITIVE_INFINITY): void {
    this.delays.set(path, { value: ms, remaining: count });
  }

  swallowReplies(path: string, count: number): void {
    this.swallows.set(path, (this.swallows.get(path) ?? 0) + count);
  }

  rejectNext(path: string, body: ErrorBody, status = 417): void {
    const queue = this.rejects.get(path) ?? [];
    queue.push({ status, body });
    this.rejects.set(path, queue);
  }

  rateLimit(path: string, count: number): void {
    this.limited.set(path, (this.limited.get(path) ?? 0) + count);
  }

  clear(): void {
    this.delays.clear();
    this.swallows.clear();
    this.rejects.clear();
    this.limited.clear();
  }

  /** Faults that replace processing: a forced 429 first, then a queued rejection. */
  before(path: string): PreFault {
    for (const key of [path, "*"]) {
      const left = this.limited.get(key) ?? 0;
      if (left > 0) {
        this.limited.set(key, left - 1);
        return {
          kind: "reject",
          status: 429,
          body: { error_code: "TOO_MANY_REQUESTS", message: "rate limit exceeded (injected)" },
        };
      }
    }
    for (const key of [path, "*"]) {
      const next = this.rejects.get(key)?.shift();
      if (next) return { kind: "reject", ...next };
    }
    return { kind: "none" };
  }

  /** What happens to the reply of a processed request. */
  after(path: string): ReplyFault {
    for (const key of [path, "*"]) {
      const left = this.swallows.get(key) ?? 0;
      if (left > 0) {
        this.swallows.set(key, left - 1);
        return { kind: "swallow" };
      }
    }
    for (const key of [path, "*"]) {
      const delay = this.delays.get(key);
      if (delay && delay.remaining > 0) {
        delay.remaining -= 1;
        return { kind: "delay", ms: delay.value };
      }
    }
    return { kind: "none" };
  }
}

export interface RateRule {
  limit: number;
  windowMs: number;
}

/** Documented limit: cancel is 1 request per second per App ID (reference/webull.md, DOC W3). */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateRule>> = {
  "/openapi/trade/order/cancel": { limit: 1, windowMs: 1000 },
};

/** Sliding-window limits per (app key, path), counted on requests that passed authentication. */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly rules: Readonly<Record<string, RateRule>>,
    private readonly now: () => number,
  ) {}

  /** True when the request may proceed (and counts it); false means answer 429. */
  admit(appKey: string, path: string): boolean {
    const rule = this.rules[path];
    if (!rule) return true;
    const key = `${appKey}\u0000${path}`;
    const now = this.now();
    const recent = (this.hits.get(key) ?? []).filter((at) => now - at < rule.windowMs);
    if (recent.length >= rule.limit) {
      this.hits.set(key, recent);
      return false;
    }
    recent.push(now);
    this.hits.set(key, recent);
    return true;
  }
}
