/**
 * Shapes of the in-memory venue: the matching engine behind the paper broker and every broker simulator.
 * Prices are exact decimals; quantities are whole contracts.
 */
import type { Dec } from "../decimal";

export type Side = "buy" | "sell";
export type VenueOrderType = "market" | "limit" | "stop";
/** `held`: a bracket child waiting for its entry to fill (Tradovate OSO, ProjectX "Suspended"). */
export type VenueOrderStatus = "held" | "working" | "filled" | "cancelled" | "rejected";

export interface VenueOrderRequest {
  account: string;
  contract: string;
  side: Side;
  type: VenueOrderType;
  qty: number;
  price?: Dec;
  stopPrice?: Dec;
  clientOrderId?: string;
  text?: string;
}

export interface VenueOrder extends VenueOrderRequest {
  id: number;
  status: VenueOrderStatus;
  filledQty: number;
  avgFillPrice?: Dec;
  /** Orders sharing a group cancel one another when one fills. */
  ocoGroup?: number;
  /** Entry whose fill releases this held child. */
  parentId?: number;
  rejectReason?: string;
  createdAt: number;
  updatedAt: number;
}

export interface VenueFill {
  id: number;
  orderId: number;
  account: string;
  contract: string;
  side: Side;
  qty: number;
  price: Dec;
  at: number;
  /** Dollars realized by this fill (0 for an opening fill). */
  realized: Dec;
}

export interface Lot {
  /** Signed: positive long, negative short. */
  qty: number;
  price: Dec;
}

export interface VenuePosition {
  account: string;
  contract: string;
  /** Signed net quantity: positive long, negative short, 0 flat. */
  netPos: number;
  /** Open lots, oldest first; closing fills consume them first-in first-out. */
  lots: Lot[];
  /** Average open price (display only; P&L comes from the lots). */
  avgPrice?: Dec;
  realized: Dec;
  bought: number;
  sold: number;
}

export interface VenueAccount {
  id: string;
  /** Cash after realized P&L. */
  balance: Dec;
  /** Realized P&L since the last `resetDay`. */
  realizedToday: Dec;
}

export type VenueEvent =
  | { type: "order"; order: VenueOrder }
  | { type: "fill"; fill: VenueFill; order: VenueOrder }
  | { type: "position"; position: VenuePosition }
  | { type: "cash"; account: VenueAccount }
  | { type: "price"; contract: string; price: Dec; at: number };

export interface VenueSnapshot {
  nextId: number;
  accounts: VenueAccount[];
  orders: VenueOrder[];
  positions: VenuePosition[];
  prices: [string, Dec][];
}
