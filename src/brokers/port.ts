/**
 * The broker port: the one interface every broker adapter implements (paper, tradovate/ninjatrader,
 * projectx, webull). The dispatcher, the copy planner's executor, the loss monitor and reconciliation
 * talk only to this.
 *
 * Rules every adapter keeps:
 * - Every order carries the caller's deterministic `clientOrderId` to the broker (clOrdId, customTag,
 *   client_order_id), so `findOrder` can settle an unknown outcome.
 * - Only definite broker evidence is a rejection. A timeout or a dropped socket is `unknown`, never
 *   `rejected`, and is never blindly re-sent: the caller settles it through `findOrder`.
 * - Broker words are kept: a rejection's `reason` is the broker's own text (failureText, errorMessage).
 * - Nothing here throws for a business failure; methods throw only on programming errors.
 */
import type { ContractSpec } from "../domain/contract";
import type { Dec } from "../domain/decimal";
import type { AccountId, BrokerAccountId, BrokerOrderId, ClientOrderId } from "../domain/ids";
import type { Side } from "../domain/venue/types";

export type BrokerKind = "paper" | "tradovate" | "ninjatrader" | "projectx" | "webull";
export const BROKER_KINDS: readonly BrokerKind[] = [
  "paper",
  "tradovate",
  "ninjatrader",
  "projectx",
  "webull",
];
export type Environment = "demo" | "live";

/** `trailing_stop`: the broker's own trailing stop (Tradovate TrailingStop, ProjectX type 5); `stopPrice` is where it starts and it keeps that distance behind the best price. Only where the broker has one. */
export type OrderType = "market" | "limit" | "stop" | "trailing_stop";

export interface OrderRequest {
  clientOrderId: ClientOrderId;
  brokerAccountId: BrokerAccountId;
  contract: ContractSpec;
  side: Side;
  qty: number;
  type: OrderType;
  /** Limit price (limit orders). */
  price?: Dec;
  /** Trigger price (stop orders; where a trailing stop starts). */
  stopPrice?: Dec;
  /** The alert's price: the paper broker fills market orders at it; real brokers ignore it. */
  referencePrice?: Dec;
}

export interface Fill {
  price: Dec;
  /** Contracts in this fill (not cumulative). */
  qty: number;
  at: Date;
  /** The broker's id for this fill (Tradovate fill id, ProjectX trade id), so a fill seen twice counts once. */
  id?: string;
  /** Contracts filled on the order so far, including this fill, where the broker reports it. */
  cumQty?: number;
}

export type OrderOutcome =
  /** The broker acknowledged the order; `fill` is present when it filled before the reply. */
  | { kind: "accepted"; brokerOrderId: BrokerOrderId; fill?: Fill; raw?: unknown }
  /** Definite refusal by the broker, in its own words. */
  | { kind: "rejected"; reason: string; code?: string; raw?: unknown }
  /** No answer we can trust (timeout, dropped socket): settle with `findOrder`, never resend blindly. */
  | { kind: "unknown"; reason: string };

export type CancelOutcome =
  | { kind: "cancelled" }
  /** The order was already filled, cancelled or never existed: nothing to cancel. */
  | { kind: "gone"; reason: string }
  | { kind: "rejected"; reason: string }
  | { kind: "unknown"; reason: string };

export type BrokerOrderStatus = "pending" | "working" | "filled" | "cancelled" | "rejected";

export interface BrokerOrder {
  brokerOrderId: BrokerOrderId;
  clientOrderId?: ClientOrderId;
  brokerAccountId: BrokerAccountId;
  contract: string;
  side: Side;
  type: OrderType;
  qty: number;
  filledQty: number;
  price?: Dec;
  stopPrice?: Dec;
  avgFillPrice?: Dec;
  status: BrokerOrderStatus;
  reason?: string;
}

export interface BrokerPosition {
  brokerAccountId: BrokerAccountId;
  contract: string;
  /** Signed: positive long, negative short. */
  netPos: number;
  avgPrice?: Dec;
}

export interface BrokerAccountInfo {
  id: BrokerAccountId;
  name: string;
  /** Cash balance where the broker reports one. */
  balance?: Dec;
}

export type SessionState = "idle" | "connecting" | "ready" | "reconnecting" | "down" | "error";

