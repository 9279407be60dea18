/**
 * Cancel pacing: Webull allows 1 cancel request per second per App ID. Cancels of one app key run one at
 * a time, each starting at least `spacingMs` after the previous one was answered (the answer comes after
 * the server counted the request, so the gap holds on the server's clock too). Shared by every session of
 * the process that uses the same app key.
 */
import { pause } from "./api";

export class CancelPacer {
  private tail: Promise<unknown> = Promise.resolve();
  private lastDoneAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly spacingMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `task` after every earlier one finished and the spacing elapsed (or `signal` aborted). */
  run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const result = this.tail.then(async () => {
      // Timers may fire a little early against performance.now(): wait until the gap really elapsed.
      for (let wait = this.lastDoneAt + this.spacingMs - this.now(); wait > 0 && !signal.aborted; ) {
        await pause(Math.ceil(wait), signal);
        wait = this.lastDoneAt + this.spacingMs - this.now();
      }
      try {
        return await task();
      } finally {
        this.lastDoneAt = this.now();
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Pushes the next start back, after the server said 429 despite the pacing. */
  backOff(ms: number): void {
    this.lastDoneAt = Math.max(this.lastDoneAt, this.now() + ms - this.spacingMs);
  }
}

const pacers = new Map<string, CancelPacer>();

export function cancelPacerFor(appKey: string, spacingMs: number): CancelPacer {
  let pacer = pacers.get(appKey);
  if (!pacer) {
    pacer = new CancelPacer(spacingMs);
    pacers.set(appKey, pacer);
  }
  return pacer;
}
