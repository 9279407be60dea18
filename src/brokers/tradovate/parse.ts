/**
 * Wire -> port: Tradovate entities and results turned into the broker port's types. No I/O.
 */
import { type Dec, dec } from "../../domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId } from "../../domain/ids";
import type { Side } from "../../domain/venue/types";
import type { BrokerOrder, BrokerOrderStatus, BrokerPosition, OrderType } from "../port";
import type { CashBalance, Command, Fill, Order, OrderResult, OrderVersion, Position } from "./wire";

const STATUS: Record<string, BrokerOrderStatus> = {
  PendingNew: "pending",
  Suspended: "pending",
  Unknown: "pending",
  Working: "working",
  PendingReplace: "working",
  PendingCancel: "working",
  Filled: "filled",
  Completed: "filled",
  Canceled: "cancelled",
  Expired: "cancelled",
  Rejected: "rejected",
};

export const orderStatus = (ordStatus: string): BrokerOrderStatus => STATUS[ordStatus] ?? "pending";

export const isTerminal = (ordStatus: string): boolean => {
  const s = orderStatus(ordStatus);
  return s === "filled" || s === "cancelled" || s === "rejected";
};

export const side = (action: string): Side => (action === "Sell" ? "sell" : "buy");
export const action = (s: Side): "Buy" | "Sell" => (s === "buy" ? "Buy" : "Sell");

export function orderType(wire: string): OrderType {
  if (wire === "Limit" || wire === "MIT") return "limit";
  if (wire === "Market" || wire === "QTS") return "market";
  if (wire === "TrailingStop") return "trailing_stop";
  return "stop";
}

const WIRE_TYPES = { market: "Market", limit: "Limit", stop: "Stop", trailing_stop: "TrailingStop" } as const;
export const wireOrderType = (t: OrderType): (typeof WIRE_TYPES)[OrderType] => WIRE_TYPES[t];

/** A JSON number from the wire as an exact decimal (its shortest decimal text). */
export const decimal = (n: number | null | undefined): Dec | undefined =>
  n === null || n === undefined || !Number.isFinite(n) ? undefined : dec(n);

/** Quantity-weighted average price of fills, exact. */
export function averagePrice(fills: Fill[]): Dec | undefined {
  let qty = 0;
  let cost = 0n;
  for (const f of fills) {
    qty += f.qty;
    cost += dec(f.price) * BigInt(f.qty);
  }
  if (qty === 0) return undefined;
  return ((cost * 2n + BigInt(qty)) / (2n * BigInt(qty))) as Dec;
}

export function toBrokerOrder(
  order: Order,
  version: OrderVersion | undefined,
  command: Command | undefined,
  fills: Fill[],
  contract: string,
  reason?: string,
): BrokerOrder {
  const filledQty = fills.reduce((n, f) => n + f.qty, 0);
  const price = decimal(version?.price);
  const stopPrice = decimal(version?.stopPrice);
  const avg = averagePrice(fills);
  return {
    brokerOrderId: asBrokerOrderId(String(order.id)),
    ...(command?.clOrdId ? { clientOrderId: asClientOrderId(command.clOrdId) } : {}),
    brokerAccountId: asBrokerAccountId(String(order.accountId)),
    contract,
    side: side(order.action),
    type: orderType(version?.orderType ?? "Market"),
    qty: version?.orderQty ?? filledQty,
    filledQty,
    ...(price !== undefined ? { price } : {}),
    ...(stopPrice !== undefined ? { stopPrice } : {}),
    ...(avg !== undefined ? { avgFillPrice: avg } : {}),
    status: orderStatus(order.ordStatus),
    ...(reason ? { reason } : {}),
  };
}

export function toBrokerPosition(p: Position, contract: string): BrokerPosition {
  const avg = decimal(p.netPrice ?? (p.netPos !== 0 ? p.prevPrice : undefined));
  return {
    brokerAccountId: asBrokerAccountId(String(p.accountId)),
    contract,
    netPos: p.netPos,
    ...(avg !== undefined && p.netPos !== 0 ? { avgPrice: avg } : {}),
  };
}

export function cashFields(c: CashBalance): { realizedPnl?: Dec; balance?: Dec } {
  const realized = decimal(c.realizedPnL);
  const balance = decimal(c.amount);
  return {
    ...(realized !== undefined ? { realizedPnl: realized } : {}),
    ...(balance !== undefined ? { balance } : {}),
  };
}

/** A business failure inside an HTTP-200 result, in the broker's words. */
export function failureOf(result: OrderResult): { reason: string; code?: string } | undefined {
  if (result.failureReason && result.failureReason !== "Success")
    return {
      reason: result.failureText || result.failureReason,
      code: result.failureReason,
    };
  if (result.errorText) return { reason: result.errorText };
  return undefined;
}
