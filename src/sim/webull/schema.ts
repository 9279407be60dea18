/**
 * Request bodies the simulator accepts, as zod schemas (reference/webull.md "Orders (v3)"). Numbers travel
 * as strings. Only `combo_type: "NORMAL"` is simulated; brackets (MASTER / STOP_PROFIT / STOP_LOSS) are
 * refused with a clear message.
 */
import { z } from "zod";

const positiveDecimal = z.string().regex(/^\d+(\.\d+)?$/, "must be a decimal string");

export const newOrderSchema = z.looseObject({
  combo_type: z.string(),
  client_order_id: z.string().min(1).max(40),
  symbol: z.string().min(1),
  instrument_type: z.enum(["FUTURES", "EQUITY"]),
  market: z.literal("US"),
  order_type: z.enum(["MARKET", "LIMIT", "STOP_LOSS"]),
  limit_price: positiveDecimal.optional(),
  stop_price: positiveDecimal.optional(),
  quantity: positiveDecimal,
  side: z.enum(["BUY", "SELL"]),
  time_in_force: z.enum(["DAY", "GTC", "IOC"]),
  entrust_type: z.literal("QTY"),
  support_trading_session: z.string().optional(),
});
export type NewOrder = z.infer<typeof newOrderSchema>;

export const placeBodySchema = z.looseObject({
  account_id: z.string().min(1),
  client_combo_order_id: z.string().optional(),
  new_orders: z.array(newOrderSchema).min(1),
});

export const replaceBodySchema = z.looseObject({
  account_id: z.string().min(1),
  modify_orders: z
    .array(
      z.looseObject({
        client_order_id: z.string().min(1),
        quantity: positiveDecimal.optional(),
        limit_price: positiveDecimal.optional(),
        stop_price: positiveDecimal.optional(),
      }),
    )
    .min(1),
});

export const cancelBodySchema = z.looseObject({
  account_id: z.string().min(1),
  client_order_id: z.string().min(1),
});

/** First zod issue as one readable line, for the 400 message. */
export function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  const path = issue.path.join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
