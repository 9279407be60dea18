/**
 * JSON shapes the simulator answers with. The reference leaves these bodies UNCONFIRMED; they follow the
 * field names Webull uses in its documented order-detail item and trade-event payload (`qty`,
 * `filled_qty`, `filled_price`, `order_status`, `category`), with every number as a string.
 *
 *   order view   {account_id, client_order_id, order_id, combo_type, symbol, instrument_type, category,
 *                 market, side, order_type, time_in_force, entrust_type, qty, filled_qty, filled_price?,
 *                 limit_price?, stop_price?, order_status, place_time, update_time, last_filled_time?,
 *                 reason?}
 *   order list   {has_next, orders: [order view]}                     (open, history)
 *   detail       {account_id, client_order_id, order_id, combo_type, orders: [order view]}
 *   position     {symbol, instrument_type, category, side LONG|SHORT, quantity, cost_price, last_price?,
 *                 unrealized_profit_loss}
 *   balance      {account_id, currency, total_cash_balance, total_unrealized_profit_loss,
 *                 day_realized_profit_loss, total_asset}
 */
import { add, type Dec, toStr, ZERO } from "../../domain/decimal";
import type { Venue } from "../../domain/venue/engine";
import type { VenueOrder, VenuePosition } from "../../domain/venue/types";
import { categoryOf, type InstrumentType } from "./instruments";

export interface OrderMeta {
  appKey: string;
  accountId: string;
  clientOrderId: string;
  orderId: string;
  venueId: number;
  instrumentType: InstrumentType;
  orderType: "MARKET" | "LIMIT" | "STOP_LOSS";
  timeInForce: string;
  comboType: string;
  placedAt: number;
  /** Placed by hand in Webull's own app (tests), not through the OpenAPI. Never on the wire. */
  manual?: boolean;
}

export type OrderStatusWire = "SUBMITTED" | "PARTIAL_FILLED" | "FILLED" | "CANCELLED" | "FAILED";

export function statusOf(order: VenueOrder): OrderStatusWire {
  switch (order.status) {
    case "filled":
      return "FILLED";
    case "cancelled":
      return "CANCELLED";
    case "rejected":
      return "FAILED";
    default:
      return order.filledQty > 0 ? "PARTIAL_FILLED" : "SUBMITTED";
  }
}

export function isOpen(order: VenueOrder): boolean {
  return order.status === "working" || order.status === "held";
}

const iso = (ms: number) => new Date(ms).toISOString();

export function orderView(meta: OrderMeta, order: VenueOrder): Record<string, unknown> {
  return {
    account_id: meta.accountId,
    client_order_id: meta.clientOrderId,
    order_id: meta.orderId,
    combo_type: meta.comboType,
    symbol: order.contract,
    instrument_type: meta.instrumentType,
    category: categoryOf(meta.instrumentType),
    market: "US",
    side: order.side === "buy" ? "BUY" : "SELL",
    order_type: meta.orderType,
    time_in_force: meta.timeInForce,
    entrust_type: "QTY",
    qty: String(order.qty),
    filled_qty: String(order.filledQty),
    ...(order.avgFillPrice !== undefined && order.filledQty > 0
      ? { filled_price: toStr(order.avgFillPrice) }
      : {}),
    ...(order.price !== undefined ? { limit_price: toStr(order.price) } : {}),
    ...(order.stopPrice !== undefined ? { stop_price: toStr(order.stopPrice) } : {}),
    order_status: statusOf(order),
    place_time: iso(meta.placedAt),
    update_time: iso(order.updatedAt),
    ...(order.status === "filled" ? { last_filled_time: iso(order.updatedAt) } : {}),
    ...(order.rejectReason ? { reason: order.rejectReason } : {}),
  };
}

export function positionView(venue: Venue, p: VenuePosition, type: InstrumentType): Record<string, unknown> {
  const last = venue.lastPrice(p.contract);
  return {
    symbol: p.contract,
    instrument_type: type,
    category: categoryOf(type),
    side: p.netPos > 0 ? "LONG" : "SHORT",
    quantity: String(Math.abs(p.netPos)),
    cost_price: p.avgPrice !== undefined ? toStr(p.avgPrice) : "0",
    ...(last !== undefined ? { last_price: toStr(last) } : {}),
    unrealized_profit_loss: toStr(venue.unrealized(p)),
  };
}

export function balanceView(venue: Venue, accountId: string): Record<string, unknown> | undefined {
  const account = venue.account(accountId);
  if (!account) return undefined;
  let unrealized: Dec = ZERO;
  for (const p of venue.listPositions(accountId)) unrealized = add(unrealized, venue.unrealized(p));
  return {
    account_id: accountId,
    currency: "USD",
    total_cash_balance: toStr(account.balance),
    total_unrealized_profit_loss: toStr(unrealized),
    day_realized_profit_loss: toStr(account.realizedToday),
    total_asset: toStr(add(account.balance, unrealized)),
  };
}
