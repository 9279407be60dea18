/**
 * The dispatch queue: a p-queue with a global concurrency limit, fed through one lane per account so one
 * account's executions run one at a time while accounts run in parallel. Within a lane each recorder's
 * signals keep their order and recorders take turns (src/dispatch/lanes.ts), so one recorder's flood
 * never holds another's signal back by more than one execution. Executions are claimed in Postgres
 * with a lease that is renewed while they run; at start (and periodically) unfinished executions whose
 * lease lapsed, or that this instance owned before a restart, are claimed with `for update skip locked`
 * and resumed in check-the-broker-first mode; executions another relay accepted for an account this one
 * holds, never given to any relay before, run like new ones.
 */
import PQueue from "p-queue";
import type { Sql } from "../db/client";
import { claimUnfinished, handBack, renewLeases } from "../db/executions";
import { signalFromJson } from "../domain/signal";
import type { Logger } from "../log";
import { type ExecutionJob, type Executor, planFromJson } from "./executor";
import { AccountLane } from "./lanes";

const RETRY_PAUSES_MS = [250, 500, 1_000, 2_000, 4_000];
/** Pauses between attempts of an execution waiting for its broker: doubling, capped at 30 s. */
const WAIT_PAUSES_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];

export interface DispatcherOptions {
  sql: Sql;
  logger: Logger;
  executor: Executor;
  concurrency: number;
  instanceId: string;
  leaseMs: number;
  /**
   * Resolves when the account's broker is back, or after `ms` at most (an execution waiting for it runs
   * again then); default: after `ms`.
   */
  waitForBroker?: (accountId: string, ms: number) => Promise<void>;
  /** Called when the last of a signal's executions running here has finished. */
  onSignalDone?: (signalId: string) => void;
  /**
   * Whether this relay holds the account's session (issue 16); an execution of an account another relay
   * holds is handed back to it instead of run here. Default: every account is this relay's.
   */
  holds?: (accountId: string) => Promise<boolean>;
}

export class Dispatcher {
  private readonly queue: PQueue;
  private readonly lanes = new Map<string, AccountLane>();
  /** Per recorder, its signals with executions not started yet (and how many of those executions). */
  private readonly waiting = new Map<string, Map<string, number>>();
  private readonly active = new Set<string>();
  private readonly perSignal = new Map<string, number>();
  private queued = 0;
  private readonly wakers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private unlisten: (() => Promise<void>) | undefined;
  private claiming: Promise<unknown> | undefined;
  private claimAgain = false;
  readonly counters = { dispatched: 0, finished: 0 };

  constructor(private readonly o: DispatcherOptions) {
    this.queue = new PQueue({ concurrency: o.concurrency });
  }

  /** Jobs of one signal, in trader order; jobs of later signals are enqueued after. */
  enqueue(jobs: ExecutionJob[]): void {
    for (const job of jobs) this.push(job);
  }

  depth(): { queued: number; running: number; concurrency: number } {
    return { queued: this.queued, running: this.queue.pending, concurrency: this.o.concurrency };
  }

  /** Claims and resumes unfinished executions (this instance's own after a restart, or expired leases). */
  async recover(includeOwn = true): Promise<number> {
    const rows = await claimUnfinished(this.o.sql, this.o.instanceId, this.o.leaseMs, includeOwn);
    const jobs: ExecutionJob[] = [];
    for (const r of rows) {
      if (this.active.has(r.id)) continue;
      try {
        jobs.push({
          executionId: r.id,
          signalId: r.signalId,
          traderId: r.traderId,
          accountId: r.accountId,
          recorderId: r.recorderId,
          receivedAt: r.receivedAt,
          signal: signalFromJson(r.payload),
          // Accepted on another relay for an account this one holds, and never run: nothing of it can be
          // at the broker, so it runs like a new execution (no broker lookups first).
          resume: !r.fresh,
          ...((r.status === "running" || r.status === "waiting_for_broker") && r.plan
            ? { storedPlan: planFromJson(r.plan) }
            : {}),
        });
      } catch (error) {
        this.o.logger.error(
          { event: "ExecutionUnreadable", executionId: r.id, error: String(error) },
          "cannot resume",
        );
      }
    }
    const resumed = jobs.filter((j) => j.resume).length;
    if (resumed) {
      this.o.logger.warn({ event: "ExecutionsResumed", count: resumed }, "resuming unfinished executions");
    }
    if (jobs.length > resumed) {
      this.o.logger.info(
        { event: "ExecutionsClaimed", count: jobs.length - resumed },
        "running executions another relay accepted for accounts this one holds",
      );
    }
    this.enqueue(jobs);
    return jobs.length;
  }

