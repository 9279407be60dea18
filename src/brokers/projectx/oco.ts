/**
 * Adapter-side OCO. The gateway has no standalone OCO endpoint (only Auto-OCO brackets attached to an
 * entry), so `placeOco` places the two exits as separate orders and this class links them: when one
 * fills, the other is cancelled; when one fills partly, the other is reduced by the same quantity.
 *
 * Fills are seen through the user hub; after a hub reconnect (and every few seconds while the hub is
 * down) the links are checked against Order/search, because missed events are not replayed.
 * Limits: links live in memory, so a restart forgets them (the relay's OCO guard, src/dispatch/oco-guard.ts,
 * cancels a forgotten partner from the book); in a fast market both exits can fill before the cancel lands.
 */
import {
  asBrokerOrderId,
  type BrokerAccountId,
  type BrokerOrderId,
  type ClientOrderId,
} from "../../domain/ids";
import type { Logger } from "../../log";
import type { CancelOutcome, OrderOutcome, OrderRequest } from "../port";
import type { OrderWire } from "./wire";

interface Leg {
  clientOrderId: ClientOrderId;
  brokerOrderId?: BrokerOrderId;
  /** Quantity as placed. */
  qty: number;
  /** Quantity still working after reductions. */
  working?: number;
  filled: number;
}

interface Pair {
  account: BrokerAccountId;
  legs: [Leg, Leg];
  done: boolean;
}

export interface OcoOps {
  cancel(account: BrokerAccountId, orderId: BrokerOrderId): Promise<CancelOutcome>;
  modifyQty(account: BrokerAccountId, orderId: BrokerOrderId, qty: number): Promise<OrderOutcome>;
  /** The broker id of a leg whose placement outcome was unknown. */
  find(account: BrokerAccountId, clientOrderId: ClientOrderId): Promise<BrokerOrderId | undefined>;
}

export class OcoLinks {
  private readonly pairs: Pair[] = [];

  constructor(
    private readonly ops: OcoOps,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.pairs.length;
  }

  accounts(): BrokerAccountId[] {
    return [...new Set(this.pairs.map((p) => p.account))];
  }

  /**
   * Places both legs and links them. The link exists before either order is sent, so a leg that fills at
   * once (a marketable target) still cancels its partner once the partner's id is known. A refused leg
   * dissolves the link; the other order stays as it is.
   */
  async placePair(
    first: OrderRequest,
    second: OrderRequest,
    place: (order: OrderRequest) => Promise<OrderOutcome>,
  ): Promise<[OrderOutcome, OrderOutcome]> {
    const legs: [Leg, Leg] = [
      { clientOrderId: first.clientOrderId, qty: first.qty, filled: 0 },
      { clientOrderId: second.clientOrderId, qty: second.qty, filled: 0 },
    ];
    const pair: Pair = { account: first.brokerAccountId, legs, done: false };
    this.pairs.push(pair);
    const outcomes = await Promise.all([place(first), place(second)]);
    outcomes.forEach((o, i) => {
      const leg = legs[i];
      if (leg && o.kind === "accepted") leg.brokerOrderId ??= o.brokerOrderId;
    });
    if (outcomes.some((o) => o.kind === "rejected")) pair.done = true;
    else {
      for (const [i, leg] of legs.entries())
        if (!pair.done && leg.filled > 0) await this.settle(pair, leg, legs[1 - i] as Leg);
    }
    this.prune();
    return outcomes;
  }

  /** A fill seen on the hub (or reconstructed by reconciliation). */
  async onFill(
    account: BrokerAccountId,
    brokerOrderId: BrokerOrderId,
    clientOrderId: ClientOrderId | undefined,
    qty: number,
  ): Promise<void> {
    for (const pair of this.pairs) {
      if (pair.done || pair.account !== account) continue;
      const i = pair.legs.findIndex(
        (l) =>
          l.brokerOrderId === brokerOrderId ||
          (clientOrderId !== undefined && l.clientOrderId === clientOrderId),
      );
      if (i < 0) continue;
      const leg = pair.legs[i] as Leg;
      leg.brokerOrderId ??= brokerOrderId;
      leg.filled = Math.min(leg.qty, leg.filled + qty);
      await this.settle(pair, leg, pair.legs[1 - i] as Leg);
    }
    this.prune();
  }

  /** Final order state seen (hub or REST). A leg that ended unfilled dissolves the pair. */
  async onOrder(order: OrderWire): Promise<void> {
    for (const pair of this.pairs) {
      if (pair.done) continue;
      const i = pair.legs.findIndex(
        (l) =>
          l.brokerOrderId === String(order.id) || (order.customTag && l.clientOrderId === order.customTag),
      );
      if (i < 0) continue;
      const leg = pair.legs[i] as Leg;
      leg.brokerOrderId ??= asBrokerOrderId(String(order.id));
      const filled = order.fillVolume ?? 0;
      if (filled > leg.filled) {
        leg.filled = Math.min(leg.qty, filled);
        await this.settle(pair, leg, pair.legs[1 - i] as Leg);
      } else if (order.status === 3 || order.status === 4 || order.status === 5) {
        // Cancelled by someone else: the partner stays, unlinked (never cancel a protective order here).
        pair.done = true;
      }
    }
    this.prune();
  }

  /** Checks every pair of the account against the orders the gateway lists. */
  async reconcile(account: BrokerAccountId, orders: OrderWire[]): Promise<void> {
    for (const order of orders) if (String(order.accountId) === account) await this.onOrder(order);
  }

  private async settle(pair: Pair, leg: Leg, other: Leg): Promise<void> {
    other.brokerOrderId ??= await this.ops.find(pair.account, other.clientOrderId).catch(() => undefined);
    if (!other.brokerOrderId) {
      this.logger.warn(
        { event: "OcoPartnerUnknown", clientOrderId: other.clientOrderId },
        "OCO partner has no broker order id yet",
      );
      return;
    }
    if (leg.filled >= leg.qty) {
      pair.done = true;
      const outcome = await this.ops.cancel(pair.account, other.brokerOrderId);
      this.logger.info(
        {
          event: "OcoPartnerCancelled",
          filled: leg.clientOrderId,
          cancelled: other.clientOrderId,
          outcome: outcome.kind,
        },
        "OCO partner cancelled",
      );
      return;
    }
    const remaining = other.qty - leg.filled;
    if (remaining > 0 && remaining < (other.working ?? other.qty)) {
      const outcome = await this.ops.modifyQty(pair.account, other.brokerOrderId, remaining);
      if (outcome.kind === "accepted") other.working = remaining;
      this.logger.info(
        {
          event: "OcoPartnerReduced",
          clientOrderId: other.clientOrderId,
          qty: remaining,
          outcome: outcome.kind,
        },
        "OCO partner reduced after a partial fill",
      );
    }
  }

  private prune(): void {
    for (let i = this.pairs.length - 1; i >= 0; i--) if (this.pairs[i]?.done) this.pairs.splice(i, 1);
  }
}
