/**
 * Wire shapes of the ProjectX Gateway (reference/projectx.md), as lenient zod schemas: unknown fields
 * pass through, optional spec-only fields may be missing or null. User-hub payloads come bare, wrapped
 * as `{action, data}`, or as arrays of either with `null` padding; `unwrapHubPayload` accepts all three.
 */
import { z } from "zod";

const num = z.number();
const optNum = z.number().nullish();
const optStr = z.string().nullish();

export const envelopeSchema = z
  .object({ success: z.boolean(), errorCode: z.number().int(), errorMessage: optStr })
  .loose();
export type Envelope = z.infer<typeof envelopeSchema>;

export const loginReplySchema = envelopeSchema.extend({ token: optStr });
export const validateReplySchema = envelopeSchema.extend({ newToken: optStr });

export const accountSchema = z
  .object({
    id: num,
    name: z.string(),
    balance: optNum,
    canTrade: z.boolean().nullish(),
    isVisible: z.boolean().nullish(),
    simulated: z.boolean().nullish(),
  })
  .loose();
export type AccountWire = z.infer<typeof accountSchema>;
export const accountSearchReplySchema = envelopeSchema.extend({ accounts: z.array(accountSchema).nullish() });

export const contractSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: optStr,
    tickSize: num,
    tickValue: num,
    activeContract: z.boolean().nullish(),
    symbolId: optStr,
  })
  .loose();
export type ContractWire = z.infer<typeof contractSchema>;
export const contractSearchReplySchema = envelopeSchema.extend({
  contracts: z.array(contractSchema).nullish(),
});
/** Current docs: singular `contract`; legacy docs: a `contracts` array. Both accepted. */
export const contractByIdReplySchema = envelopeSchema.extend({
  contract: contractSchema.nullish(),
  contracts: z.array(contractSchema).nullish(),
});

export const orderSchema = z
  .object({
    id: num,
    accountId: num,
    contractId: z.string(),
    symbolId: optStr,
    creationTimestamp: optStr,
    updateTimestamp: optStr,
    status: z.number().int(),
    type: z.number().int(),
    side: z.number().int(),
    size: num,
    limitPrice: optNum,
    stopPrice: optNum,
    fillVolume: optNum,
    filledPrice: optNum,
    customTag: optStr,
    trailPrice: optNum,
    trailDistance: optNum,
    parentOrderId: optNum,
    linkedOrderId: optNum,
  })
  .loose();
export type OrderWire = z.infer<typeof orderSchema>;
export const placeReplySchema = envelopeSchema.extend({ orderId: optNum });
export const ordersReplySchema = envelopeSchema.extend({
  orders: z.array(orderSchema).nullish(),
  totalCount: optNum,
});

export const positionSchema = z
  .object({
    id: optNum,
    accountId: num,
    contractId: z.string(),
    contractDisplayName: optStr,
    creationTimestamp: optStr,
    type: z.number().int(),
    size: num,
    averagePrice: optNum,
  })
  .loose();
export type PositionWire = z.infer<typeof positionSchema>;
export const positionsReplySchema = envelopeSchema.extend({ positions: z.array(positionSchema).nullish() });

export const tradeSchema = z
  .object({
    id: num,
    accountId: num,
    contractId: z.string(),
    creationTimestamp: optStr,
    price: num,
    profitAndLoss: optNum,
    fees: optNum,
    commissions: optNum,
    side: z.number().int(),
    size: num,
    voided: z.boolean().nullish(),
    orderId: num,
  })
  .loose();
export type TradeWire = z.infer<typeof tradeSchema>;
export const tradesReplySchema = envelopeSchema.extend({ trades: z.array(tradeSchema).nullish() });

/** GatewayQuote data; any field may be missing in a partial update [UNCONFIRMED]. */
export const quoteSchema = z
  .object({
    symbol: optStr,
    symbolName: optStr,
    lastPrice: optNum,
    bestBid: optNum,
    bestAsk: optNum,
    change: optNum,
    changePercent: optNum,
    open: optNum,
    high: optNum,
    low: optNum,
    volume: optNum,
    lastUpdated: optStr,
    timestamp: optStr,
  })
  .loose();
export type QuoteWire = z.infer<typeof quoteSchema>;

export interface HubItem {
  /** 1 add/update, 2 position closed, 0 seen on trades [UNCONFIRMED meaning]; absent for bare objects. */
  action?: number;
  data: unknown;
}

/** Accepts a bare object, `{action,data}`, or an array of those (nulls skipped). */
export function unwrapHubPayload(payload: unknown): HubItem[] {
  if (payload === null || payload === undefined) return [];
  if (Array.isArray(payload)) return payload.flatMap((p) => unwrapHubPayload(p));
  if (
    typeof payload === "object" &&
    "data" in payload &&
    ("action" in payload || Object.keys(payload).length <= 2)
  ) {
    const { action, data } = payload as { action?: unknown; data: unknown };
    if (data === null || data === undefined) return [];
    return [{ ...(typeof action === "number" ? { action } : {}), data }];
  }
  return [{ data: payload }];
}
