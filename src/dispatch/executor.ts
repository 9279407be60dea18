/**
 * Runs one execution: what one signal does on one trader. Loads the trader's context, plans with the pure
 * copy planner, stores the plan before the first order leaves, then carries the intents out in order:
 * cancels (scoped to this trader's own orders), closes and entries at market, then exits computed from the
 * real fill price. Every decision and failure is stored with its reason.
 */
import type { BrokerOrder, BrokerSession, OrderRequest } from "../brokers/port";
import type { Sql } from "../db/client";
import { isTransientDbError } from "../db/transient";
import type { Directory } from "../directory";
import type { ContractSpec } from "../domain/contract";
import { asBrokerOrderId, type ClientOrderId, clientOrderId } from "../domain/ids";
import { type Intent, isEntryLeg, type Plan, plan, signalAgeMs, withoutEntries } from "../domain/planner";
import { effectiveSettings, type RecorderSettings, type TraderOverrides } from "../domain/settings";
import type { Signal } from "../domain/signal";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { SessionPool } from "../sessions/pool";
import type { ContractBook } from "./contracts";
import type { FillRecorder } from "./fills";
import type { Journal } from "./journal";
import { BrokerUnreachable, type LegContext, type LegResult, lookUpOrder, sendLeg } from "./legs";
import { protectPosition } from "./protect";

export interface ExecutionJob {
  executionId: string;
  signalId: string;
  traderId: string;
  accountId: string;
  recorderId: string;
  receivedAt: Date;
  signal: Signal;
  /** True when resuming after a restart: ask the broker before sending anything. */
  resume: boolean;
  /** The plan stored before a crash, reused as is on resume. */
  storedPlan?: Plan;
}

/** Refuses new exposure for a trader (breached loss limit, kill switch); undefined lets it through. */
export type EntryGate = (who: { traderId: string; accountId: string }) => string | undefined;

export interface ExecutorDeps {
  sql: Sql;
  logger: Logger;
  directory: Directory;
  pool: SessionPool;
  fills: FillRecorder;
  contracts: ContractBook;
  journal: Journal;
  fillWaitMs: number;
  now?: () => Date;
  settleDelaysMs?: number[];
  unreachableDelaysMs?: number[];
  /** Consulted before every plan that would add exposure. */
  entryGate?: EntryGate;
  metrics?: Metrics;
  /** Told about every execution that ends, to summarize signals and raise alerts. */
  onFinished?: (job: ExecutionJob, outcome: { status: string; problems: string[] }) => void;
}

