/**
 * Runs one execution: what one signal does on one trader. Loads the trader's context (position from the
 * in-memory book), plans with the pure copy planner, then carries the intents out in order through the
 * order kernel (src/orders/): cancels of this trader's own orders, closes capped by what the broker really
 * holds, entries at market, then exits for the position the broker confirms.
 *
 * No database round trip stands between the plan and the first order: on a new execution's first run the
 * plan and the first order's row are written behind the order (deterministic client order ids), and every
 * later step waits for the plan to be written. A crash in between is recovered by asking the broker for
 * every id the signal could have sent first before planning again (src/dispatch/recovery.ts).
 *
 * A broker that cannot be reached never ends an exit: the execution waits (`waiting_for_broker`) and the
 * dispatcher runs it again, with its stored plan and the same client order ids, once the broker is back.
 * An entry waits only while its signal is younger than the recorder's age limit.
 */
import type { BrokerSession, OrderRequest } from "../brokers/port";
import type { Sql } from "../db/client";
import { markWaiting } from "../db/executions";
import { entryPlaced } from "../db/orders";
import { isTransientDbError } from "../db/transient";
import type { Directory } from "../directory";
import type { ContractSpec } from "../domain/contract";
import type { EntryGate } from "../domain/gate";
import { clientOrderId } from "../domain/ids";
import {
  type Intent,
  isEntryLeg,
  type Plan,
  type PlanContext,
  plan,
  signalAgeMs,
  withoutEntries,
} from "../domain/planner";
import { withFoundEntry } from "../domain/recovered";
import { effectiveSettings, type RecorderSettings, type TraderOverrides } from "../domain/settings";
import { runsWhateverItsAge, type Signal } from "../domain/signal";
import type { DayRule } from "../domain/trading-day";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { ContractBook } from "../orders/contracts";
import { awaitFill } from "../orders/fill-wait";
import type { FillRecorder } from "../orders/fills";
import type { Journal } from "../orders/journal";
import type { OrderKernel } from "../orders/kernel";
import { type LegContext, type LegResult, sendLeg } from "../orders/legs";
import { BrokerUnreachable, why } from "../orders/unreachable";
import type { Balances } from "../sessions/balances";
import type { SessionPool } from "../sessions/pool";
import { readPlanInputs } from "./plan-inputs";
import { type Recovered, recoverLegs } from "./recovery";

export type { EntryGate };

export interface ExecutionJob {
  executionId: string;
  signalId: string;
  traderId: string;
  accountId: string;
  recorderId: string;
  receivedAt: Date;
  signal: Signal;
  /** True when resuming after a restart or a wait: ask the broker before sending anything. */
  resume: boolean;
  /** The plan stored before a crash or a wait, reused as is. */
  storedPlan?: Plan;
  /** How many times it has waited for its broker so far. */
  waits?: number;
  /**
   * Run again in this process after a pause (a database blink, a wait for the broker): its earlier run
   * kept its plan in memory if it had made one, so without `storedPlan` nothing of it was sent.
   */
  rerun?: boolean;
}

export interface ExecutorDeps {
  sql: Sql;
  logger: Logger;
  directory: Directory;
  pool: SessionPool;
  kernel: OrderKernel;
  fills: FillRecorder;
  contracts: ContractBook;
  journal: Journal;
  fillWaitMs: number;
  /** MAX_ORDER_CONTRACTS: no entry above it is ever sent. */
  maxOrderContracts?: number;
  now?: () => Date;
  settleDelaysMs?: number[];
  unreachableDelaysMs?: number[];
  /** Consulted before every plan that would add exposure. */
  entryGate?: EntryGate;
  metrics?: Metrics;
  /** Told about every execution that ends, to summarize signals and raise alerts. */
  onFinished?: (job: ExecutionJob, outcome: { status: string; problems: string[] }) => void;
  /** Told when an execution starts waiting for its broker (once per execution). */
  onWaiting?: (job: ExecutionJob, reason: string) => void;
  // Issue 14, entry filters and risk sizing (src/dispatch/plan-inputs.ts).
  /** The account's trading-day rule (the loss monitor's), for max entries per day. */
  dayRule?: (accountId: string) => DayRule;
  /** Broker balances, for risk sizing in percent of the balance. */
  balances?: Balances;
}