export interface SessionStatus {
  state: SessionState;
  since: Date;
  lastHeartbeatAt?: Date;
  /** Round trip of the last request/heartbeat answered, in milliseconds. */
  rttMs?: number;
  /** Why the session is not ready, in words a trader understands. */
  error?: string;
  /** True when the socket was authorized before the first order (pre-warmed). */
  warm: boolean;
}

/** Events streamed from the broker, past tense, normalized. The raw payload rides along. */
export type BrokerEvent =
  | {
      type: "OrderUpdated";
      order: BrokerOrder;
      raw?: unknown;
    }
  | {
      type: "OrderFilled";
      brokerAccountId: BrokerAccountId;
      brokerOrderId: BrokerOrderId;
      clientOrderId?: ClientOrderId;
      contract: string;
      side: Side;
      fill: Fill;
      raw?: unknown;
    }
  | { type: "PositionChanged"; position: BrokerPosition; raw?: unknown }
  | {
      type: "CashChanged";
      brokerAccountId: BrokerAccountId;
      /** Realized P&L of the current trading day as the broker reports it. */
      realizedPnl?: Dec;
      balance?: Dec;
      raw?: unknown;
    }
  | { type: "QuoteReceived"; contract: string; last: Dec; at: Date }
  | { type: "SessionChanged"; status: SessionStatus };

export type BrokerListener = (event: BrokerEvent) => void;

/**
 * One live session per broker login (an `account` in our words), shared by every trader on that login.
 * `start` logs in and opens the sockets (pre-warm); the first order then needs no handshake. A session
 * that lost its broker keeps trying on its own (at most 30 s apart, forever), re-syncs its orders and
 * positions when it is back, and says `SessionChanged` `ready` again.
 */
export interface BrokerSession {
  readonly kind: BrokerKind;
  readonly accountId: AccountId;
  /**
   * Where this session's broker ids (orders, fills, sub-accounts) live: broker kind, environment and API
   * host, e.g. `tradovate:demo:demo.tradovateapi.com`, `projectx:live:api.topstepx.com`, `paper`. Two
   * logins on different environments or hosts differ; the same login reconnecting keeps its venue.
   */
  readonly venue: string;

  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SessionStatus;

  brokerAccounts(): Promise<BrokerAccountInfo[]>;
  /** Resolves a symbol ("MNQ1!", "MNQZ6") to the contract this broker trades, with tick size and value. */
  contract(symbol: string): Promise<ContractSpec>;

  placeOrder(order: OrderRequest): Promise<OrderOutcome>;
  /** Two exit orders that cancel each other at the broker (a take-profit and its stop). */
  placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]>;
  modifyOrder(
    brokerAccountId: BrokerAccountId,
    brokerOrderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome>;
  cancelOrder(brokerAccountId: BrokerAccountId, brokerOrderId: BrokerOrderId): Promise<CancelOutcome>;
  /**
   * Cancels the contract's working orders on that broker account and closes its whole position at market
   * (Tradovate liquidateposition, ProjectX closeContract). Used by the loss monitor and the kill switch.
   */
  flatten(
    brokerAccountId: BrokerAccountId,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome>;

  /**
   * Open positions of a sub-account. `fresh`: ask the broker now, past any mirror a socket keeps (which
   * can trail a fill after a reconnect); used before the relay acts on a difference with its book.
   */
  positions(brokerAccountId: BrokerAccountId, options?: { fresh?: boolean }): Promise<BrokerPosition[]>;
  workingOrders(brokerAccountId: BrokerAccountId): Promise<BrokerOrder[]>;
  /** The order carrying our client order id, or null when the broker never received it. */
  findOrder(brokerAccountId: BrokerAccountId, clientOrderId: ClientOrderId): Promise<BrokerOrder | null>;

  /** Starts streaming last prices for a contract (for open P&L). */
  subscribeQuotes(contract: ContractSpec): Promise<void>;
  on(listener: BrokerListener): () => void;
}

/** Decrypted credentials of one login; the shape depends on the broker and is validated by its adapter. */
export type Credentials = Record<string, unknown>;

export interface SessionContext {
  accountId: AccountId;
  name: string;
  kind: BrokerKind;
  environment: Environment;
  credentials: Credentials;
}

/** Builds sessions for one broker kind; registered once per kind at startup. */
export interface BrokerFactory {
  readonly kinds: readonly BrokerKind[];
  /** Validates credentials at the API edge, so a bad login is refused with a clear message. */
  validateCredentials(credentials: unknown): { ok: true } | { ok: false; message: string };
  create(context: SessionContext): BrokerSession;
}
