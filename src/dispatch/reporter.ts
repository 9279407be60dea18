/**
 * Turns finished executions into relay events: a failure or an unprotected position is reported at once
 * (urgent), and when the last execution of a signal finishes, one summary for the whole signal.
 * Runs beside trading: its queries never hold up an execution, and its errors are only logged.
 */
import type { Sql } from "../db/client";
import { type ExecutionView, executionsOfSignal } from "../db/executions";
import { getPosition } from "../db/positions";
import { claimSignalSummary, getSignal } from "../db/signals";
import type { EventBus, TraderOutcome } from "../events";
import type { Logger } from "../log";
import type { ExecutionJob } from "./executor";

export function traderOutcome(e: ExecutionView): TraderOutcome {
  const main = e.orders.find((o) => o.leg === "entry" || o.leg === "add" || o.leg === "close");
  return {
    traderId: e.traderId,
    accountId: e.accountId,
    accountName: e.accountName,
    broker: e.broker,
    brokerAccountId: e.brokerAccountId,
    status: e.status,
    decision: e.decision,
    reason: e.reason,
    error: e.error,
    latencyMs: e.latencyMs,
    contract: e.contract,
    fillPrice: (main?.fillPrice as string | null | undefined) ?? null,
    filledQty: (main?.filledQty as number | undefined) ?? null,
  };
}

export class SignalReporter {
  constructor(
    private readonly sql: Sql,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  finished(job: ExecutionJob, outcome: { status: string; problems: string[] }): void {
    void this.report(job, outcome).catch((error) =>
      this.logger.warn(
        { event: "ReportFailed", signalId: job.signalId, error: String(error) },
        "could not report an execution",
      ),
    );
  }

  private async report(job: ExecutionJob, outcome: { status: string; problems: string[] }): Promise<void> {
    const urgent =
      outcome.status === "failed" ||
      outcome.status === "unknown" ||
      outcome.problems.some((p) => p.includes("unprotected"));
    if (urgent) {
      const views = await executionsOfSignal(this.sql, job.signalId);
      const mine = views.find((v) => v.id === job.executionId);
      if (mine) {
        const at = new Date();
        if (outcome.status === "failed" || outcome.status === "unknown") {
          this.bus.emit({
            type: "ExecutionFailed",
            at,
            signalId: job.signalId,
            recorderId: mine.recorderId,
            recorderName: mine.recorderName,
            trader: traderOutcome(mine),
          });
        }
        const unprotected = outcome.problems.find((p) => p.includes("unprotected"));
        if (unprotected) {
          const position = mine.contract
            ? await getPosition(this.sql, {
                traderId: mine.traderId,
                brokerAccountId: mine.brokerAccountId,
                contract: mine.contract,
              })
            : undefined;
          this.bus.emit({
            type: "PositionUnprotected",
            at,
            signalId: job.signalId,
            recorderId: mine.recorderId,
            traderId: mine.traderId,
            accountId: mine.accountId,
            accountName: mine.accountName,
            contract: mine.contract ?? job.signal.ticker,
            netQty: position?.netQty ?? 0,
            reason: unprotected,
          });
        }
      }
    }
  }

  /** An execution started waiting for its broker: said at once (urgent), once per execution. */
  waiting(job: ExecutionJob, reason: string): void {
    void this.announceWaiting(job, reason).catch((error) =>
      this.logger.warn(
        { event: "ReportFailed", signalId: job.signalId, error: String(error) },
        "could not report a waiting execution",
      ),
    );
  }

  private async announceWaiting(job: ExecutionJob, reason: string): Promise<void> {
    const views = await executionsOfSignal(this.sql, job.signalId);
    const mine = views.find((v) => v.id === job.executionId);
    if (!mine) return;
    this.bus.emit({
      type: "ExecutionWaiting",
      at: new Date(),
      signalId: job.signalId,
      recorderId: mine.recorderId,
      recorderName: mine.recorderName,
      trader: { ...traderOutcome(mine), error: reason },
    });
  }

  /** All of a signal's executions here have finished: one summary, if no other relay still runs some. */
  signalDone(signalId: string): void {
    void this.summarize(signalId).catch((error) =>
      this.logger.warn(
        { event: "ReportFailed", signalId, error: String(error) },
        "could not summarize a signal",
      ),
    );
  }

  private async summarize(signalId: string): Promise<void> {
    if (!(await claimSignalSummary(this.sql, signalId))) return;
    const views = await executionsOfSignal(this.sql, signalId);
    const signal = await getSignal(this.sql, signalId);
    if (!signal) return;
    this.bus.emit({
      type: "SignalExecuted",
      at: new Date(),
      signalId: signal.id,
      recorderId: signal.recorderId,
      recorderName: signal.recorderName,
      ticker: signal.ticker,
      action: signal.action,
      receivedAt: signal.receivedAt,
      traders: views.map(traderOutcome),
    });
  }
}
