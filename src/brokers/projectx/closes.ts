/**
 * Which order a flatten placed. Position/closeContract returns no order id and its market order carries
 * no customTag, so `findOrder` could never find the close by the flatten's client order id and would say
 * the broker never received it. The session remembers each close it requested: by the order id settled
 * from the positions, or, when that is not known (no reply, not flat in time), by the first untagged
 * market order on that contract created after the request left. In memory only.
 */
import { asClientOrderId, type ClientOrderId } from "../../domain/ids";
import type { BrokerOrder } from "../port";
import { accountNumber, orderOf, parseTime, WireType } from "./parse";
import type { OrderWire } from "./wire";

interface Close {
  accountId: number;
  contractId: string;
  /** When the request left (ms). */
  sentAt: number;
  orderId?: number;
}

/** Broker timestamps may run behind ours. */
const CLOCK_MARGIN_MS = 5_000;
const KEEP = 1_000;

export class CloseBook {
  private readonly closes = new Map<string, Close>();

  /** Before closeContract is sent. */
  requested(clientOrderId: ClientOrderId, accountId: number, contractId: string): void {
    this.closes.set(clientOrderId, { accountId, contractId, sentAt: Date.now() });
    if (this.closes.size > KEEP) this.closes.delete(this.closes.keys().next().value ?? "");
  }

  /** The close's order id, once known. */
  settled(clientOrderId: ClientOrderId, orderId: number): void {
    const close = this.closes.get(clientOrderId);
    if (close) close.orderId = orderId;
  }

  /** Nothing was placed (the account was already flat, or the gateway refused). */
  forget(clientOrderId: ClientOrderId): void {
    this.closes.delete(clientOrderId);
  }

  /** When the search for this close's order must begin (undefined: not a close we requested). */
  searchFrom(account: string, clientOrderId: ClientOrderId): number | undefined {
    const close = this.closes.get(clientOrderId);
    if (!close || close.accountId !== accountNumber(account)) return undefined;
    return close.sentAt - CLOCK_MARGIN_MS;
  }

  /** The close among the account's orders (from Order/search), reported under the flatten's id. */
  find(clientOrderId: ClientOrderId, orders: OrderWire[]): BrokerOrder | null {
    const close = this.closes.get(clientOrderId);
    if (!close) return null;
    const from = close.sentAt - CLOCK_MARGIN_MS;
    const match =
      close.orderId !== undefined
        ? orders.find((o) => o.id === close.orderId)
        : orders
            .filter(
              (o) =>
                o.accountId === close.accountId &&
                o.contractId === close.contractId &&
                o.type === WireType.market &&
                !o.customTag &&
                parseTime(o.creationTimestamp, from).getTime() >= from,
            )
            .sort((a, b) => a.id - b.id)[0];
    if (!match) return null;
    close.orderId = match.id;
    return { ...orderOf(match), clientOrderId: asClientOrderId(clientOrderId) };
  }
}
