/**
 * Tradovate wire messages as zod schemas. Loose objects: unknown fields pass through (and stay in `raw`),
 * optional fields may be absent or null, as the reference warns.
 */
import { z } from "zod";

const opt = <T extends z.ZodType>(t: T) => t.nullish();
const num = z.number();

export const Penalty = z.looseObject({
  "p-ticket": z.string(),
  "p-time": opt(num),
  "p-captcha": opt(z.boolean()),
});
export type Penalty = z.infer<typeof Penalty>;

export const AccessTokenResponse = z.looseObject({
  accessToken: opt(z.string()),
  mdAccessToken: opt(z.string()),
  expirationTime: opt(z.string()),
  userStatus: opt(z.string()),
  userId: opt(num),
  name: opt(z.string()),
  errorText: opt(z.string()),
});
export type AccessTokenResponse = z.infer<typeof AccessTokenResponse>;

export const Me = z.looseObject({ userId: num, name: opt(z.string()) });

/** PlaceOrderResult, PlaceOsoResult, PlaceOcoResult and CommandResult share these fields. */
export const OrderResult = z.looseObject({
  orderId: opt(num),
  oso1Id: opt(num),
  oso2Id: opt(num),
  ocoId: opt(num),
  commandId: opt(num),
  failureReason: opt(z.string()),
  failureText: opt(z.string()),
  errorText: opt(z.string()),
});
export type OrderResult = z.infer<typeof OrderResult>;

export const Account = z.looseObject({
  id: num,
  name: z.string(),
  userId: opt(num),
  active: opt(z.boolean()),
});
export type Account = z.infer<typeof Account>;

export const Order = z.looseObject({
  id: num,
  accountId: num,
  contractId: opt(num),
  timestamp: opt(z.string()),
  action: z.string(),
  ordStatus: z.string(),
  ocoId: opt(num),
  parentId: opt(num),
  linkedId: opt(num),
});
export type Order = z.infer<typeof Order>;

export const OrderVersion = z.looseObject({
  id: num,
  orderId: num,
  orderQty: num,
  orderType: z.string(),
  price: opt(num),
  stopPrice: opt(num),
  timeInForce: opt(z.string()),
});
export type OrderVersion = z.infer<typeof OrderVersion>;

export const Command = z.looseObject({
  id: num,
  orderId: num,
  timestamp: opt(z.string()),
  clOrdId: opt(z.string()),
  commandType: opt(z.string()),
  commandStatus: opt(z.string()),
  isAutomated: opt(z.boolean()),
});
export type Command = z.infer<typeof Command>;

export const CommandReport = z.looseObject({
  id: num,
  commandId: num,
  commandStatus: opt(z.string()),
  rejectReason: opt(z.string()),
  text: opt(z.string()),
  ordStatus: opt(z.string()),
});
export type CommandReport = z.infer<typeof CommandReport>;

export const ExecutionReport = z.looseObject({
  id: num,
  orderId: num,
  accountId: opt(num),
  contractId: opt(num),
  execType: z.string(),
  ordStatus: opt(z.string()),
  rejectReason: opt(z.string()),
  text: opt(z.string()),
});
export type ExecutionReport = z.infer<typeof ExecutionReport>;

export const Fill = z.looseObject({
  id: num,
  orderId: num,
  contractId: opt(num),
  timestamp: opt(z.string()),
  action: z.string(),
  qty: num,
  price: num,
  active: opt(z.boolean()),
});
export type Fill = z.infer<typeof Fill>;

export const Position = z.looseObject({
  id: num,
  accountId: num,
  contractId: num,
  timestamp: opt(z.string()),
  netPos: num,
  netPrice: opt(num),
  prevPos: opt(num),
  prevPrice: opt(num),
});
export type Position = z.infer<typeof Position>;

export const CashBalance = z.looseObject({
  id: num,
  accountId: num,
  timestamp: opt(z.string()),
  amount: opt(num),
  realizedPnL: opt(num),
  weekRealizedPnL: opt(num),
});
export type CashBalance = z.infer<typeof CashBalance>;

export const Contract = z.looseObject({ id: num, name: z.string(), contractMaturityId: opt(num) });
export type Contract = z.infer<typeof Contract>;

export const ContractMaturity = z.looseObject({
  id: num,
  productId: num,
  expirationMonth: opt(num),
  expirationDate: opt(z.string()),
  isFront: opt(z.boolean()),
});
export type ContractMaturity = z.infer<typeof ContractMaturity>;

export const Product = z.looseObject({ id: num, name: z.string(), valuePerPoint: num, tickSize: num });
export type Product = z.infer<typeof Product>;

/** Server → client message in an `a[...]` frame: a response (has `i`) or an event (has `e`). */
export const Message = z.looseObject({
  s: opt(num),
  i: opt(num),
  e: opt(z.string()),
  d: z.unknown().optional(),
});
export type Message = z.infer<typeof Message>;

export const PropsEvent = z.looseObject({
  entityType: z.string(),
  eventType: z.string(),
  entity: z.unknown(),
});

export const Shutdown = z.looseObject({ reasonCode: opt(z.string()), reason: opt(z.string()) });

const Entry = z.looseObject({ price: opt(num), size: opt(num) });
export const Quote = z.looseObject({
  timestamp: opt(z.string()),
  contractId: num,
  entries: z.looseObject({ Trade: opt(Entry), Bid: opt(Entry), Offer: opt(Entry) }),
});
export const MdEvent = z.looseObject({ quotes: opt(z.array(z.unknown())) });

/** Entity schemas by props `entityType`, for the ones the adapter mirrors. */
export const ENTITY_SCHEMAS = {
  account: Account,
  order: Order,
  orderVersion: OrderVersion,
  command: Command,
  commandReport: CommandReport,
  executionReport: ExecutionReport,
  fill: Fill,
  position: Position,
  cashBalance: CashBalance,
  contract: Contract,
  contractMaturity: ContractMaturity,
  product: Product,
} as const;
export type MirroredType = keyof typeof ENTITY_SCHEMAS;
