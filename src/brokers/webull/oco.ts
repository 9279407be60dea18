/**
 * Adapter-managed OCO. Webull's order API has no one-cancels-other for two exits, so the session places
 * both legs and this book watches them through the poller:
 *   - a leg fills completely -> cancel the other leg (retried until it is cancelled or gone);
 *   - a leg fills partly     -> shrink the other leg to the quantity still open;
 *   - a leg is cancelled or fails -> the pair dissolves and the other leg stays working on its own.
 * The reaction comes one poll after the fill, so a fast market can fill both legs; that is logged as
 * OcoBothFilled (error) for the reconciliation to see. Pairs live in memory only: after a restart the
 * relay's OCO guard (src/dispatch/oco-guard.ts) cancels a survivor from the book instead.
 */
import type { Logger } from "pino";
import type { BrokerAccountId } from "../../domain/ids";
import type { BrokerOrder, CancelOutcome, OrderOutcome } from "../port";
import { pause } from "./api";

interface Pair {
  account: BrokerAccountId;
  legs: [string, string];
  /** The leg that filled first, once one did. */
  filled?: string;
}

export interface OcoDeps {
  cancel(account: BrokerAccountId, clientOrderId: string): Promise<CancelOutcome>;
  reduce(account: BrokerAccountId, clientOrderId: string, qty: number): Promise<OrderOutcome>;
  known(account: BrokerAccountId, clientOrderId: string): BrokerOrder | undefined;
  logger: Logger;
  signal: AbortSignal;
}

const CANCEL_ATTEMPTS = 5;
const key = (account: string, id: string) => `${account}\u0000${id}`;

export class OcoBook {
  private readonly byLeg = new Map<string, Pair>();
  private readonly tasks = new Set<Promise<void>>();

  constructor(private readonly deps: OcoDeps) {}

  arm(account: BrokerAccountId, first: string, second: string): void {
    const pair: Pair = { account, legs: [first, second] };
    this.byLeg.set(key(account, first), pair);
    this.byLeg.set(key(account, second), pair);
    this.deps.logger.info({ event: "OcoArmed", account, legs: pair.legs }, "adapter-managed OCO armed");
  }

  /** Forgets the pair one of whose legs is `clientOrderId`. */
  disarm(account: BrokerAccountId, clientOrderId: string): void {
    const pair = this.byLeg.get(key(account, clientOrderId));
    if (pair) this.dissolve(pair);
  }

  /** Poller hook: an order changed. */
  onOrder(order: BrokerOrder): void {
    const id = order.clientOrderId;
    if (!id) return;
    const pair = this.byLeg.get(key(order.brokerAccountId, id));
    if (!pair) return;
    const other = pair.legs[0] === id ? pair.legs[1] : pair.legs[0];
    if (pair.filled !== undefined) {
      if (order.status === "filled" && pair.filled !== id) {
        this.deps.logger.error(
          { event: "OcoBothFilled", account: pair.account, legs: pair.legs },
          "both legs of an adapter-managed OCO filled: the position may be reversed",
        );
      }
      if (order.status !== "working" && order.status !== "pending") this.dissolve(pair);
      // The survivor showed up (or changed) after its twin filled: it must not keep working.
      else if (id !== pair.filled) this.track(this.cancelSurvivor(pair, id));
      return;
    }
    if (order.status === "filled") {
      pair.filled = id;
      this.track(this.cancelSurvivor(pair, other));
    } else if (order.status === "cancelled" || order.status === "rejected") {
      this.dissolve(pair);
    } else if (order.filledQty > 0) {
      const open = order.qty - order.filledQty;
      const partner = this.deps.known(pair.account, other);
      if (open > 0 && partner && partner.qty - partner.filledQty > open) {
        this.track(this.shrink(pair, other, open + partner.filledQty));
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.tasks]);
  }

  private dissolve(pair: Pair): void {
    for (const leg of pair.legs) this.byLeg.delete(key(pair.account, leg));
  }

  private track(task: Promise<void>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private async cancelSurvivor(pair: Pair, survivor: string): Promise<void> {
    for (let attempt = 1; attempt <= CANCEL_ATTEMPTS && !this.deps.signal.aborted; attempt++) {
      const outcome = await this.deps.cancel(pair.account, survivor);
      if (outcome.kind === "cancelled" || outcome.kind === "gone") {
        this.deps.logger.info(
          { event: "OcoSurvivorCancelled", account: pair.account, survivor, outcome: outcome.kind },
          "OCO partner cancelled after its twin filled",
        );
        return;
      }
      this.deps.logger.warn(
        { event: "OcoCancelRetried", account: pair.account, survivor, attempt, reason: outcome.reason },
        "could not cancel the OCO survivor yet",
      );
      await pause(1_000 * attempt, this.deps.signal);
    }
    this.deps.logger.error(
      { event: "OcoSurvivorLeft", account: pair.account, survivor },
      "the OCO survivor could not be cancelled: it is still working at Webull",
    );
  }

  private async shrink(pair: Pair, leg: string, qty: number): Promise<void> {
    const outcome = await this.deps.reduce(pair.account, leg, qty);
    if (outcome.kind !== "accepted") {
      this.deps.logger.warn(
        { event: "OcoShrinkFailed", account: pair.account, leg, qty, reason: outcome.reason },
        "could not shrink the OCO partner after a partial fill",
      );
    }
  }
}
