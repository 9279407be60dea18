/**
 * Request bodies the simulator accepts, as zod schemas (loose: unknown fields are ignored, as a real
 * server would). Required fields follow the Tradovate spec; a body that fails them is an HTTP 400.
 */
import { z } from "zod";

const num = z.number().finite();

export const AccessTokenRequest = z.looseObject({
  name: z.string(),
  password: z.string(),
  appId: z.string().optional(),
  appVersion: z.string().optional(),
  cid: z.union([z.string(), z.number()]).optional(),
  sec: z.string().optional(),
  deviceId: z.string().max(64).optional(),
});

const orderFields = {
  accountSpec: z.string().optional(),
  accountId: z.number().int().optional(),
  clOrdId: z.string().optional(),
  action: z.enum(["Buy", "Sell"]),
  symbol: z.string(),
  orderQty: num,
  orderType: z.string(),
  price: num.optional(),
  stopPrice: num.optional(),
  maxShow: num.optional(),
  pegDifference: num.optional(),
  timeInForce: z.enum(["Day", "FOK", "GTC", "GTD", "IOC"]).optional(),
  expireTime: z.string().optional(),
  text: z.string().max(64).optional(),
  activationTime: z.string().optional(),
  customTag50: z.string().optional(),
  isAutomated: z.boolean().optional(),
};

export const PlaceOrder = z.looseObject(orderFields);
export type PlaceOrderBody = z.infer<typeof PlaceOrder>;

/** The bracket and OCO legs: an order's pricing fields without its account, symbol or quantity. */
export const RestrainedOrderVersion = z.looseObject(
  z.object(orderFields).pick({
    action: true,
    clOrdId: true,
    orderType: true,
    price: true,
    stopPrice: true,
    maxShow: true,
    pegDifference: true,
    timeInForce: true,
    expireTime: true,
    text: true,
  }).shape,
);
export type RestrainedBody = z.infer<typeof RestrainedOrderVersion>;

export const PlaceOso = z.looseObject({
  ...orderFields,
  bracket1: RestrainedOrderVersion,
  bracket2: RestrainedOrderVersion.optional(),
});

export const PlaceOco = z.looseObject({ ...orderFields, other: RestrainedOrderVersion });

export const ModifyOrder = z.looseObject({
  orderId: z.number().int(),
  ...z.object(orderFields).omit({ accountSpec: true, accountId: true, action: true, symbol: true }).shape,
});

export const CancelOrder = z.looseObject({
  orderId: z.number().int(),
  clOrdId: z.string().optional(),
  activationTime: z.string().optional(),
  customTag50: z.string().optional(),
  isAutomated: z.boolean().optional(),
});

export const LiquidatePosition = z.looseObject({
  accountId: z.number().int(),
  contractId: z.number().int(),
  admin: z.boolean().optional(),
  customTag50: z.string().optional(),
});

export const SyncRequest = z.looseObject({
  users: z.array(z.number().int()).optional(),
  accounts: z.array(z.number().int()).optional(),
  splitResponses: z.boolean().optional(),
  entityTypes: z.array(z.string()).optional(),
});

export const AccountOnly = z.looseObject({ accountId: z.number().int() });

export const QuoteRequest = z.looseObject({ symbol: z.union([z.string(), z.number()]) });

/** First zod issue in words, for 400 replies. */
export function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "Bad request";
  const path = issue.path.join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