  /**
   * Renews leases of running executions and picks up work whose owner died; listens for work another
   * relay accepted for an account this one holds (NOTIFY relay_work from accept_signal).
   */
  async start(): Promise<void> {
    const every = Math.max(1000, Math.floor(this.o.leaseMs / 3));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    const { unlisten } = await this.o.sql.listen("relay_work", (relay) => {
      if (relay === this.o.instanceId || relay === "*") this.claimSoon();
    });
    this.unlisten = unlisten;
  }

  /** Claims work for this relay's accounts now (woken by another relay, or accounts just taken over). */
  claimSoon(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = (async () => {
      do {
        this.claimAgain = false;
        await this.recover(false).catch((error: unknown) =>
          this.o.logger.warn({ event: "ClaimFailed", error: String(error) }, "could not claim executions"),
        );
      } while (this.claimAgain && !this.stopped);
    })().finally(() => {
      this.claiming = undefined;
    });
  }

  /** Nothing of the account is queued or running here: the relay may give the account up. */
  isIdle(accountId: string): boolean {
    return !this.lanes.has(accountId);
  }

  /** Stops taking new work and waits (bounded) for running executions to finish. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.().catch(() => undefined);
    for (const wake of this.wakers) wake();
    const idle = Promise.all([...this.lanes.values()].map((l) => l.running)).then(() => this.queue.onIdle());
    const timeout = new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref());
    return Promise.race([idle.then(() => true as const), timeout]);
  }

  private push(job: ExecutionJob): void {
    if (this.stopped) return; // claimed but not run: the lease lapses and a live relay resumes it
    this.queued++;
    this.active.add(job.executionId);
    this.perSignal.set(job.signalId, (this.perSignal.get(job.signalId) ?? 0) + 1);
    this.countWaiting(job, 1);
    let lane = this.lanes.get(job.accountId);
    if (!lane) {
      lane = new AccountLane();
      this.lanes.set(job.accountId, lane);
    }
    lane.push(job);
    if (!lane.running) lane.running = this.pump(job.accountId, lane);
  }

  /** Signals of a recorder whose executions have not all started here: its backlog. */
  pendingSignals(recorderId: string): number {
    return this.waiting.get(recorderId)?.size ?? 0;
  }

  private countWaiting(job: ExecutionJob, delta: 1 | -1): void {
    const bySignal = this.waiting.get(job.recorderId) ?? new Map<string, number>();
    const n = (bySignal.get(job.signalId) ?? 0) + delta;
    if (n > 0) bySignal.set(job.signalId, n);
    else bySignal.delete(job.signalId);
    if (bySignal.size > 0) this.waiting.set(job.recorderId, bySignal);
    else this.waiting.delete(job.recorderId);
  }

