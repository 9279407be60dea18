/**
 * The order kernel: the one place that sends, cancels and closes orders and keeps the book true to the
 * broker. The executor, the loss monitor, reconciliation, the OCO guard and deletes all call it; none of
 * them sends a close or cancels an order any other way.
 *
 * | operation | rule |
 * |---|---|
 * | `cancel`  | each cancel stands alone; "gone" is settled from the broker's record (fills booked) |
 * | `close`   | sends at most what the broker holds in that direction for the trader (domain/broker-truth) |
 * | `protect` | exits only for a position the broker confirms |
 * | `correct` | the book follows the broker, reported as drift; never the broker the book |
 *
 * A broker that cannot be reached makes these throw BrokerUnreachable (nothing was decided): the caller
 * waits and tries again with the same client order ids.
 */
import type { Sql } from "../db/client";
import type { Dec } from "../domain/decimal";
import type { ExitSpec } from "../domain/planner";
import type { Logger } from "../log";
import { brokerNet } from "./broker-view";
import { type CancelReport, type CancelTarget, cancelOrders } from "./cancel";
import { type CloseReport, type CloseRequest, closePosition } from "./close";
import { type ContractKey, type CorrectionResult, correctBook } from "./correct";
import type { Drift } from "./drift";
import type { FillRecorder } from "./fills";
import type { Journal } from "./journal";
import type { LegContext } from "./legs";
import { ContractLocks } from "./locks";
import { type Protection, protectPosition } from "./protect";
import type { StopHooks } from "./stop-manager";

export interface KernelDeps {
  sql: Sql;
  logger: Logger;
  journal: Journal;
  fills: FillRecorder;
  drift: { report(d: Drift): Promise<boolean> };
  /** Bounded wait for a market order's fill report before asking the broker. */
  fillWaitMs: number;
  /** The last quote of a contract on an account (prices a correction no broker fill explains). */
  lastPrice?: (accountId: string, contract: string) => Dec | undefined;
  /**
   * How long the broker may take to show a position our fills already booked (its position report can
   * trail the fill report) before the book is corrected to it. Default 3 s.
   */
  confirmMs?: number;
  /** Issue 14: the stop manager, told of every protection (break-even, relay-managed trailing). */
  stops?: StopHooks;
}

export class OrderKernel {
  readonly locks = new ContractLocks();

  constructor(readonly d: KernelDeps) {}

  cancel(ctx: LegContext, targets: CancelTarget[], reason?: string): Promise<CancelReport> {
    return cancelOrders(ctx, targets, reason);
  }

  close(ctx: LegContext, req: CloseRequest): Promise<CloseReport> {
    return this.locked(ctx, () => closePosition(this.d, ctx, req));
  }

  protect(ctx: LegContext, seed: string, traderId: string, spec: ExitSpec): Promise<Protection> {
    return this.locked(ctx, () => protectPosition(this.d, ctx, seed, traderId, spec));
  }

  /** Reads the broker and cuts the book of the contract to it; used by reconciliation. */
  correct(ctx: LegContext, why: string, known?: number): Promise<CorrectionResult> {
    return this.locked(ctx, async () => {
      const net = known ?? (await brokerNet(ctx.session, ctx.brokerAccountId, ctx.contract.name));
      return correctBook(this.d, keyOf(ctx), net, why);
    });
  }

  /** Runs `work` holding the contract's lock (broker-native liquidations, deletes). */
  locked<T>(ctx: LegContext, work: () => Promise<T>): Promise<T> {
    const k = keyOf(ctx);
    return this.locks.run(ContractLocks.key(k.accountId, k.brokerAccountId, k.contract), work);
  }
}

export const keyOf = (ctx: LegContext): ContractKey => ({
  accountId: ctx.accountId,
  brokerAccountId: ctx.brokerAccountId,
  contract: ctx.contract.name,
});
