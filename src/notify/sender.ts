/**
 * The sender loop, on its own timers and never on the trading path: packs waiting outbox items into
 * messages (urgent ones at once, others after the batching window), claims due messages (urgent first,
 * one in flight per target) and delivers them through the port. Failures go back to the outbox with
 * exponential back-off; after `maxAttempts` a message is abandoned and logged. Rate-limit waits and
 * shutdown do not use up attempts.
 */
import type { Sql } from "../db/client";
import type { Logger } from "../log";
import type { Scrubber } from "./format";
import {
  type ClaimedMessage,
  claimMessages,
  markFailed,
  markRetry,
  markSent,
  type PlannedMessage,
  packItems,
  pruneOutbox,
  type UnpackedItem,
} from "./outbox";
import { holdForSummary, packBatch, packUrgent } from "./pack";
import { type Notifier, targetKey } from "./port";

export interface SenderTuning {
  /** Non-urgent items for a target wait this long for company before they are packed (default 2 s). */
  batchWindowMs: number;
  /** An execution failure waits up to this long for its signal's summary to share its message (15 s). */
  failureHoldMs: number;
  /** How often the outbox is polled for retries and other relays' items (default 1 s). */
  pollMs: number;
  /** Targets delivered to at once (default 4). */
  maxInFlight: number;
  /** Deliveries tried before a message is abandoned (default 12, about 25 minutes of back-off). */
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claimed message is ours before another relay may take it over. */
  leaseMs: number;
  /** Sent and abandoned messages are kept this many days. */
  keepDays: number;
}

export interface SenderOptions extends SenderTuning {
  sql: Sql;
  logger: Logger;
  notifier: Notifier;
  scrubber: Scrubber;
  instanceId: string;
}

const PACK_LIMIT = 2000;
const ERROR_LOG_EVERY_MS = 30_000;
const STOP_WAIT_MS = 5_000;

export class Sender {
  private readonly inFlight = new Map<string, Promise<void>>();
  private controller = new AbortController();
  private poll: NodeJS.Timeout | undefined;
  private prune: NodeJS.Timeout | undefined;
  private wake: { at: number; timer: NodeJS.Timeout } | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private running = false;
  private firstClaim = true;
  private lastErrorLog = 0;

  constructor(private readonly o: SenderOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.firstClaim = true;
    this.controller = new AbortController();
    this.poll = setInterval(() => this.kick(), this.o.pollMs);
    this.poll.unref();
    this.prune = setInterval(() => void this.pruneOld(), 6 * 3600_000);
    this.prune.unref();
    void this.pruneOld();
    this.kick();
  }

