/**
 * Public shapes of the Tradovate simulator: options, what it records, fault filters, and the Tradovate
 * entities it serves (JSON-ready: numbers, ISO timestamps, as on the real wire).
 */
import type { Dec } from "../../domain/decimal";

export interface TradovateSimOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** Server `h` frame period on an otherwise silent socket. Default 2500. */
  heartbeatIntervalMs?: number;
  /** A socket that sent no frame for this long is closed. Default 30000. */
  heartbeatTimeoutMs?: number;
  /** A socket not authorized within this time is closed. Default 10000. */
  authorizeTimeoutMs?: number;
  /** Access token lifetime. Default 80 minutes. */
  tokenLifetimeMs?: number;
  /** Concurrent sessions per user; one more revokes the oldest. Default 2. */
  maxSessionsPerUser?: number;
  /** Whether renewaccesstoken hands out a new token string (the old one lives to its own expiry). Default true. */
  renewRotatesToken?: boolean;
  /** How `<entity>/find` answers an unknown name (the real answer is unconfirmed). Default "notFound" (404). */
  findMissing?: "notFound" | "empty";
  /** Contract months listed per product (front first). Default 3. */
  contractMonths?: number;
  /** Clock for timestamps and token expiry. Socket liveness always uses real time. */
  now?: () => number;
  /**
   * First order/fill id (default 1): a test can make a new instance hand out the ids an earlier one did,
   * as a broker whose ids start over (a restarted demo environment, live after demo).
   */
  firstId?: number;
}

export interface SimAccountInput {
  name: string;
  balance: Dec;
}

export interface SimUserInput {
  name: string;
  password: string;
  /** API key id; when set, accesstokenrequest must carry it (and `sec`). */
  cid?: number | string;
  sec?: string;
  appId?: string;
  accounts: SimAccountInput[];
}

export interface SimUserIds {
  userId: number;
  accounts: { id: number; name: string }[];
}

export type Transport = "rest" | "ws";
export type SocketKind = "trading" | "md";

export type RequestOutcome =
  | "pending"
  | "ok"
  | "failed"
  | "badRequest"
  | "notFound"
  | "unauthorized"
  | "penalized"
  | "rateLimited"
  | "rejected"
  | "swallowed"
  | "lost";

export interface RecordedRequest {
  seq: number;
  transport: Transport;
  /** REST: the TCP connection's id; WS: the socket's id. */
  connectionId: number;
  /** As sent (case kept, no leading slash). */
  endpoint: string;
  /** WS request id. */
  id?: number;
  query: string;
  /** Parsed JSON body; passwords, secrets and tokens are masked. */
  body: unknown;
  at: number;
  /** Whether the request carried a valid authorization (socket authorized, or a valid Bearer token). */
  authorized: boolean;
  user?: string;
  outcome: RequestOutcome;
}

export interface RecordedConnection {
  id: number;
  kind: SocketKind;
  user?: string;
  openedAt: number;
  authorizedAt?: number;
  closedAt?: number;
  closedReason?: string;
  /** Client `[]` heartbeats received. */
  heartbeats: number;
}

export type OrderRole = "order" | "bracket" | "oco" | "liquidation";

export interface RecordedOrder {
  orderId: number;
  accountId: number;
  user: string;
  contract: string;
  role: OrderRole;
  endpoint: string;
  transport: Transport;
  clOrdId?: string;
  isAutomated: boolean;
  action: "Buy" | "Sell";
  orderType: string;
  qty: number;
  price?: number;
  stopPrice?: number;
  at: number;
}

export interface RecordedRevocation {
  user: string;
  sessionId: number;
  reason: string;
  at: number;
}

/** Narrows a fault to some traffic. Every field that is set must match. */
export interface FaultFilter {
  /** User name. */
  user?: string;
  /** Numeric account id named by the request (accountId, or the account of orderId). */
  accountId?: number;
  transport?: Transport;
}

export interface InjectedFailure {
  failureReason?: string;
  failureText?: string;
  /** For auth endpoints: the `errorText` to answer (defaults to failureText). */
  errorText?: string;
}

export interface PenaltySpec {
  /** Seconds the client must wait before resending (fractions allowed for tests). */
  pTime: number;
  /** Adds "p-captcha": true (always on for auth/accesstokenrequest); a captcha ticket never clears. */
  captcha?: boolean;
  /** How many fresh requests get a ticket. Default 1. */
  count?: number;
}

