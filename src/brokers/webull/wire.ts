/**
 * Webull wire messages as zod schemas, both directions. Numbers travel as strings; inbound schemas also
 * accept JSON numbers and ignore unknown fields, because several response bodies are UNCONFIRMED in
 * reference/webull.md (see README.md for the shapes assumed).
 */
import { z } from "zod";

const num = z.union([z.string(), z.number()]).transform((v) => String(v));

/** Every non-2xx body: the shape the Webull SDK parses (`error_code`, `message`). */
export const errorBodySchema = z.looseObject({
  error_code: z.string().optional(),
  message: z.string().optional(),
});

/** Place / replace / cancel acknowledgment (UNCONFIRMED): `{client_order_id, order_id}`. */
export const orderAckSchema = z.looseObject({
  client_order_id: z.string().optional(),
  order_id: z.string().optional(),
  orders: z
    .array(z.looseObject({ client_order_id: z.string().optional(), order_id: z.string().optional() }))
    .optional(),
});
export type OrderAck = z.infer<typeof orderAckSchema>;

export const orderViewSchema = z.looseObject({
  account_id: z.string().optional(),
  client_order_id: z.string(),
  order_id: z.string().optional(),
  combo_type: z.string().optional(),
  symbol: z.string(),
  instrument_type: z.string().optional(),
  category: z.string().optional(),
  side: z.string(),
  order_type: z.string(),
  time_in_force: z.string().optional(),
  qty: num,
  filled_qty: num.optional(),
  filled_price: num.optional(),
  limit_price: num.optional(),
  stop_price: num.optional(),
  order_status: z.string(),
  place_time: z.string().optional(),
  update_time: z.string().optional(),
  last_filled_time: z.string().optional(),
  reason: z.string().optional(),
});
export type OrderView = z.infer<typeof orderViewSchema>;

export const orderListSchema = z.looseObject({
  has_next: z.boolean().optional(),
  orders: z.array(orderViewSchema),
});

export const orderDetailSchema = z.looseObject({
  client_order_id: z.string().optional(),
  order_id: z.string().optional(),
  orders: z.array(orderViewSchema).min(1),
});

export const accountListSchema = z.array(
  z.looseObject({
    account_id: z.string(),
    account_number: z.string().optional(),
    account_type: z.string().optional(),
    account_class: z.string().optional(),
    account_label: z.string().optional(),
  }),
);

export const balanceSchema = z.looseObject({
  account_id: z.string().optional(),
  currency: z.string().optional(),
  total_cash_balance: num.optional(),
  total_unrealized_profit_loss: num.optional(),
  day_realized_profit_loss: num.optional(),
  total_asset: num.optional(),
});
export type BalanceView = z.infer<typeof balanceSchema>;

export const positionViewSchema = z.looseObject({
  symbol: z.string(),
  instrument_type: z.string().optional(),
  side: z.string().optional(),
  quantity: num,
  cost_price: num.optional(),
  last_price: num.optional(),
  unrealized_profit_loss: num.optional(),
});
export type PositionView = z.infer<typeof positionViewSchema>;

export const positionListSchema = z.looseObject({
  has_next: z.boolean().optional(),
  positions: z.array(positionViewSchema),
});

// Outbound ---------------------------------------------------------------------------------------------

export type WireSide = "BUY" | "SELL";
export type WireOrderType = "MARKET" | "LIMIT" | "STOP_LOSS";
export type WireInstrument = "FUTURES" | "EQUITY";

export interface NewOrderWire {
  combo_type: "NORMAL";
  client_order_id: string;
  symbol: string;
  instrument_type: WireInstrument;
  market: "US";
  order_type: WireOrderType;
  limit_price?: string;
  stop_price?: string;
  quantity: string;
  side: WireSide;
  time_in_force: "DAY" | "GTC";
  entrust_type: "QTY";
  support_trading_session?: "CORE";
}

export interface PlaceBodyWire {
  account_id: string;
  new_orders: NewOrderWire[];
}

export interface ModifyOrderWire {
  client_order_id: string;
  quantity?: string;
  limit_price?: string;
  stop_price?: string;
}

export interface ReplaceBodyWire {
  account_id: string;
  modify_orders: ModifyOrderWire[];
}

export interface CancelBodyWire {
  account_id: string;
  client_order_id: string;
}
