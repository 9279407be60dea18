/**
 * Webull wire <-> domain: order requests to `new_orders` entries, order views to `BrokerOrder`, position
 * and balance views to domain values. No I/O.
 */
import { type ContractSpec, PRODUCTS, parseSymbol } from "../../domain/contract";
import { type Dec, isZero, toNum, toStr, tryDec } from "../../domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId, type BrokerAccountId } from "../../domain/ids";
import type { Side } from "../../domain/venue/types";
import type { BrokerOrder, BrokerOrderStatus, BrokerPosition, OrderRequest, OrderType } from "../port";
import type { NewOrderWire, OrderView, PositionView, WireInstrument } from "./wire";

/** Futures when the name is a dated contract of a known product ("MNQZ6"); anything else is an equity. */
export function instrumentOf(contract: Pick<ContractSpec, "name" | "root">): WireInstrument {
  const parsed = parseSymbol(contract.name);
  return parsed.kind === "dated" && PRODUCTS[parsed.root] ? "FUTURES" : "EQUITY";
}

/** The SDK's `category` header: market + "_" + instrument_type. */
export function categoryHeader(instrument: WireInstrument): string {
  return `US_${instrument}`;
}

/**
 * The `new_orders` entry for one request, or the reason it cannot be sent. Resting orders are GTC so a
 * protective stop does not silently expire at the end of the trading day; market orders are DAY.
 */
export function toNewOrder(req: OrderRequest): NewOrderWire | { invalid: string } {
  if (!Number.isInteger(req.qty) || req.qty <= 0) return { invalid: `invalid quantity ${req.qty}` };
  const instrument = instrumentOf(req.contract);
  const base = {
    combo_type: "NORMAL" as const,
    client_order_id: req.clientOrderId,
    symbol: req.contract.name,
    instrument_type: instrument,
    market: "US" as const,
    quantity: String(req.qty),
    side: req.side === "buy" ? ("BUY" as const) : ("SELL" as const),
    entrust_type: "QTY" as const,
    ...(instrument === "EQUITY" ? { support_trading_session: "CORE" as const } : {}),
  };
  switch (req.type) {
    case "trailing_stop":
      // Not used: the relay trails Webull stops itself (src/orders/stop-manager.ts).
      return { invalid: "no native trailing stop on Webull" };
    case "market":
      return { ...base, order_type: "MARKET", time_in_force: "DAY" };
    case "limit":
      if (req.price === undefined || req.price <= 0n) return { invalid: "limit order without a price" };
      return { ...base, order_type: "LIMIT", limit_price: toStr(req.price), time_in_force: "GTC" };
    case "stop":
      if (req.stopPrice === undefined || req.stopPrice <= 0n) {
        return { invalid: "stop order without a stop price" };
      }
      return { ...base, order_type: "STOP_LOSS", stop_price: toStr(req.stopPrice), time_in_force: "GTC" };
  }
}

const STATUS: Record<string, BrokerOrderStatus> = {
  SUBMITTED: "working",
  PARTIAL_FILLED: "working",
  FILLED: "filled",
  CANCELLED: "cancelled",
  FAILED: "rejected",
};

/** Unknown statuses read as `pending`: never final, so the order keeps being watched. */
export function orderStatus(wire: string): BrokerOrderStatus {
  return STATUS[wire.toUpperCase()] ?? "pending";
}

export function isFinal(status: BrokerOrderStatus): boolean {
  return status === "filled" || status === "cancelled" || status === "rejected";
}

function orderType(view: OrderView): OrderType {
  const t = view.order_type.toUpperCase();
  if (t === "MARKET") return "market";
  if (t === "LIMIT") return "limit";
  if (t.startsWith("STOP") || t.startsWith("TRAILING")) return "stop";
  return view.limit_price !== undefined ? "limit" : "market";
}

const side = (wire: string): Side => (wire.toUpperCase() === "SELL" ? "sell" : "buy");

/** A count from a decimal string ("10.00" -> 10); 0 when absent or unreadable. */
export function count(text: string | undefined): number {
  const d = tryDec(text);
  return d === undefined ? 0 : toNum(d);
}

const price = (text: string | undefined): Dec | undefined => {
  const d = tryDec(text);
  return d === undefined || isZero(d) ? undefined : d;
};

export function toBrokerOrder(view: OrderView, account: BrokerAccountId): BrokerOrder {
  const filledQty = count(view.filled_qty);
  const avg = filledQty > 0 ? price(view.filled_price) : undefined;
  const limit = price(view.limit_price);
  const stop = price(view.stop_price);
  return {
    brokerOrderId: asBrokerOrderId(view.order_id ?? view.client_order_id),
    clientOrderId: asClientOrderId(view.client_order_id),
    brokerAccountId: view.account_id ? asBrokerAccountId(view.account_id) : account,
    contract: view.symbol,
    side: side(view.side),
    type: orderType(view),
    qty: count(view.qty),
    filledQty,
    ...(limit !== undefined ? { price: limit } : {}),
    ...(stop !== undefined ? { stopPrice: stop } : {}),
    ...(avg !== undefined ? { avgFillPrice: avg } : {}),
    status: orderStatus(view.order_status),
    ...(view.reason ? { reason: view.reason } : {}),
  };
}

/** Signed position: SHORT (or a negative quantity) is negative. */
export function toPosition(view: PositionView, account: BrokerAccountId): BrokerPosition {
  const qty = count(view.quantity);
  const short = view.side?.toUpperCase() === "SHORT";
  const netPos = short ? -Math.abs(qty) : qty;
  const avg = price(view.cost_price);
  return {
    brokerAccountId: account,
    contract: view.symbol,
    netPos,
    ...(avg !== undefined ? { avgPrice: avg } : {}),
  };
}
