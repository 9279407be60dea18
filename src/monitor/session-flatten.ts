/**
 * Session flatten (issue 14): when a recorder with `flattenAtWindowEnd` reaches the close of its trading
 * windows, every trader of the recorder is flattened through the loss monitor's flatten (broker
 * liquidation when the trader is alone in the contract, else the kernel's one close, then its exits
 * cancelled), with the same bounded retries as a breach. Entries are already refused outside the windows
 * (the planner's `skipped_outside_hours`); exits still pass.
 *
 * Checked every second. The close handled is stored per recorder (session_flattens) before the flatten
 * starts, so one close is flattened once; a flatten cut by a restart is resumed with the same order ids.
 * A close the relay first sees when the setting is switched on (or after a restart inside the next
 * window) is recorded without flattening.
 */
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import { withinTradingHours } from "../domain/hours";
import { lastSessionClose } from "../domain/session-end";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import type { SessionPool } from "../sessions/pool";
import type { AttemptResult } from "./flatten-context";
import { FlattenJob } from "./job";

export interface SessionFlattenDeps {
  sql: Sql;
  logger: Logger;
  directory: Directory;
  pool: SessionPool;
  now: () => Date;
  flattenTrader(traderId: string, seed: string, reason: string): Promise<AttemptResult>;
  /** Notifications: flat at the close, or a follower that could not be flattened (urgent). */
  bus?: EventBus;
  retryDelaysMs?: number[];
  tickMs?: number;
  /** Whether this relay holds the account's session (issue 16): each relay flattens the traders it holds. */
  owns?: (accountId: string) => boolean;
}

interface Handled {
  close: number;
  done: boolean;
}

export class SessionFlattener {
  private readonly handled = new Map<string, Handled>();
  /** Running flattens: recorder -> its traders' jobs for one close. */
  private readonly running = new Map<
    string,
    { close: number; jobs: Map<string, FlattenJob>; accounts: Map<string, string> }
  >();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private unsubscribe?: () => void;
  private readonly log: Logger;

  constructor(private readonly d: SessionFlattenDeps) {
    this.log = d.logger.child({ component: "session-flatten" });
  }

  async start(): Promise<void> {
    const rows = await this.d.sql`select recorder_id, window_end, done_at from session_flattens`;
    for (const r of rows)
      this.handled.set(r.recorder_id as string, {
        close: (r.window_end as Date).getTime(),
        done: r.done_at !== null,
      });
    // A flatten cut short by a restart goes on, under the same ids.
    for (const [recorderId, h] of this.handled) if (!h.done) this.flatten(recorderId, h.close);
    this.unsubscribe = this.d.pool.onEvent((accountId, event) => {
      if (event.type === "SessionChanged" && event.status.state === "ready") this.sessionReady(accountId);
    });
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, this.d.tickMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.ticking;
    await Promise.all([...this.running.values()].flatMap((r) => [...r.jobs.values()].map((j) => j.stop())));
  }

  /** One check of every recorder (the timer calls it; tests may too). */
  async tick(): Promise<void> {
    const now = this.d.now();
    for (const recorder of this.d.directory.allRecorders()) {
      const s = recorder.settings;
      const known = this.handled.get(recorder.id);
      if (!s.flattenAtWindowEnd || s.tradingWindows.length === 0) {
        if (known?.done) await this.forget(recorder.id);
        continue;
      }
      const close = lastSessionClose(now, s.tradingWindows, s.timeZone)?.getTime();
      if (close === undefined || (known && close <= known.close)) continue;
      // First sight, or trading already open again: recorded, nothing flattened.
      const quiet = !known || withinTradingHours(now, s.tradingWindows, s.timeZone);
      try {
        await this.record(recorder.id, close, quiet);
      } catch (error) {
        this.log.warn({ event: "SessionCloseNotRecorded", recorderId: recorder.id, error: String(error) });
        continue;
      }
      if (quiet) continue;
      this.log.warn(
        { event: "SessionCloseFlatten", recorderId: recorder.id, close: new Date(close).toISOString() },
        "the recorder's trading hours closed: flattening its traders",
      );
      this.flatten(recorder.id, close);
    }
  }