export type OrdStatus =
  | "PendingNew"
  | "Working"
  | "Suspended"
  | "Filled"
  | "Canceled"
  | "Rejected"
  | "Completed"
  | "Expired"
  | "PendingCancel"
  | "PendingReplace"
  | "Unknown";

export type TvAction = "Buy" | "Sell";

export interface TradeDate {
  year: number;
  month: number;
  day: number;
}

export interface TvUser {
  id: number;
  name: string;
  timestamp: string;
  email: string;
  status: "Active";
  professional: boolean;
}

export interface TvAccount {
  id: number;
  name: string;
  userId: number;
  accountType: "Customer";
  active: boolean;
  clearingHouseId: number;
  riskCategoryId: number;
  autoLiqProfileId: number;
  marginAccountType: "Speculator";
  legalStatus: "Individual";
  archived: boolean;
  timestamp: string;
}

export interface TvOrder {
  id: number;
  accountId: number;
  contractId: number;
  timestamp: string;
  action: TvAction;
  ordStatus: OrdStatus;
  executionProviderId: number;
  ocoId?: number;
  parentId?: number;
  linkedId?: number;
  admin: boolean;
}

export interface TvOrderVersion {
  id: number;
  orderId: number;
  orderQty: number;
  orderType: string;
  price?: number;
  stopPrice?: number;
  timeInForce?: string;
  expireTime?: string;
  text?: string;
}

export interface TvCommand {
  id: number;
  orderId: number;
  timestamp: string;
  clOrdId?: string;
  commandType: "New" | "Modify" | "Cancel";
  commandStatus: string;
  activationTime?: string;
  customTag50?: string;
  isAutomated?: boolean;
  userId?: number;
}

export interface TvCommandReport {
  id: number;
  commandId: number;
  timestamp: string;
  commandStatus: string;
  rejectReason?: string;
  text?: string;
  ordStatus?: OrdStatus;
}

export interface TvExecutionReport {
  id: number;
  commandId: number;
  name: string;
  accountId: number;
  contractId: number;
  timestamp: string;
  tradeDate: TradeDate;
  orderId: number;
  execType: string;
  execRefId?: string;
  ordStatus: OrdStatus;
  action: TvAction;
  cumQty?: number;
  avgPx?: number;
  lastQty?: number;
  lastPx?: number;
  rejectReason?: string;
  text?: string;
}

export interface TvFill {
  id: number;
  orderId: number;
  contractId: number;
  timestamp: string;
  tradeDate: TradeDate;
  action: TvAction;
  qty: number;
  price: number;
  active: boolean;
  finallyPaired: boolean;
}

export interface TvFillPair {
  id: number;
  positionId: number;
  buyFillId: number;
  sellFillId: number;
  qty: number;
  buyPrice: number;
  sellPrice: number;
  active: boolean;
}

export interface TvPosition {
  id: number;
  accountId: number;
  contractId: number;
  timestamp: string;
  tradeDate: TradeDate;
  netPos: number;
  netPrice?: number;
  bought: number;
  boughtValue: number;
  sold: number;
  soldValue: number;
  prevPos: number;
  prevPrice?: number;
}

export interface TvCashBalance {
  id: number;
  accountId: number;
  timestamp: string;
  tradeDate: TradeDate;
  currencyId: number;
  amount: number;
  realizedPnL: number;
  weekRealizedPnL: number;
}

export interface TvContract {
  id: number;
  name: string;
  contractMaturityId: number;
  status: "DefinitionChecked";
  providerTickSize: number;
}

export interface TvContractMaturity {
  id: number;
  productId: number;
  expirationMonth: number;
  expirationDate: string;
  archived: boolean;
  seqNo: number;
  isFront: boolean;
}

export interface TvProduct {
  id: number;
  name: string;
  currencyId: number;
  productType: "Futures";
  description: string;
  exchangeId: number;
  contractGroupId: number;
  status: "Verified";
  months: string;
  valuePerPoint: number;
  priceFormatType: "Decimal";
  priceFormat: number;
  tickSize: number;
}

export type PropsEventType = "Created" | "Updated" | "Deleted";