/** What the dispatcher does next with an execution that did not finish. */
export interface RunResult {
  /** A database blink: run it again shortly, in place. */
  retry?: { plan?: Plan; recover?: boolean };
  /** The broker cannot be reached: run it again when it is back, with this plan. */
  wait?: { plan?: Plan; reason: string; recover?: boolean };
}
// `recover`: stopped before its recovery after a restart was planned; the next run recovers again.

/** What `run` knows of an execution when it stops early. */
interface RunState {
  plan?: Plan;
  /** The plan being written (behind the first order). */
  stored?: Promise<unknown>;
  /**
   * Resumed after a restart without its plan and not planned yet: an order of it may be at the broker
   * without a row, so it never expires as "nothing sent", and a run again recovers again.
   */
  recovering?: boolean;
}

/** What the next run needs: the plan if there is one, else whether it must recover first. */
const rerunWith = (state: RunState): { plan?: Plan; recover?: boolean } =>
  state.plan ? { plan: state.plan } : state.recovering ? { recover: true } : {};

/** Waits for a write to settle, whatever its outcome (it is handled where it is awaited). */
const settled = (p: Promise<unknown> | undefined) =>
  p?.then(
    () => undefined,
    () => undefined,
  );

class ExecutionStopped extends Error {
  constructor(
    readonly status: "failed" | "unknown",
    message: string,
  ) {
    super(message);
  }
}

/** The broker cannot be reached now; nothing was decided. */
class BrokerAway extends BrokerUnreachable {}

interface Run {
  job: ExecutionJob;
  leg: LegContext;
  plan: Plan;
  lastAckAt?: number;
  /** Things worth knowing that are not problems (shown with the reason). */
  notes: string[];
  /** Milliseconds after the webhook arrived: when this execution started, and when its first order left. */
  startedAfterMs: number;
  firstSendAfterMs?: number;
  problems: string[];
}

