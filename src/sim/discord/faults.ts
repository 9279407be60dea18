/**
 * Fault injection for the Discord fake: forced rate limits, forced error replies and slow replies, each
 * for the next N requests. Being "down" (refusing connections or hanging requests) lives in the server
 * itself because it acts before a request is read.
 */
import type { ErrorBody } from "./wire";

export interface ForcedRateLimit {
  retryAfterMs: number;
  global: boolean;
  /** Only requests to this channel's messages; any request when unset. */
  channelId?: string;
}

export interface ForcedError {
  status: number;
  body: ErrorBody;
  channelId?: string;
}

/** Removes and returns the first entry that applies to a request on `channelId`. */
function take<T extends { channelId?: string }>(list: T[], channelId: string | undefined): T | undefined {
  const i = list.findIndex((x) => x.channelId === undefined || x.channelId === channelId);
  return i < 0 ? undefined : list.splice(i, 1)[0];
}

export class Faults {
  private limits: ForcedRateLimit[] = [];
  private errors: ForcedError[] = [];
  private delay: { ms: number; remaining: number; channelId?: string } | undefined;

  rateLimitNext(count: number, o: { retryAfterMs: number; global?: boolean }): void {
    for (let i = 0; i < count; i++)
      this.limits.push({ retryAfterMs: o.retryAfterMs, global: o.global ?? false });
  }

  failNext(count: number, error: ForcedError): void {
    for (let i = 0; i < count; i++) this.errors.push(error);
  }

  delayReplies(ms: number, count = Number.POSITIVE_INFINITY, channelId?: string): void {
    this.delay = ms > 0 ? { ms, remaining: count, ...(channelId ? { channelId } : {}) } : undefined;
  }

  clear(): void {
    this.limits = [];
    this.errors = [];
    this.delay = undefined;
  }

  /** A forced 429 for this request, if one is queued (checked after authentication). */
  takeRateLimit(channelId: string | undefined): ForcedRateLimit | undefined {
    return take(this.limits, channelId);
  }

  takeError(channelId: string | undefined): ForcedError | undefined {
    return take(this.errors, channelId);
  }

  /** How long to hold this reply back (the request is processed first). */
  takeDelay(channelId: string | undefined): number {
    const d = this.delay;
    if (!d || (d.channelId !== undefined && d.channelId !== channelId)) return 0;
    d.remaining--;
    if (d.remaining <= 0) this.delay = undefined;
    return d.ms;
  }
}
