/**
 * The simulator's records and their wire models (OrderModel, PositionModel, TradeModel, AccountModel),
 * shaped like the payloads in reference/projectx.md sections A3 to A5.
 */
import { type Dec, sub, toNum } from "../../domain/decimal";
import type { VenueOrder, VenuePosition } from "../../domain/venue/types";
import type { SimContract } from "./contracts";
import type { SimAccount } from "./options";

export const OrderStatus = {
  None: 0,
  Open: 1,
  Filled: 2,
  Cancelled: 3,
  Expired: 4,
  Rejected: 5,
  Pending: 6,
  PendingCancellation: 7,
  Suspended: 8,
} as const;

export const OrderType = { Limit: 1, Market: 2, StopLimit: 3, Stop: 4, TrailingStop: 5 } as const;

export interface PxOrder {
  id: number;
  /** The venue order behind it; absent for orders refused before reaching the venue. */
  venueId?: number;
  accountId: number;
  contractId: string;
  type: number;
  side: 0 | 1;
  size: number;
  customTag: string | null;
  parentOrderId?: number;
  linkedOrderId?: number;
  /** Trailing stops: distance in price the stop keeps from the best price. */
  trailDistance?: Dec;
  /** Prices of an order refused before the venue (kept for searches). */
  limitPrice?: Dec;
  stopPrice?: Dec;
  createdAt: number;
  updatedAt: number;
}

export interface PxTrade {
  id: number;
  accountId: number;
  contractId: string;
  createdAt: number;
  price: Dec;
  /** Null for a fill that opened or added to a position. */
  profitAndLoss: Dec | null;
  fees: Dec;
  side: 0 | 1;
  size: number;
  orderId: number;
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace("Z", "+00:00");
const num = (d: Dec | undefined | null): number | null => (d === undefined || d === null ? null : toNum(d));

export function orderStatus(order: PxOrder, venue: VenueOrder | undefined): number {
  if (!venue) return OrderStatus.Rejected;
  switch (venue.status) {
    case "held":
      return OrderStatus.Suspended;
    case "working":
      return order.type === OrderType.Market ? OrderStatus.Pending : OrderStatus.Open;
    case "filled":
      return OrderStatus.Filled;
    case "cancelled":
      return OrderStatus.Cancelled;
    default:
      return OrderStatus.Rejected;
  }
}

export function orderModel(order: PxOrder, venue: VenueOrder | undefined, contract: SimContract | undefined) {
  const status = orderStatus(order, venue);
  const suspended = status === OrderStatus.Suspended;
  const limit = venue ? (venue.type === "limit" ? venue.price : undefined) : order.limitPrice;
  const stop = venue ? (venue.type === "stop" ? venue.stopPrice : undefined) : order.stopPrice;
  return {
    id: order.id,
    accountId: order.accountId,
    contractId: order.contractId,
    symbolId: contract?.symbolId ?? null,
    creationTimestamp: iso(order.createdAt),
    updateTimestamp: iso(Math.max(order.updatedAt, venue?.updatedAt ?? 0)),
    status,
    type: order.type,
    side: order.side,
    size: venue?.qty ?? order.size,
    // A suspended bracket child has no price until its entry fills.
    limitPrice: suspended ? null : num(limit),
    stopPrice: suspended ? null : num(stop),
    fillVolume: venue?.filledQty ?? 0,
    filledPrice: num(venue?.avgFillPrice),
    customTag: order.customTag,
    trailDistance:
      order.trailDistance !== undefined && contract ? Number(order.trailDistance / contract.tickSize) : null,
    trailPrice: num(order.trailDistance),
    parentOrderId: order.parentOrderId ?? null,
    linkedOrderId: order.linkedOrderId ?? null,
  };
}

export function positionModel(
  id: number,
  createdAt: number,
  position: VenuePosition,
  contract: SimContract | undefined,
) {
  const open = position.netPos !== 0;
  return {
    id,
    accountId: Number(position.account),
    contractId: position.contract,
    contractDisplayName: contract?.name ?? position.contract,
    creationTimestamp: iso(createdAt),
    type: !open ? 0 : position.netPos > 0 ? 1 : 2,
    size: Math.abs(position.netPos),
    averagePrice: open ? num(position.avgPrice) : 0,
  };
}

export function tradeModel(trade: PxTrade) {
  return {
    id: trade.id,
    accountId: trade.accountId,
    contractId: trade.contractId,
    creationTimestamp: iso(trade.createdAt),
    price: toNum(trade.price),
    profitAndLoss: num(trade.profitAndLoss),
    fees: toNum(trade.fees),
    commissions: 0,
    side: trade.side,
    size: trade.size,
    voided: false,
    orderId: trade.orderId,
  };
}

export function accountModel(account: SimAccount, venueBalance: Dec) {
  return {
    id: account.id,
    name: account.name,
    // Reported net of fees [UNCONFIRMED on the real gateway].
    balance: toNum(sub(venueBalance, account.fees)),
    canTrade: account.canTrade,
    isVisible: true,
    simulated: account.simulated,
  };
}