class ExecutionStopped extends Error {
  constructor(
    readonly status: "failed" | "unknown",
    message: string,
  ) {
    super(message);
  }
}

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

  /** Runs one execution; a transient database failure hands it back (with its plan) to be run again. */
  async run(job: ExecutionJob): Promise<{ retry?: { plan?: Plan } }> {
    const state: { plan?: Plan } = {};
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
          { event: "ExecutionPaused", reason: String((error as Error)?.message ?? error) },
          "the database is not answering; the execution resumes shortly, asking the broker first",
        );
        return { retry: state.plan ? { plan: state.plan } : {} };
      }
      const stopped = error instanceof ExecutionStopped;
      const unreachable = error instanceof BrokerUnreachable;
      const status = stopped ? error.status : unreachable ? "unknown" : "failed";
      const message =
        stopped || unreachable
          ? (error as Error).message
          : `internal error: ${String((error as Error)?.message ?? error)}`;
      log.error({ event: "ExecutionFailed", status, reason: message }, "execution failed");
      try {
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
    this.deps.metrics?.executions.inc({ status: outcome.status, decision: outcome.decision ?? "none" });
    this.deps.onFinished?.(job, outcome);
    return {};
  }

  private async execute(
    job: ExecutionJob,
    log: Logger,
    state: { plan?: Plan },
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
    const session = await this.session(job.accountId);
    const symbol = trader.overrides.ticker ?? recorder.settings.ticker ?? job.signal.ticker;
    const contract = await this.contract(session, symbol);
    const brokerAccountId = trader.brokerAccountId;
    const position = await this.deps.journal.position({
      traderId: trader.id,
      brokerAccountId,
      contract: contract.name,
    });

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
      });
    const blocked = job.storedPlan
      ? undefined
      : this.deps.entryGate?.({ traderId: trader.id, accountId: job.accountId });
    const thePlan = blocked ? withoutEntries(planned, blocked) : planned;
    state.plan = thePlan;
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
    await this.deps.journal.start({
      id: job.executionId,
      plan: planToJson(thePlan),
      decision: thePlan.decision,
      reason: thePlan.reason,
      contract: contract.name,
    });

    const run: Run = {
      job,
      plan: thePlan,
      problems: [],
      notes: [],
      startedAfterMs: startedAt - job.receivedAt.getTime(),
      leg: {
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
        ...(this.deps.settleDelaysMs ? { settleDelaysMs: this.deps.settleDelaysMs } : {}),
        ...(this.deps.unreachableDelaysMs ? { unreachableDelaysMs: this.deps.unreachableDelaysMs } : {}),
        mayResend: (leg) => !isEntryLeg(leg) || this.mayStillEnter(job, recorder.settings, trader),
      },
    };
    for (const intent of thePlan.intents) await this.carryOut(run, intent);

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
      },
      thePlan.reason,
    );
    return { status, problems: run.problems, decision: thePlan.decision };
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
        return this.market(run, intent.leg, intent.side, intent.qty);
      case "protect":
        return this.protect(run);
    }
  }

  /** A market order (entry, add or close), then a bounded wait for its fill. */
  private async market(run: Run, leg: string, side: "buy" | "sell", qty: number): Promise<void> {
    const req: OrderRequest = {
      clientOrderId: clientOrderId(run.job.signalId, run.job.traderId, leg),
      brokerAccountId: run.leg.brokerAccountId,
      contract: run.leg.contract,
      side,
      qty,
      type: "market",
      ...(run.job.signal.price !== undefined ? { referencePrice: run.job.signal.price } : {}),
    };
    if (run.firstSendAfterMs === undefined) {
      run.firstSendAfterMs = Date.now() - run.job.receivedAt.getTime();
      this.deps.metrics?.stage("sent", run.job.receivedAt);
    }
    const result = await sendLeg(run.leg, leg, req);
    this.acked(run, result, leg);
    // Filled in the reply, or found filled at the broker when resuming: nothing to wait for.
    if (result.kind === "accepted" && result.filled && result.filled.qty >= qty) {
      this.deps.metrics?.stage("filled", run.job.receivedAt);
      return;
    }
    const fill = await this.deps.fills.waitForFill(req.clientOrderId, qty, this.deps.fillWaitMs);
    if (fill) this.deps.metrics?.stage("filled", run.job.receivedAt);
    if (!fill) {
      this.deps.logger.warn(
        { event: "FillNotReported", signalId: run.job.signalId, leg, clientOrderId: req.clientOrderId },
        "no fill report in time; asking the broker",
      );
      const found = await run.leg.session
        .findOrder(run.leg.brokerAccountId, req.clientOrderId)
        .catch(() => null);
      if (found && found.filledQty >= qty && found.avgFillPrice !== undefined) {
        // The broker has it filled though the report never reached us: book it from the broker's answer.
        await this.deps.fills.recordFromBroker(
          run.job.accountId,
          req.clientOrderId,
          run.leg.contract.name,
          found,
        );
        return;
      }
      run.problems.push(
        `no fill report for the ${leg} order within ${this.deps.fillWaitMs} ms; position unprotected until reconciliation`,
      );
      throw new ExecutionStopped("unknown", run.problems.join("; "));
    }
  }

  /** Exits for the trader's whole position from its average price, after the entry's real fill. */
  private async protect(run: Run): Promise<void> {
    const p = await protectPosition(
      run.leg,
      this.deps.journal,
      run.job.signalId,
      run.job.traderId,
      run.plan.exits,
    );
    run.problems.push(...p.problems);
    for (const { leg, result } of p.results) this.acked(run, result, leg, true);
  }

  /**
   * Cancels only this trader's orders of that kind in this contract. Each cancel stands alone: an order
   * that is already gone never stops the next step, which is usually placing the new protection.
   */
  private async cancelOwn(run: Run, kind: "exits" | "entries"): Promise<void> {
    const rows = await this.deps.journal.liveOrders({
      traderId: run.job.traderId,
      brokerAccountId: run.leg.brokerAccountId,
      contract: run.leg.contract.name,
      kind,
    });
    for (const row of rows) {
      let brokerOrderId = row.brokerOrderId;
      if (!brokerOrderId) {
        const found = await this.lookUp(run, row.clientOrderId);
        if (found === "unreachable") {
          run.problems.push(`could not ask the broker about ${row.leg}; left to reconciliation`);
          continue;
        }
        if (!found) {
          await this.deps.journal.mark({
            clientOrderId: row.clientOrderId,
            status: "cancelled",
            reason: "never reached the broker",
          });
          continue;
        }
        brokerOrderId = found.brokerOrderId;
      }
      const outcome = await run.leg.session.cancelOrder(
        run.leg.brokerAccountId,
        asBrokerOrderId(brokerOrderId),
      );
      if (outcome.kind === "cancelled") {
        await this.deps.journal.mark({ clientOrderId: row.clientOrderId, status: "cancelled" });
      } else if (outcome.kind === "gone") {
        await this.settleGone(run, row.clientOrderId, brokerOrderId, outcome.reason);
      } else if (outcome.kind === "unknown") {
        // No answer to the cancel: the broker's record says whether it took effect.
        await this.settleCancel(run, row, brokerOrderId, outcome.reason);
      } else {
        run.problems.push(`could not cancel ${row.leg} (${outcome.reason})`);
      }
    }
  }

  private lookUp(run: Run, clientOrderId: string): Promise<BrokerOrder | null | "unreachable"> {
    return lookUpOrder(run.leg, clientOrderId as ClientOrderId);
  }

  /**
   * A cancel whose reply never came: cancelled or filled as the broker records it, or, still working,
   * cancelled once more.
   */
  private async settleCancel(
    run: Run,
    row: { clientOrderId: string; leg: string },
    brokerOrderId: string,
    why: string,
  ): Promise<void> {
    const found = await this.lookUp(run, row.clientOrderId);
    if (found === "unreachable") {
      run.problems.push(`could not cancel ${row.leg} (${why}); left to reconciliation`);
      return;
    }
    if (found?.status === "working" || found?.status === "pending") {
      // The cancel never took effect (it died with the socket); cancelling is safe to repeat.
      const again = await run.leg.session.cancelOrder(
        run.leg.brokerAccountId,
        asBrokerOrderId(brokerOrderId),
      );
      if (again.kind === "cancelled") {
        await this.deps.journal.mark({ clientOrderId: row.clientOrderId, status: "cancelled" });
      } else if (again.kind === "gone") {
        await this.settleGone(run, row.clientOrderId, brokerOrderId, again.reason);
      } else {
        run.problems.push(`could not cancel ${row.leg} (${again.reason}); left to reconciliation`);
      }
      return;
    }
    await this.settleGone(run, row.clientOrderId, brokerOrderId, why, found);
  }

  /**
   * An exit we meant to cancel is already gone at the broker. If it was filled (a stop hit a moment ago),
   * book that fill now, so the close that follows sees the position as it really is. When the broker
   * cannot be asked, the order is left 'unknown' for reconciliation rather than assumed cancelled.
   */
  private async settleGone(
    run: Run,
    clientOrderId: string,
    brokerOrderId: string,
    why: string,
    known?: BrokerOrder | null,
  ): Promise<void> {
    const found = known !== undefined ? known : await this.lookUp(run, clientOrderId);
    if (found === "unreachable") {
      await this.deps.journal.mark({ clientOrderId, status: "unknown", brokerOrderId, reason: why });
      run.problems.push(
        `could not learn whether a cancelled exit had filled (${why}); left to reconciliation`,
      );
      return;
    }
    if (
      found &&
      (await this.deps.fills.recordFromBroker(run.job.accountId, clientOrderId, run.leg.contract.name, found))
    ) {
      await this.deps.journal.mark({
        clientOrderId,
        status: found.filledQty >= found.qty ? "filled" : "cancelled",
        brokerOrderId,
      });
      return;
    }
    await this.deps.journal.mark({ clientOrderId, status: "cancelled", reason: why });
  }

  /**
   * A close sends only what the trader really still holds: an exit may have filled between planning and
   * now (its fill was booked by the cancel step), and closing more would open the other way.
   */
  private async close(run: Run, side: "buy" | "sell", planned: number): Promise<void> {
    const position = await this.deps.journal.position({
      traderId: run.job.traderId,
      brokerAccountId: run.leg.brokerAccountId,
      contract: run.leg.contract.name,
    });
    const net = position?.netQty ?? 0;
    const holding = side === "sell" ? Math.max(net, 0) : Math.max(-net, 0);
    const qty = Math.min(planned, holding);
    if (qty <= 0) {
      run.notes.push(`nothing left to close (an exit already closed it)`);
      return;
    }
    if (qty < planned) run.notes.push(`closed ${qty} instead of ${planned}: an exit already closed the rest`);
    await this.market(run, "close", side, qty);
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
    if (exit) {
      // The position exists; a refused exit leaves it unprotected, which is reported, not hidden.
      run.problems.push(
        `position unprotected: ${leg} ${result.kind === "rejected" ? "rejected" : "unknown"}: ${result.reason}`,
      );
      return;
    }
    throw new ExecutionStopped(
      result.kind === "rejected" ? "failed" : "unknown",
      `${leg} ${result.kind === "rejected" ? "rejected by the broker" : "outcome unknown"}: ${result.reason}`,
    );
  }

  private async session(accountId: string): Promise<BrokerSession> {
    try {
      return await this.deps.pool.session(accountId);
    } catch (error) {
      throw new ExecutionStopped("failed", `broker session unavailable: ${(error as Error).message}`);
    }
  }

  private async contract(session: BrokerSession, symbol: string): Promise<ContractSpec> {
    try {
      return await this.deps.contracts.resolve(session, symbol);
    } catch (error) {
      throw new ExecutionStopped("failed", `unknown contract "${symbol}": ${(error as Error).message}`);
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

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
