/**
 * Group commit at intake: alerts that arrive while earlier ones are being committed are committed
 * together, by one statement in one transaction (src/db/accept-batch.ts), so they share one round trip
 * and one WAL flush. Each caller still gets its own result, and only once the COMMIT of its batch is done.
 *
 * When to commit: as soon as a commit slot is free. The only wait is a microtask (alerts handed over by
 * the same synchronous burst go together), never a timer, so a lone alert is committed at once, alone, as
 * before. While `concurrency` batches are in flight (one by default), newcomers queue and leave together
 * when one of them finishes, at most `maxBatch` at a time, in arrival order. (`setImmediate` was tried:
 * it gathered a little more, but sending a query a loop turn later made postgres.js's recovery after a
 * database outage stall the next query for seconds in test R09.)
 *
 * Failures: a batch the database refused (an ERROR: the transaction rolled back, nothing of it is
 * committed) is committed again one alert at a time, in order, so one bad alert fails alone and every
 * other gets its own honest answer. Any other failure (connection lost, unknown outcome) is handed to
 * every caller of the batch: the intake then looks whether its signal committed before answering 503.
 *
 * A batch still in flight after `releaseAfterMs` (a stalled database or a dead socket) keeps running but
 * frees its slot, so the alerts behind it try another connection instead of waiting on it.
 */
import postgres from "postgres";
import { acceptSignals } from "../db/accept-batch";
import type { Sql } from "../db/client";
import { type AcceptInput, type AcceptResult, acceptSignal } from "../db/signals";
import type { Logger } from "../log";

export interface GroupCommitOptions {
  /** Batches in flight at once (each on its own connection). */
  concurrency: number;
  /** The most alerts in one batch. */
  maxBatch: number;
  /** A batch in flight this long frees its slot (it keeps running). */
  releaseAfterMs: number;
  /** Called with each batch's size as it is sent (metrics). */
  onBatch?: (size: number) => void;
}

export interface GroupCommitStats {
  /** Statements sent: batches of one alert included. */
  batches: number;
  alerts: number;
  largest: number;
  /** Batches refused by the database and committed again one alert at a time. */
  split: number;
  /** How many batches had each size. */
  sizes: Map<number, number>;
}

interface Waiting {
  input: AcceptInput;
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
}

/** An error the server raised inside the statement: its transaction rolled back, nothing committed. */
export function rolledBack(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.severity === "ERROR";
}

export class GroupCommitter {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly counts: GroupCommitStats = {
    batches: 0,
    alerts: 0,
    largest: 0,
    split: 0,
    sizes: new Map(),
  };

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly o: GroupCommitOptions,
  ) {}

  /** Commits one alert (with whatever else is waiting); resolves after its batch's COMMIT. */
  accept(input: AcceptInput): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled && this.inFlight < this.o.concurrency) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counts, sizes: new Map(this.counts.sizes) };
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.o.concurrency) {
      const batch = this.queue.splice(0, this.o.maxBatch);
      this.inFlight++;
      let released = false;
      const release = () => {
        clearTimeout(watchdog);
        if (released) return;
        released = true;
        this.inFlight--;
        this.drain();
      };
      const watchdog = setTimeout(release, this.o.releaseAfterMs);
      watchdog.unref();
      void this.commit(batch, release);
    }
  }

  /**
   * Commits a batch. `release` frees its slot: called as soon as the database has answered and before the
   * callers are, so the next batch is on the wire while this one's replies are written.
   */
  private async commit(batch: Waiting[], release: () => void): Promise<void> {
    const c = this.counts;
    c.batches++;
    c.alerts += batch.length;
    c.largest = Math.max(c.largest, batch.length);
    c.sizes.set(batch.length, (c.sizes.get(batch.length) ?? 0) + 1);
    this.o.onBatch?.(batch.length);
    const [only] = batch;
    if (only && batch.length === 1) return this.one(only, release);
    let results: AcceptResult[];
    try {
      results = await acceptSignals(
        this.sql,
        batch.map((w) => w.input),
      );
    } catch (error) {
      if (!rolledBack(error)) {
        release();
        for (const w of batch) w.reject(error);
        return;
      }
      c.split++;
      this.logger.warn(
        { event: "GroupCommitSplit", alerts: batch.length, error: String(error) },
        "a batch of alerts was refused by the database; committing them one by one",
      );
      // In order, holding the slot: the batch's alerts are still committed before the ones behind them.
      for (const w of batch) await this.one(w);
      release();
      return;
    }
    release();
    for (const [i, w] of batch.entries()) w.resolve(results[i] as AcceptResult);
  }

  private async one(w: Waiting, release?: () => void): Promise<void> {
    let result: AcceptResult;
    try {
      result = await acceptSignal(this.sql, w.input);
    } catch (error) {
      release?.();
      w.reject(error);
      return;
    }
    release?.();
    w.resolve(result);
  }
}
