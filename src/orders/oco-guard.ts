/**
 * The relay's own one-cancels-other, behind the broker's. Each take-profit is paired with a stop (tp<n>
 * with sl<n>); when one of them fills completely, the other must not stay working, or it closes a position
 * that is already closed and opens the opposite one. Brokers link the pair themselves (Tradovate's OCO) or
 * through their adapter (ProjectX, Webull) while it runs; this guard covers what those cannot: links an
 * adapter forgot in a restart, a half sent alone after a crash between the two, a link the broker dropped.
 *
 * It works from the book, not from memory: a wholly filled exit, a short grace for the broker's own
 * cancel to arrive, then the partner still open in broker_orders is cancelled. A partner that turns out
 * to have filled too is booked and reported (the position is reversed); reconciliation sees the rest.
 */
import type { BrokerSession } from "../brokers/port";
import type { Sql } from "../db/client";
import { type AppliedFill, exitPartners, type OrderRow } from "../db/orders";
import type { ContractSpec } from "../domain/contract";
import type { BrokerAccountId } from "../domain/ids";
import type { Logger } from "../log";
import type { FillRecorder } from "./fills";
import type { Journal } from "./journal";
import type { OrderKernel } from "./kernel";
import type { LegContext } from "./legs";

export interface OcoGuardDeps {
  sql: Sql;
  logger: Logger;
  fills: FillRecorder;
  journal: Journal;
  kernel: OrderKernel;
  session(accountId: string): Promise<BrokerSession>;
  /** The broker's spec of a contract on this account (fills of the partner book against it). */
  spec(accountId: string, contract: string): Promise<ContractSpec>;
  /** Looks at the partner after each pause: the broker's own cancel usually lands within the first. */
  pausesMs?: number[];
}

const EXIT = /^(tp|sl)(\d+)$/;
const OPEN = new Set(["accepted", "working"]);

export class OcoGuard {
  private readonly tasks = new Set<Promise<void>>();
  private readonly watching = new Set<string>();
  private stopped = false;
  private unsubscribe?: () => void;

  constructor(private readonly d: OcoGuardDeps) {}

  start(): void {
    this.unsubscribe = this.d.fills.onApplied((accountId, applied) => this.onApplied(accountId, applied));
  }

  /** Waits for partners being cancelled (shutdown: before the sessions close). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await Promise.allSettled([...this.tasks]);
  }

  private onApplied(accountId: string, { order }: AppliedFill): void {
    const m = EXIT.exec(order.leg);
    if (!m || this.stopped || order.traderId === null || order.filledQty < order.qty) return;
    if (this.watching.has(order.clientOrderId)) return;
    this.watching.add(order.clientOrderId);
    const partnerLeg = `${m[1] === "tp" ? "sl" : "tp"}${m[2]}`;
    const task = this.guard(accountId, order, partnerLeg)
      .catch((error) =>
        this.d.logger.error(
          { event: "OcoGuardFailed", clientOrderId: order.clientOrderId, error: String(error) },
          "could not check the other half of a filled exit; reconciliation will",
        ),
      )
      .finally(() => {
        this.tasks.delete(task);
        this.watching.delete(order.clientOrderId);
      });
    this.tasks.add(task);
  }

  private async guard(accountId: string, filled: OrderRow, partnerLeg: string): Promise<void> {
    for (const pause of this.d.pausesMs ?? [1_000, 3_000, 10_000]) {
      await new Promise((r) => setTimeout(r, pause));
      if (this.stopped) return;
      const partners = await exitPartners(this.d.sql, filled, partnerLeg);
      if (partners.length === 0) return; // the broker (or its adapter) already cancelled it
      if (partners.length > 1) {
        this.d.logger.warn(
          {
            event: "OcoPartnerAmbiguous",
            clientOrderId: filled.clientOrderId,
            candidates: partners.map((p) => p.clientOrderId),
          },
          "more than one open order could be the other half of a filled exit; left to reconciliation",
        );
        return;
      }
      const partner = partners[0] as OrderRow & { signalId: string | null };
      // Still being sent or settled: its own path decides it; look again after the next pause.
      if (!OPEN.has(partner.status)) continue;
      await this.cancel(accountId, filled, partner);
      return;
    }
  }

  private async cancel(
    accountId: string,
    filled: OrderRow,
    partner: OrderRow & { signalId: string | null },
  ): Promise<void> {
    const log = this.d.logger.child({
      ...(partner.signalId ? { signalId: partner.signalId } : {}),
      ...(partner.executionId ? { executionId: partner.executionId } : {}),
      traderId: partner.traderId,
    });
    const session = await this.d.session(accountId);
    const ctx: LegContext = {
      journal: this.d.journal,
      log,
      session,
      fills: this.d.fills,
      accountId,
      executionId: partner.executionId,
      traderId: partner.traderId,
      brokerAccountId: partner.brokerAccountId as BrokerAccountId,
      contract: await this.d.spec(accountId, partner.contract),
      checkFirst: false,
    };
    const report = await this.d.kernel.cancel(
      ctx,
      [partner],
      `cancelled: ${filled.leg} filled and the broker had not cancelled this half`,
    );
    if (report.filled.length > 0) {
      log.error(
        { event: "OcoBothFilled", filled: filled.clientOrderId, alsoFilled: partner.clientOrderId },
        `${filled.leg} and ${partner.leg} both filled: the position is reversed`,
      );
      return;
    }
    if (report.problems.length > 0) {
      log.error(
        {
          event: "OcoPartnerLeft",
          filled: filled.clientOrderId,
          partner: partner.clientOrderId,
          reason: report.problems.join("; "),
        },
        `${filled.leg} filled but ${partner.leg} could not be cancelled (${report.problems.join("; ")}); left to reconciliation`,
      );
      return;
    }
    log.warn(
      { event: "OcoPartnerCancelled", filled: filled.clientOrderId, cancelled: partner.clientOrderId },
      `${filled.leg} filled and ${partner.leg} was still working; cancelled it`,
    );
  }
}