  /** Runs the lane's executions one at a time until it is empty. */
  private async pump(accountId: string, lane: AccountLane): Promise<void> {
    for (let job = lane.take(); job; job = lane.take()) {
      const current = job;
      try {
        await this.runInLane(current);
      } catch (error) {
        this.o.logger.error(
          { event: "LaneFailed", signalId: current.signalId, error: String(error) },
          "lane error",
        );
      } finally {
        this.active.delete(current.executionId);
        this.counters.finished++;
        const left = (this.perSignal.get(current.signalId) ?? 1) - 1;
        if (left > 0) this.perSignal.set(current.signalId, left);
        else {
          this.perSignal.delete(current.signalId);
          this.o.onSignalDone?.(current.signalId);
        }
      }
    }
    lane.running = undefined;
    if (this.lanes.get(accountId) === lane) this.lanes.delete(accountId);
  }

  /**
   * Runs an execution until it finishes, keeping its place in the account's lane (later signals of the
   * account wait behind it). A database blink runs it again after a short pause; a broker that cannot be
   * reached runs it again when the broker is back (or after a back-off capped at 30 s), for as long as it
   * takes: exits are never abandoned. Each run takes a slot of the global concurrency limit; waiting
   * does not.
   */
  private async runInLane(job: ExecutionJob): Promise<void> {
    let current = job;
    let first = true;
    let blinks = 0;
    for (;;) {
      if (this.o.holds && !(await this.o.holds(current.accountId))) {
        // Another relay holds the account now: its session, its executions.
        if (first) {
          this.queued--;
          this.countWaiting(job, -1);
        }
        await handBack(this.o.sql, this.o.instanceId, [current.executionId]).catch((error: unknown) =>
          this.o.logger.warn(
            { event: "HandBackFailed", signalId: current.signalId, error: String(error) },
            "left for its lease to lapse",
          ),
        );
        this.o.logger.info(
          { event: "ExecutionHandedOver", signalId: current.signalId, executionId: current.executionId },
          "the account is held by another relay now",
        );
        return;
      }
      const result = await this.queue.add(() => {
        if (first) {
          this.queued--;
          this.counters.dispatched++;
          this.countWaiting(job, -1);
          first = false;
        }
        return this.o.executor.run(current);
      });
      if (result?.retry) {
        // Past the last pause, its lease hands it on.
        const pause = RETRY_PAUSES_MS[blinks++];
        if (pause === undefined || this.stopped) return;
        await new Promise((r) => setTimeout(r, pause));
        current = {
          ...current,
          resume: true,
          rerun: !result.retry.recover,
          ...(result.retry.plan ? { storedPlan: result.retry.plan } : {}),
        };
        continue;
      }
      if (result?.wait) {
        if (this.stopped) return; // still `waiting_for_broker`: resumed after the restart
        const waits = (current.waits ?? 0) + 1;
        const delay = WAIT_PAUSES_MS[Math.min(waits - 1, WAIT_PAUSES_MS.length - 1)] ?? 30_000;
        await this.pause(current.accountId, delay);
        if (this.stopped) return;
        current = {
          ...current,
          resume: true,
          rerun: !result.wait.recover,
          waits,
          ...(result.wait.plan ? { storedPlan: result.wait.plan } : {}),
        };
        continue;
      }
      return;
    }
  }

  /** Waits for the broker to be back (or `ms`), or for the relay to stop. */
  private async pause(accountId: string, ms: number): Promise<void> {
    let wake: () => void = () => undefined;
    const stopped = new Promise<void>((r) => {
      wake = r;
    });
    this.wakers.add(wake);
    try {
      await Promise.race([
        stopped,
        this.o.waitForBroker?.(accountId, ms) ?? new Promise((r) => setTimeout(r, ms).unref()),
      ]);
    } finally {
      this.wakers.delete(wake);
    }
  }

  private async tick(): Promise<void> {
    try {
      await renewLeases(this.o.sql, this.o.instanceId, [...this.active], this.o.leaseMs);
      // Only lapsed leases here: this instance's own live work is already in its lanes.
      if (!this.stopped) await this.recover(false);
    } catch (error) {
      this.o.logger.warn({ event: "LeaseTickFailed", error: String(error) }, "lease renewal failed");
    }
  }
}