  /** Stops claiming, aborts requests in flight (their messages go back to the outbox) and waits. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.poll);
    clearInterval(this.prune);
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = undefined;
    this.controller.abort();
    await this.pumping;
    // A request sleeping out a rate limit inside discord.js ignores the abort; its message keeps its lease
    // and is taken back by the next start (same instance) or by another relay when the lease lapses.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]),
      new Promise((r) => {
        timer = setTimeout(r, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Runs a pass now (coalesced with one already running). */
  kick(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  /** Runs a pass in `ms` unless one is already due sooner. */
  kickAfter(ms: number): void {
    if (!this.running) return;
    const at = Date.now() + ms;
    if (this.wake && this.wake.at <= at) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(() => {
      this.wake = undefined;
      this.kick();
    }, ms);
    timer.unref();
    this.wake = { at, timer };
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        await packItems(this.o.sql, PACK_LIMIT, (items) => this.plan(items));
        const claimed = await claimMessages(this.o.sql, {
          instanceId: this.o.instanceId,
          leaseMs: this.o.leaseMs,
          limit: this.o.maxInFlight - this.inFlight.size,
          busy: new Set(this.inFlight.keys()),
          includeOwn: this.firstClaim,
        });
        this.firstClaim = false;
        for (const m of claimed) this.launch(m);
      } while (this.again && this.running);
    } catch (error) {
      this.logError(
        "NotificationSenderFailed",
        error,
        "notification sender pass failed; retrying on the next poll",
      );
    }
  }

  /** Urgent items alone and at once; a target's other items together once the oldest waited the window. */
  private plan(items: UnpackedItem[]): PlannedMessage[] {
    const out: PlannedMessage[] = [];
    const batches = new Map<string, UnpackedItem[]>();
    for (const item of items) {
      if (item.urgent) {
        out.push({ target: item.target, urgent: true, ...packUrgent(item, this.o.scrubber) });
        continue;
      }
      const key = targetKey(item.target);
      batches.set(key, [...(batches.get(key) ?? []), item]);
    }
    for (const all of batches.values()) {
      const { ready: list, recheckMs } = holdForSummary(all, this.o.failureHoldMs);
      if (recheckMs !== undefined) this.kickAfter(recheckMs);
      const first = list[0];
      if (!first) continue;
      const oldest = Math.max(...list.map((i) => i.ageMs));
      if (oldest < this.o.batchWindowMs) {
        this.kickAfter(this.o.batchWindowMs - oldest);
        continue;
      }
      for (const m of packBatch(list, this.o.scrubber))
        out.push({ target: first.target, urgent: false, ...m });
    }
    return out;
  }

  private launch(m: ClaimedMessage): void {
    const key = targetKey(m.target);
    const done = this.deliver(m)
      .catch((error) => this.logError("NotificationSenderFailed", error, "could not record a delivery"))
      .finally(() => {
        this.inFlight.delete(key);
        this.kick();
      });
    this.inFlight.set(key, done);
  }

  private async deliver(m: ClaimedMessage): Promise<void> {
    const { sql, logger, instanceId } = this.o;
    const log = {
      messageId: m.id,
      target: m.target.kind,
      targetId: m.target.id,
      urgent: m.urgent,
      attempts: m.attempts,
    };
    // One signal per request: discord.js adds a listener to the signal it is given and never removes it.
    const request = new AbortController();
    const abort = () => request.abort();
    if (this.controller.signal.aborted) request.abort();
    else this.controller.signal.addEventListener("abort", abort, { once: true });
    const result = await this.o.notifier
      .deliver(m.target, m.body, { nonce: m.nonce, signal: request.signal })
      .finally(() => this.controller.signal.removeEventListener("abort", abort));
    if (result.kind === "delivered") {
      await markSent(sql, m.id, instanceId, result.messageId);
      logger.info(
        { event: "NotificationSent", ...log, discordMessageId: result.messageId },
        "notification sent",
      );
      return;
    }
    if (result.kind === "rejected") {
      await markFailed(sql, m.id, instanceId, result.error);
      logger.error(
        { event: "NotificationRejected", ...log, error: result.error },
        "Discord refused a notification",
      );
      return;
    }
    if (!result.counts) {
      await markRetry(sql, m.id, instanceId, {
        afterMs: result.afterMs ?? 0,
        error: result.error,
        refund: true,
      });
      logger.warn(
        { event: "NotificationDeferred", ...log, afterMs: result.afterMs, error: result.error },
        "notification deferred",
      );
      return;
    }
    if (m.attempts >= this.o.maxAttempts) {
      const error = `gave up after ${m.attempts} attempts: ${result.error}`;
      await markFailed(sql, m.id, instanceId, error);
      logger.error({ event: "NotificationAbandoned", ...log, error: result.error }, "notification abandoned");
      return;
    }
    const backoff = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** (m.attempts - 1));
    const afterMs = Math.max(Math.round(backoff * (0.8 + Math.random() * 0.4)), result.afterMs ?? 0);
    await markRetry(sql, m.id, instanceId, { afterMs, error: result.error, refund: false });
    logger.warn(
      { event: "NotificationRetrying", ...log, afterMs, error: result.error },
      "notification will be retried",
    );
  }

  private async pruneOld(): Promise<void> {
    try {
      const n = await pruneOutbox(this.o.sql, this.o.keepDays);
      if (n > 0)
        this.o.logger.info({ event: "NotificationsPruned", messages: n }, "old notifications pruned");
    } catch (error) {
      this.logError("NotificationPruneFailed", error, "could not prune old notifications");
    }
  }

  private logError(event: string, error: unknown, message: string): void {
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_EVERY_MS) return;
    this.lastErrorLog = now;
    this.o.logger.error({ event, error: this.o.scrubber.clean(String(error)) }, message);
  }
}
