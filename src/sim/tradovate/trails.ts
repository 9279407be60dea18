/**
 * TrailingStop orders: the exchange keeps the distance between the market and the stop at placement (and
 * after a modify of its stopPrice) behind the best price since, moving the stop only toward the market.
 * Each move is a new orderVersion with an executionReport `Replaced`, as a modify would give.
 * [INFERRED] Tradovate's docs name the order type and its `stopPrice`; how far it trails is not spelled
 * out, so the sim uses the placement distance, as ProjectX documents for its type 5.
 */
import { abs, add, type Dec, isZero, sub } from "../../domain/decimal";
import type { Venue } from "../../domain/venue/engine";
import type { EntityStore } from "./entities";

export class Trails {
  private readonly distance = new Map<number, Dec>();

  constructor(
    private readonly venue: Venue,
    private readonly store: EntityStore,
  ) {}

  /**
   * Starts (or re-starts after a modify) trailing an order at its distance from the last price; the
   * reason it cannot, or undefined.
   */
  arm(orderId: number, contract: string, stopPrice: Dec): string | undefined {
    const last = this.venue.lastPrice(contract);
    if (last === undefined) return `No quote available for ${contract}`;
    const gap = abs(sub(last, stopPrice));
    if (isZero(gap)) return "A trailing stop needs a stopPrice away from the market";
    this.distance.set(orderId, gap);
    return undefined;
  }

  /** A new last price: every working trailing stop of the contract follows it where that is tighter. */
  ratchet(contract: string, last: Dec): void {
    for (const [id, gap] of this.distance) {
      const order = this.venue.order(id);
      if (!order || (order.status !== "working" && order.status !== "held")) {
        this.distance.delete(id); // filled or cancelled: nothing left to trail
        continue;
      }
      if (order.contract !== contract || order.status !== "working" || order.stopPrice === undefined)
        continue;
      const target = order.side === "sell" ? sub(last, gap) : add(last, gap);
      const better = order.side === "sell" ? target > order.stopPrice : target < order.stopPrice;
      if (better) this.store.withExchangeMove(id, () => this.venue.modify(id, { stopPrice: target }));
    }
  }
}