export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  /** Runs one execution; returns what the dispatcher should do when it did not finish. */
  async run(job: ExecutionJob): Promise<RunResult> {
    const state: RunState = {};
    const log = this.deps.logger.child({
      signalId: job.signalId,
      executionId: job.executionId,
      traderId: job.traderId,
    });
    let outcome: { status: string; problems: string[]; decision?: string };
    try {
      outcome = await this.execute(job, log, state);
    } catch (error) {
      if (isTransientDbError(error)) {
        log.warn(
          { event: "ExecutionPaused", reason: why(error) },
          "the database is not answering; the execution resumes shortly, asking the broker first",
        );
        return { retry: rerunWith(state) };
      }
      if (error instanceof BrokerUnreachable) {
        try {
          await settled(state.stored);
          const waiting = await this.waitOrExpire(job, log, state, why(error));
          if (waiting) return waiting;
          outcome = { status: "failed", problems: [this.expiredText(job, why(error))] };
        } catch (e) {
          if (isTransientDbError(e)) return { retry: rerunWith(state) };
          throw e;
        }
      } else {
        const stopped = error instanceof ExecutionStopped;
        const status = stopped ? error.status : "failed";
        const message = stopped ? error.message : `internal error: ${why(error)}`;
        log.error({ event: "ExecutionFailed", status, reason: message }, "execution failed");
        try {
          await settled(state.stored);
          await this.deps.journal.finish({ id: job.executionId, status, error: message });
        } catch (e) {
          log.error(
            { event: "ExecutionNotRecorded", error: String(e) },
            "could not record the failure; the lease will resume it",
          );
          return {};
        }
        outcome = { status, problems: [message] };
      }
    }
    this.deps.metrics?.executions.inc({ status: outcome.status, decision: outcome.decision ?? "none" });
    this.deps.onFinished?.(job, outcome);
    return {};
  }

  /**
   * The broker cannot be reached. Exits, closes and cancels wait for it, whatever their age; an entry
   * waits only while its signal is fresh, and a reversal that went stale keeps only its close. Returns
   * undefined when the execution ends here (an entry that expired, recorded as failed).
   */
  private async waitOrExpire(
    job: ExecutionJob,
    log: Logger,
    state: RunState,
    reason: string,
  ): Promise<RunResult | undefined> {
    let thePlan = state.plan;
    const opens = thePlan ? thePlan.intents.some((i) => i.kind === "entry") : !runsWhateverItsAge(job.signal);
    // Until recovery has asked the broker, an entry of it may be there without a row: it never expires.
    if (
      opens &&
      !state.recovering &&
      this.stale(job) &&
      !(await entryPlaced(this.deps.sql, job.executionId))
    ) {
      const closes = thePlan?.intents.some((i) => i.kind === "close" || i.kind === "cancelExits");
      if (!thePlan || !closes) {
        const text = this.expiredText(job, reason);
        await this.deps.journal.finish({
          id: job.executionId,
          status: "failed",
          decision: "skipped_stale",
          reason: "not entered: the broker could not be reached before the signal went stale",
          error: text,
        });
        log.warn({ event: "ExecutionExpired", reason }, text);
        return undefined;
      }
      thePlan = withoutEntries(thePlan, `the broker could not be reached until the signal was stale`);
    }
    const waits = (job.waits ?? 0) + 1;
    const text = `waiting for the broker: ${reason}; it goes out as soon as the broker is back, under the same order ids`;
    await markWaiting(this.deps.sql, {
      id: job.executionId,
      plan: thePlan ? planToJson(thePlan) : null,
      decision: thePlan?.decision ?? null,
      reason: thePlan?.reason ?? null,
      waitingFor: text,
    });
    if (waits === 1) {
      log.warn({ event: "ExecutionWaiting", reason }, text);
      this.deps.onWaiting?.(job, text);
    }
    return { wait: { ...rerunWith({ ...state, plan: thePlan }), reason: text } };
  }

  private stale(job: ExecutionJob): boolean {
    const recorder = this.deps.directory.recorder(job.recorderId);
    const trader = this.deps.directory.trader(job.traderId);
    if (!recorder) return true;
    const settings = effectiveSettings(recorder.settings, trader?.overrides ?? {});
    return signalAgeMs(job.signal, job.receivedAt, this.now()) > settings.maxSignalAgeSeconds * 1000;
  }

  private expiredText(job: ExecutionJob, reason: string): string {
    const age = Math.round(signalAgeMs(job.signal, job.receivedAt, this.now()) / 1000);
    return `not entered: the broker could not be reached (${reason}) until the signal was ${age} s old, past its age limit; nothing was sent`;
  }

  private async execute(
    job: ExecutionJob,
    log: Logger,
    state: RunState,
  ): Promise<{ status: string; problems: string[]; decision: string }> {
    const startedAt = Date.now();
    this.deps.metrics?.stage("dispatched", job.receivedAt, startedAt);
    const { directory } = this.deps;
    const trader = directory.trader(job.traderId);
    const recorder = directory.recorder(job.recorderId);
    if (!trader || !recorder || (!trader.enabled && !job.resume)) {
      await this.deps.journal.finish({
        id: job.executionId,
        status: "ignored",
        decision: "ignored_trader_disabled",
        reason: "the trader was disabled or removed before the signal reached it",
      });
      return { status: "ignored", problems: [], decision: "ignored_trader_disabled" };
    }
    state.plan = job.storedPlan;
    // Planning needs only the book and the contract; sending needs a ready broker (checked below), so a
    // plan exists even while the broker is away (a stale reversal can then keep its close).
    const session = await this.session(job.accountId);
    const symbol = trader.overrides.ticker ?? recorder.settings.ticker ?? job.signal.ticker;
    const contract = await this.contract(session, symbol);
    const brokerAccountId = trader.brokerAccountId;
    const leg: LegContext = {
      journal: this.deps.journal,
      log,
      session,
      fills: this.deps.fills,
      accountId: job.accountId,
      executionId: job.executionId,
      traderId: job.traderId,
      brokerAccountId,
      contract,
      checkFirst: job.resume,
      // A new execution's first run: its orders leave before their rows are written.
      fresh: !job.resume,
      ...(this.deps.settleDelaysMs ? { settleDelaysMs: this.deps.settleDelaysMs } : {}),
      ...(this.deps.unreachableDelaysMs ? { unreachableDelaysMs: this.deps.unreachableDelaysMs } : {}),
      mayResend: (l) => !isEntryLeg(l) || this.mayStillEnter(job, recorder.settings, trader),
    };
    // Claimed after a restart without its plan: an order of it may be at the broker without a row.
    let recovered: Recovered | undefined;
    if (job.resume && !job.storedPlan && !job.rerun) {
      state.recovering = true;
      recovered = await recoverLegs(leg, this.deps.sql, {
        signalId: job.signalId,
        traderId: job.traderId,
        executionId: job.executionId,
        exits: plan({
          signal: job.signal,
          recorder: recorder.settings,
          overrides: trader.overrides,
          multiplier: trader.multiplier,
          position: { netQty: 0 },
          now: this.now(),
          receivedAt: job.receivedAt,
        }).exits,
      });
    }
    const key = { traderId: trader.id, brokerAccountId, contract: contract.name };
    // A resumed execution reads the database: the book is for the fast path, not for doubt.
    const position = recovered?.before ?? (await this.deps.journal.position(key, { read: job.resume }));

    const planned =
      job.storedPlan ??
      plan({
        signal: job.signal,
        recorder: recorder.settings,
        overrides: trader.overrides,
        multiplier: trader.multiplier,
        position: {
          netQty: position?.netQty ?? 0,
          ...(position?.avgPrice ? { avgPrice: position.avgPrice } : {}),
        },
        now: this.now(),
        receivedAt: job.receivedAt,
        ...(this.deps.maxOrderContracts !== undefined
          ? { maxOrderContracts: this.deps.maxOrderContracts }
          : {}),
        contract,
        ...(job.storedPlan
          ? {}
          : await this.planInputs(job, trader, recorder.settings, session, contract, position)),
      });
    // Prop rules (issue 14): the gate sees the entry itself, so max contracts can count it.
    const opening = planned.intents.find((i) => i.kind === "entry");
    const closing = planned.intents.reduce((n, i) => n + (i.kind === "close" ? i.qty : 0), 0);
    const blocked = job.storedPlan
      ? undefined
      : this.deps.entryGate?.({
          traderId: trader.id,
          accountId: job.accountId,
          ...(opening?.kind === "entry"
            ? {
                entry: {
                  brokerAccountId,
                  contract: contract.name,
                  side: opening.side,
                  qty: opening.qty,
                  closeQty: closing,
                },
              }
            : {}),
        });
    const gated = blocked ? withoutEntries(planned, blocked) : planned;
    // An entry found at the broker after a restart is kept and protected, whatever planning says now.
    const thePlan = recovered?.entry ? withFoundEntry(gated, recovered.entry) : gated;
    state.plan = thePlan;
    state.recovering = false; // from here on the plan (kept in memory, then stored) carries it
    if (thePlan.intents.length === 0) {
      await this.deps.journal.finish({
        id: job.executionId,
        status: "ignored",
        decision: thePlan.decision,
        reason: thePlan.reason,
        contract: contract.name,
      });
      log.info(
        { event: "ExecutionIgnored", decision: thePlan.decision, reason: thePlan.reason },
        thePlan.reason,
      );
      return { status: "ignored", problems: [], decision: thePlan.decision };
    }
    const state0 = session.status();
    // Not sent: the wait stores the plan (markWaiting).
    if (state0.state !== "ready")
      throw new BrokerAway(
        `the ${session.kind} session is ${state0.state}${state0.error ? ` (${state0.error})` : ""}`,
      );

    const run: Run = {
      job,
      plan: thePlan,
      problems: [],
      notes: [],
      startedAfterMs: startedAt - job.receivedAt.getTime(),
      leg,
    };
    const late = this.lateNote(job, recorder.settings, trader.overrides, thePlan);
    if (late) run.notes.push(late);
    // The plan is written behind the first step (its order is on the wire before the plan is even
    // serialized); every later step waits for it to be stored, which recovery after a crash relies on.
    const [first, ...rest] = thePlan.intents;
    const going = first ? this.carryOut(run, first) : Promise.resolve();
    const stored = this.deps.journal.start({
      id: job.executionId,
      plan: planToJson(thePlan),
      decision: thePlan.decision,
      reason: thePlan.reason,
      contract: contract.name,
    });
    stored.catch(() => undefined); // awaited before the next step; a failure is handled there
    state.stored = stored;
    await going;
    for (const intent of rest) {
      await stored;
      await this.carryOut(run, intent);
    }
    await stored;

    const latencyMs = run.lastAckAt ? run.lastAckAt - job.receivedAt.getTime() : null;
    // "Already flat" and the like still tidy up stray orders, but nothing was traded: they stay ignored.
    const status = /^(ignored|skipped|blocked)_/.test(thePlan.decision) ? "ignored" : "done";
    await this.deps.journal.finish({
      id: job.executionId,
      status,
      decision: thePlan.decision,
      reason: run.notes.length ? `${thePlan.reason} (${run.notes.join("; ")})` : thePlan.reason,
      error: run.problems.length ? run.problems.join("; ") : null,
      latencyMs,
      contract: contract.name,
    });
    log.info(
      {
        event: "ExecutionDone",
        decision: thePlan.decision,
        latencyMs,
        startedAfterMs: run.startedAfterMs,
        firstSendAfterMs: run.firstSendAfterMs,
        problems: run.problems,
        notes: run.notes,
      },
      thePlan.reason,
    );
    return { status, problems: run.problems, decision: thePlan.decision };
  }

  /** The entry filters' history and risk sizing's balance, read only when a setting needs them. */
  private async planInputs(
    job: ExecutionJob,
    trader: { id: string; brokerAccountId: string; overrides: TraderOverrides },
    recorder: RecorderSettings,
    session: BrokerSession,
    contract: ContractSpec,
    position: { netQty: number } | undefined,
  ): Promise<Pick<PlanContext, "history" | "balance">> {
    return readPlanInputs(
      {
        sql: this.deps.sql,
        ...(this.deps.dayRule ? { dayRule: this.deps.dayRule } : {}),
        ...(this.deps.balances ? { balances: this.deps.balances } : {}),
      },
      { job, trader, recorder, session, contract, netQty: position?.netQty ?? 0 },
    );
  }

  /** An exit carried out past the signal's age limit says so: exits run whatever their age. */
  private lateNote(
    job: ExecutionJob,
    recorder: RecorderSettings,
    overrides: TraderOverrides,
    p: Plan,
  ): string | undefined {
    const ageMs = signalAgeMs(job.signal, job.receivedAt, this.now());
    const limit = effectiveSettings(recorder, overrides).maxSignalAgeSeconds;
    if (ageMs <= limit * 1000 || p.intents.some((i) => i.kind === "entry")) return undefined;
    return `carried out ${Math.round(ageMs / 1000)} s after the alert (past the ${limit} s age limit for entries; exits run whatever their age)`;
  }

  /**
   * An entry the broker never received is sent again only while its signal is younger than the
   * staleness limit and nothing (loss limit, kill switch) has closed the account to new exposure.
   */
  private mayStillEnter(
    job: ExecutionJob,
    recorder: RecorderSettings,
    trader: { id: string; overrides: TraderOverrides },
  ): boolean {
    const settings = effectiveSettings(recorder, trader.overrides);
    if (signalAgeMs(job.signal, job.receivedAt, this.now()) > settings.maxSignalAgeSeconds * 1000)
      return false;
    return !this.deps.entryGate?.({ traderId: trader.id, accountId: job.accountId });
  }

  private async carryOut(run: Run, intent: Intent): Promise<void> {
    switch (intent.kind) {
      case "cancelExits":
      case "cancelEntries":
        return this.cancelOwn(run, intent.kind === "cancelExits" ? "exits" : "entries");
      case "close":
        return this.close(run, intent.side, intent.qty);
      case "entry":
        return this.entry(run, intent.leg, intent.side, intent.qty);
      case "protect":
        return this.protect(run);
    }
  }

  /** A market entry or add, then a bounded wait for its fill. */
  private async entry(run: Run, leg: string, side: "buy" | "sell", qty: number): Promise<void> {
    const req: OrderRequest = {
      clientOrderId: clientOrderId(run.job.signalId, run.job.traderId, leg),
      brokerAccountId: run.leg.brokerAccountId,
      contract: run.leg.contract,
      side,
      qty,
      type: "market",
      ...(run.job.signal.price !== undefined ? { referencePrice: run.job.signal.price } : {}),
    };
    this.sending(run);
    const result = await sendLeg(run.leg, leg, req);
    this.acked(run, result, leg);
    if (result.kind !== "accepted") return;
    const fill = await awaitFill(run.leg, req, result, this.deps.fillWaitMs);
    if (fill.filled) {
      this.deps.metrics?.stage("filled", run.job.receivedAt);
      return;
    }
    run.problems.push(`${fill.reason} (${leg}); position unprotected until reconciliation`);
    throw new ExecutionStopped("unknown", run.problems.join("; "));
  }

  /**
   * The trader's close through the kernel: never more than the broker holds in that direction, so a
   * position closed by hand at the broker is not "closed" again into the opposite one.
   */
  private async close(run: Run, side: "buy" | "sell", planned: number): Promise<void> {
    this.sending(run);
    const report = await this.deps.kernel.close(run.leg, {
      traderId: run.job.traderId,
      leg: "close",
      clientOrderId: clientOrderId(run.job.signalId, run.job.traderId, "close"),
      side,
      planned,
      ...(run.job.signal.price !== undefined ? { referencePrice: run.job.signal.price } : {}),
    });
    run.notes.push(...report.notes);
    if (report.kind === "closed") {
      this.acked(run, report.result, "close");
      this.deps.metrics?.stage("filled", run.job.receivedAt);
      return;
    }
    if (report.kind === "nothing") return;
    if (report.kind === "rejected")
      throw new ExecutionStopped("failed", `close rejected by the broker: ${report.reason}`);
    run.problems.push(`${report.reason} (close); the position is settled by reconciliation`);
    throw new ExecutionStopped("unknown", run.problems.join("; "));
  }

  /** Exits for the position the broker confirms, from its average (real fill) price. */
  private async protect(run: Run): Promise<void> {
    const p = await this.deps.kernel.protect(run.leg, run.job.signalId, run.job.traderId, run.plan.exits);
    run.notes.push(...p.notes);
    // An exit the broker could not take now is waited for, not given up: the position needs it.
    const away = p.results.find(
      ({ result }) =>
        (result.kind === "rejected" && result.notSent) ||
        (result.kind === "unknown" && (result.unreachable || result.neverArrived)),
    );
    if (away)
      throw new BrokerAway(
        `${away.leg} not placed: ${away.result.kind === "accepted" ? "" : away.result.reason}`,
      );
    run.problems.push(...p.problems);
    for (const { leg, result } of p.results) this.acked(run, result, leg, true);
  }

  /**
   * Cancels only this trader's orders of that kind in this contract, through the one cancel. An order
   * that is already gone never stops the next step, which is usually placing the new protection.
   */
  private async cancelOwn(run: Run, kind: "exits" | "entries"): Promise<void> {
    const rows = await this.deps.journal.liveOrders({
      traderId: run.job.traderId,
      brokerAccountId: run.leg.brokerAccountId,
      contract: run.leg.contract.name,
      kind,
    });
    if (rows.length === 0) return;
    const report = await this.deps.kernel.cancel(run.leg, rows, "cancelled by a later signal");
    if (report.unreachable) throw new BrokerAway(report.problems.join("; "));
    run.problems.push(...report.problems);
  }

  private sending(run: Run): void {
    if (run.firstSendAfterMs !== undefined) return;
    run.firstSendAfterMs = Date.now() - run.job.receivedAt.getTime();
    this.deps.metrics?.stage("sent", run.job.receivedAt);
  }

  private acked(run: Run, result: LegResult, leg: string, exit = false): void {
    this.deps.metrics?.orders.inc({ broker: run.leg.session.kind, outcome: result.kind });
    if (result.kind === "accepted") {
      if (result.ackAt !== undefined) {
        if (run.lastAckAt === undefined)
          this.deps.metrics?.stage("acknowledged", run.job.receivedAt, result.ackAt);
        run.lastAckAt = Math.max(run.lastAckAt ?? 0, result.ackAt);
      }
      return;
    }
    if ((result.kind === "rejected" && result.notSent) || (result.kind === "unknown" && result.unreachable))
      throw new BrokerAway(
        `${leg} ${result.kind === "rejected" ? "not sent" : "unanswered"}: ${result.reason}`,
      );
    if (exit) {
      // The position exists; a refused exit leaves it unprotected, which is reported, not hidden.
      run.problems.push(
        `position unprotected: ${leg} ${result.kind === "rejected" ? "rejected" : "unknown"}: ${result.reason}`,
      );
      return;
    }
    if (result.kind === "rejected" && result.neverArrived)
      throw new ExecutionStopped("failed", `not entered: ${result.reason}; nothing is at the broker`);
    throw new ExecutionStopped(
      result.kind === "rejected" ? "failed" : "unknown",
      `${leg} ${result.kind === "rejected" ? "rejected by the broker" : "outcome unknown"}: ${result.reason}`,
    );
  }

  /**
   * The account's session, ready or not (the plan is made first); no session at all is waited for.
   */
  private async session(accountId: string): Promise<BrokerSession> {
    try {
      return await this.deps.pool.session(accountId);
    } catch (error) {
      const existing = this.deps.pool.peek(accountId);
      if (existing) return existing;
      throw new BrokerAway(`the broker session is unavailable (${why(error)})`);
    }
  }

  private async contract(session: BrokerSession, symbol: string): Promise<ContractSpec> {
    try {
      return await this.deps.contracts.resolve(session, symbol);
    } catch (error) {
      // A contract look-up that failed because the broker went away is not an unknown contract.
      if (session.status().state !== "ready" || UNREACHABLE.test(why(error)))
        throw new BrokerAway(`could not look up "${symbol}" at the broker (${why(error)})`);
      throw new ExecutionStopped("failed", `unknown contract "${symbol}": ${why(error)}`);
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket|fetch failed|timed? ?out|not connected|unreachable/i;

/** JSON form of a plan for the executions table; decimals in overrides become strings. */
export function planToJson(p: Plan): unknown {
  return JSON.parse(JSON.stringify(p, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)));
}

/** Reads back a stored plan. */
export function planFromJson(j: unknown): Plan {
  return JSON.parse(JSON.stringify(j), (_k, v) =>
    typeof v === "string" && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  ) as Plan;
}
