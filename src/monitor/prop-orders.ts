/**
 * Working orders per broker sub-account, as the broker streams them (OrderUpdated) and as a read-back
 * reports them, for max contracts. A read-back never undoes an order event that arrived while it ran.
 */
import type { BrokerOrder } from "../brokers/port";
import type { ContractExposure } from "../domain/prop-rules";
import type { Holding } from "./pnl-book";

interface WorkingOrder {
  brokerAccountId: string;
  contract: string;
  side: "buy" | "sell";
  remaining: number;
}

type OrderFields = Pick<
  BrokerOrder,
  "brokerOrderId" | "brokerAccountId" | "contract" | "side" | "qty" | "filledQty" | "status"
>;

export class WorkingOrders {
  /** accountId -> brokerOrderId -> working order. */
  private readonly orders = new Map<string, Map<string, WorkingOrder>>();
  /** Order events counted, and the count at each order's last event. */
  private events = 0;
  private readonly seen = new Map<string, number>();

  /** The count of order events so far: a read-back started now passes it to `replace`. */
  mark(): number {
    return this.events;
  }

  /** An order event from the broker. */
  onEvent(accountId: string, o: OrderFields): void {
    this.seen.set(`${accountId}|${o.brokerOrderId}`, ++this.events);
    this.track(accountId, o);
  }

  /** A read-back of one sub-account's working orders, started at `since` (`mark()`). */
  replace(accountId: string, brokerAccountId: string, working: OrderFields[], since: number): void {
    const newer = (orderId: string) => (this.seen.get(`${accountId}|${orderId}`) ?? 0) > since;
    const m = this.of(accountId);
    for (const [k, o] of m) if (o.brokerAccountId === brokerAccountId && !newer(k)) m.delete(k);
    for (const o of working) if (!newer(o.brokerOrderId)) this.track(accountId, o);
  }

  /** With no read-back in flight, the event marks protect nothing: forgotten. */
  prune(): void {
    this.seen.clear();
  }

  /** Open and working contracts of a sub-account, per contract. */
  exposures(holdings: Holding[], accountId: string, brokerAccountId: string): ContractExposure[] {
    const by = new Map<string, ContractExposure>();
    const of = (contract: string) => {
      let e = by.get(contract);
      if (!e) {
        e = { contract, netQty: 0, workingBuy: 0, workingSell: 0 };
        by.set(contract, e);
      }
      return e;
    };
    for (const h of holdings) if (h.brokerAccountId === brokerAccountId) of(h.contract).netQty += h.netQty;
    for (const o of this.orders.get(accountId)?.values() ?? []) {
      if (o.brokerAccountId !== brokerAccountId) continue;
      if (o.side === "buy") of(o.contract).workingBuy += o.remaining;
      else of(o.contract).workingSell += o.remaining;
    }
    return [...by.values()];
  }

  private of(accountId: string): Map<string, WorkingOrder> {
    let m = this.orders.get(accountId);
    if (!m) {
      m = new Map();
      this.orders.set(accountId, m);
    }
    return m;
  }

  private track(accountId: string, o: OrderFields): void {
    const m = this.of(accountId);
    const remaining = o.qty - o.filledQty;
    if ((o.status === "working" || o.status === "pending") && remaining > 0)
      m.set(o.brokerOrderId, {
        brokerAccountId: o.brokerAccountId,
        contract: o.contract,
        side: o.side,
        remaining,
      });
    else m.delete(o.brokerOrderId);
  }
}