  /** Resolves when every flatten started so far has settled (tests). */
  async settled(): Promise<void> {
    await Promise.all(
      [...this.running.values()].flatMap((r) => [...r.jobs.values()].map((j) => j.settled())),
    );
  }

  private flatten(recorderId: string, close: number): void {
    const previous = this.running.get(recorderId);
    if (previous) for (const job of previous.jobs.values()) void job.stop();
    const jobs = new Map<string, FlattenJob>();
    const accounts = new Map<string, string>(); // trader -> account
    const entry = { close, jobs, accounts };
    this.running.set(recorderId, entry);
    const seed = `session:${new Date(close).toISOString()}`;
    const traders = this.d.directory
      .tradersOf(recorderId)
      .filter((t) => this.d.owns?.(t.accountId as string) ?? true);
    for (const trader of traders) {
      const job: FlattenJob = new FlattenJob(
        `${seed}:${trader.id}`,
        {
          attempt: () => this.d.flattenTrader(trader.id, seed, "the recorder's trading hours closed"),
          changed: async (state, info) => {
            if (state === "stuck") this.announce(recorderId, close, "stuck", trader.accountId, info.error);
            this.log.info({
              event: "SessionFlattenState",
              recorderId,
              traderId: trader.id,
              state,
              attempts: job.attempts,
            });
            if (
              state === "flat" &&
              this.running.get(recorderId) === entry &&
              [...jobs.values()].every((j) => j.state === "flat")
            )
              await this.done(recorderId, close);
          },
        },
        this.log,
        this.d.retryDelaysMs,
      );
      jobs.set(trader.id, job);
      accounts.set(trader.id, trader.accountId);
    }
    if (traders.length === 0) void this.done(recorderId, close);
    for (const job of jobs.values()) job.kick("start");
  }

  private sessionReady(accountId: string): void {
    for (const { jobs, accounts } of this.running.values())
      for (const [traderId, job] of jobs)
        if (accounts.get(traderId) === accountId && (job.state === "waiting" || job.state === "stuck"))
          job.kick("sessionReady");
  }

  private async record(recorderId: string, close: number, done: boolean): Promise<void> {
    await this.d.sql`
      insert into session_flattens (recorder_id, window_end, done_at)
      values (${recorderId}, ${new Date(close)}, ${done ? new Date() : null})
      on conflict (recorder_id) do update
        set window_end = excluded.window_end, started_at = now(), done_at = excluded.done_at`;
    this.handled.set(recorderId, { close, done });
  }

  private async done(recorderId: string, close: number): Promise<void> {
    await this.d.sql`
      update session_flattens set done_at = now() where recorder_id = ${recorderId} and window_end = ${new Date(close)}`;
    const h = this.handled.get(recorderId);
    if (h && h.close === close) h.done = true;
    this.announce(recorderId, close, "flat");
    this.log.info(
      { event: "SessionFlattened", recorderId, close: new Date(close).toISOString() },
      "flat at the close",
    );
  }

  private announce(
    recorderId: string,
    close: number,
    outcome: "flat" | "stuck",
    accountId?: string,
    error?: string | null,
  ): void {
    const recorder = this.d.directory.recorder(recorderId);
    const accountName = accountId ? this.d.directory.account(accountId)?.name : undefined;
    this.d.bus?.emit({
      type: "SessionCloseFlattened",
      at: this.d.now(),
      recorderId,
      recorderName: recorder?.name ?? recorderId,
      close: new Date(close),
      outcome,
      traders: this.d.directory.tradersOf(recorderId).length,
      ...(accountName ? { accountName } : {}),
      ...(error ? { error } : {}),
    });
  }

  private async forget(recorderId: string): Promise<void> {
    await this.d.sql`delete from session_flattens where recorder_id = ${recorderId}`.catch(() => undefined);
    this.handled.delete(recorderId);
  }
}
