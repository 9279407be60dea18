/**
 * Client-side sliding window for the gateway's 200 requests / 60 s.
 *
 * A request holds a slot from the moment it is sent until `windowMs` after its reply arrived. The server
 * saw the request at some moment between those two, so a new request sent after a slot is freed can
 * never make the server count more than `max` in any window, whatever the network delay.
 */
export class RateLimitTimeout extends Error {
  constructor(waitedMs: number) {
    super(`not sent: the ProjectX rate limit stayed exhausted for ${Math.round(waitedMs / 1000)} s`);
  }
}

interface Waiter {
  grant: () => void;
  fail: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class RequestWindow {
  /** When each finished request's slot frees up. */
  private readonly freesAt: number[] = [];
  private inFlight = 0;
  private pausedUntil = 0;
  private readonly waiters: Waiter[] = [];
  private wakeTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits for a slot; resolves with the release to call once the reply (or failure) arrived. */
  acquire(maxWaitMs: number): Promise<() => void> {
    if (this.closed) return Promise.reject(new Error("session stopped"));
    return new Promise((resolve, reject) => {
      const started = this.now();
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          this.inFlight++;
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.inFlight--;
            this.freesAt.push(this.now() + this.windowMs);
            this.pump();
          });
        },
        fail: (error) => {
          clearTimeout(waiter.timer);
          reject(error);
        },
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new RateLimitTimeout(this.now() - started));
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** After a 429: nobody sends before `ms` from now. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const w of this.waiters.splice(0)) w.fail(new Error("session stopped"));
  }

  private pump(): void {
    const now = this.now();
    while (this.freesAt.length > 0 && (this.freesAt[0] ?? 0) <= now) this.freesAt.shift();
    while (
      this.waiters.length > 0 &&
      now >= this.pausedUntil &&
      this.inFlight + this.freesAt.length < this.max
    ) {
      this.waiters.shift()?.grant();
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.waiters.length === 0) return;
    const next = Math.max(this.pausedUntil, this.freesAt[0] ?? Number.POSITIVE_INFINITY);
    if (Number.isFinite(next)) this.wakeTimer = setTimeout(() => this.pump(), Math.max(1, next - now));
  }
}
