/** Fault controls of the REST side and the sliding-window rate limiter. */

export interface Rejection {
  errorCode: number;
  errorMessage: string;
}

export class Faults {
  private readonly delays = new Map<string, number>();
  private readonly swallows = new Map<string, number>();
  private readonly rejections = new Map<string, Rejection[]>();
  private forced429 = 0;

  delay(path: string, ms: number): void {
    this.delays.set(path, ms);
  }

  swallow(path: string, count: number): void {
    this.swallows.set(path, (this.swallows.get(path) ?? 0) + count);
  }

  reject(path: string, rejection: Rejection): void {
    const list = this.rejections.get(path) ?? [];
    list.push(rejection);
    this.rejections.set(path, list);
  }

  force429(count: number): void {
    this.forced429 += count;
  }

  clear(): void {
    this.delays.clear();
    this.swallows.clear();
    this.rejections.clear();
    this.forced429 = 0;
  }

  takeForced429(): boolean {
    if (this.forced429 <= 0) return false;
    this.forced429--;
    return true;
  }

  takeRejection(path: string): Rejection | undefined {
    const list = this.rejections.get(path);
    const next = list?.shift();
    if (list && list.length === 0) this.rejections.delete(path);
    return next;
  }

  takeSwallow(path: string): boolean {
    const n = this.swallows.get(path) ?? 0;
    if (n <= 0) return false;
    if (n === 1) this.swallows.delete(path);
    else this.swallows.set(path, n - 1);
    return true;
  }

  delayFor(path: string): number {
    return this.delays.get(path) ?? 0;
  }
}

/** Sliding window: at most `max` accepted requests per key in any `windowMs`. Refused ones do not count. */
export class SlidingWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  allow(key: string): boolean {
    const now = this.now();
    const list = (this.hits.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length >= this.max) {
      this.hits.set(key, list);
      return false;
    }
    list.push(now);
    this.hits.set(key, list);
    return true;
  }
}
