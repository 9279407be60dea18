/**
 * Retention of the raw webhook log, in the background (every 5 minutes, the first run a minute after start):
 *
 * 1. Age: rows received more than WEBHOOK_LOG_DAYS ago are deleted, oldest first. That includes the raw
 *    row of an accepted signal: the signal itself stays (its normalized alert is in `signals.payload`) and
 *    its `webhook_id` becomes null (foreign key `on delete set null`).
 * 2. Size: when the table's footprint on disk (pg_total_relation_size) is over WEBHOOK_LOG_MAX_MB, the rows
 *    are measured (pg_column_size plus an estimated per-row overhead for the tuple header and index
 *    entries) and the oldest rows are deleted until the estimate is at 90% of the cap, so the next prune is
 *    not due at once. Rows of accepted signals younger than WEBHOOK_LOG_DAYS are never deleted for size: they
 *    count against the cap, and if they alone exceed it a warning says so. Space freed by deletes is reused
 *    by new rows (autovacuum), so the disk footprint stops growing rather than shrinking; between measures
 *    the job keeps an upper bound (the last measure plus the rows added since) and measures again only when
 *    that bound is over the cap.
 *
 * Deletes go in batches of 1,000 rows, each its own short statement, with a pause between batches; nothing
 * holds a lock for long, and intake (which only inserts new rows) never waits on them. Two relays on one
 * database never prune at once: a run takes a session advisory lock and skips when another relay holds it.
 * Every run that deletes anything logs `WebhookLogPruned` with its counts.
 */
import type { Sql } from "../db/client";
import {
  deleteWebhooksReceivedBefore,
  deleteWebhooksUpTo,
  measureWebhookLog,
  webhookBytesAfter,
  webhookLogDiskBytes,
} from "../db/webhooks";
import type { Logger } from "../log";

const LOCK_KEY = 7_316_006; // arbitrary, stable: "webhook log retention"

export interface RetentionOptions {
  sql: Sql;
  logger: Logger;
  /** WEBHOOK_LOG_DAYS */
  days: number;
  /** WEBHOOK_LOG_MAX_MB, in bytes */
  maxBytes: number;
  intervalMs?: number;
  firstRunMs?: number;
  batchSize?: number;
  pauseMs?: number;
  now?: () => Date;
}

export interface PruneReport {
  byAge: number;
  /** Raw rows of accepted signals deleted for age (their signals now have no webhook row). */
  signalsUnlinked: number;
  bySize: number;
  /** Footprint on disk before the run (pg_total_relation_size). */
  diskBytes: number;
  /** Estimated bytes of the rows after the run, when they were measured. */
  estimatedBytes?: number;
  durationMs: number;
}

/** After a size prune the estimate is at this share of the cap. */
const PRUNE_TO = 0.9;

export class WebhookLogRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  /** Upper bound of the log's estimated size: the last measure plus what was added after `maxId`. */
  private bound: { bytes: number; maxId: string } | undefined;

  constructor(private readonly o: RetentionOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.o.firstRunMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass (tests call it directly); undefined when another relay is pruning. */
  async runOnce(): Promise<PruneReport | undefined> {
    const run = this.prune();
    this.running = run;
    try {
      return await run;
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce()
        .catch((error) =>
          this.o.logger.warn(
            { event: "WebhookLogPruneFailed", error: String(error) },
            "pruning the raw webhook log failed; trying again at the next run",
          ),
        )
        .finally(() => this.schedule(this.o.intervalMs ?? 300_000));
    }, ms);
    this.timer.unref();
  }

  private async prune(): Promise<PruneReport | undefined> {
    const conn = await this.o.sql.reserve();
    try {
      const [lock] = await conn`select pg_try_advisory_lock(${LOCK_KEY}) as ok`;
      if (!lock?.ok) return undefined;
      try {
        return await this.pruneLocked(conn);
      } finally {
        await conn`select pg_advisory_unlock(${LOCK_KEY})`;
      }
    } finally {
      conn.release();
    }
  }

  private async pruneLocked(sql: Sql): Promise<PruneReport> {
    const started = Date.now();
    const now = this.o.now?.() ?? new Date();
    const batch = this.o.batchSize ?? 1_000;
    const report: PruneReport = { byAge: 0, signalsUnlinked: 0, bySize: 0, diskBytes: 0, durationMs: 0 };

    const cutoff = new Date(now.getTime() - this.o.days * 86_400_000);
    for (;;) {
      const d = await deleteWebhooksReceivedBefore(sql, cutoff, batch);
      report.byAge += d.deleted;
      report.signalsUnlinked += d.accepted;
      if (d.deleted < batch || this.stopped) break;
      await this.pause();
    }

    report.diskBytes = await webhookLogDiskBytes(sql);
    if (report.diskBytes > this.o.maxBytes && !this.stopped && (await this.maybeOver(sql))) {
      const m = await measureWebhookLog(sql, Math.floor(this.o.maxBytes * PRUNE_TO));
      let bytes = m.totalBytes;
      if (m.cutoffId !== null) {
        let after = "0";
        for (;;) {
          const d = await deleteWebhooksUpTo(sql, after, m.cutoffId, batch);
          report.bySize += d.deleted;
          bytes -= d.bytes;
          if (d.lastId === null || d.deleted < batch || this.stopped) break;
          after = d.lastId;
          await this.pause();
        }
      }
      report.estimatedBytes = bytes;
      this.bound = { bytes, maxId: m.maxId };
      if (m.keptBytes > this.o.maxBytes)
        this.o.logger.warn(
          { event: "WebhookLogOverCap", keptBytes: m.keptBytes, maxBytes: this.o.maxBytes },
          `the raw rows of accepted signals younger than ${this.o.days} days alone exceed WEBHOOK_LOG_MAX_MB; they are kept until they age out`,
        );
    }
    report.durationMs = Date.now() - started;
    if (report.byAge + report.bySize > 0)
      this.o.logger.info(
        { event: "WebhookLogPruned", ...report, days: this.o.days, maxBytes: this.o.maxBytes },
        "pruned the raw webhook log",
      );
    return report;
  }

  /** False only when the upper bound kept since the last measure shows the rows still fit the cap. */
  private async maybeOver(sql: Sql): Promise<boolean> {
    if (!this.bound) return true;
    const grown = await webhookBytesAfter(sql, this.bound.maxId);
    this.bound = { bytes: this.bound.bytes + grown.bytes, maxId: grown.maxId };
    return this.bound.bytes > this.o.maxBytes;
  }

  private pause(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.o.pauseMs ?? 50).unref());
  }
}
