/**
 * Order operations over REST: place (customTag = our client order id, optional native brackets), modify,
 * cancel, flatten through closeContract, and the searches that settle unknown outcomes.
 *
 * Outcomes follow the port: `success:false` or a request refused unprocessed is `rejected` (the gateway's
 * words kept); a timeout, a dropped connection or a 5xx is `unknown` and is never re-sent here.
 */
import type { ContractSpec } from "../../domain/contract";
import { type Dec, isPositive, roundToStep, toNum } from "../../domain/decimal";
import {
  asBrokerOrderId,
  type BrokerAccountId,
  type BrokerOrderId,
  type ClientOrderId,
} from "../../domain/ids";
import type { Logger } from "../../log";
import type { BrokerOrder, CancelOutcome, OrderOutcome, OrderRequest } from "../port";
import type { ResolvedConfig } from "./config";
import { describeError, type Endpoint } from "./errors";
import type { CallResult, ProjectXHttp } from "./http";
import { accountNumber, FINAL_STATUSES, orderOf, WireType, wireSide } from "./parse";
import {
  type Envelope,
  envelopeSchema,
  type OrderWire,
  ordersReplySchema,
  type PositionWire,
  placeReplySchema,
  positionsReplySchema,
} from "./wire";

/** Native bracket distances in ticks (unsigned; the adapter signs them by side). */
export interface BracketTicks {
  stopLossTicks?: number;
  takeProfitTicks?: number;
}

/** A query the gateway did not answer: the caller cannot conclude anything (never "not found"). */
export class ProjectXUnavailable extends Error {}

export interface OrderDeps {
  http: ProjectXHttp;
  logger: Logger;
  config: ResolvedConfig;
  /** The gateway id of a contract (from the spec, or looked up); throws when it cannot be found. */
  contractId(spec: ContractSpec): Promise<string>;
}

const WIRE_TYPES = {
  market: WireType.market,
  limit: WireType.limit,
  stop: WireType.stop,
  trailing_stop: WireType.trailingStop,
} as const;

const iso = (ms: number) => new Date(ms).toISOString();

function wirePrice(value: Dec | undefined, spec: ContractSpec): number | null {
  return value === undefined ? null : toNum(roundToStep(value, spec.tickSize));
}

/** Maps a call result to an order outcome, with the endpoint's error-code meanings. */
export function outcomeOf(
  result: CallResult<Envelope & { orderId?: number | null }>,
  endpoint: Endpoint,
  brokerOrderId?: BrokerOrderId,
): OrderOutcome {
  switch (result.kind) {
    case "ok": {
      const id = result.body.orderId ?? undefined;
      const orderId = id !== undefined ? asBrokerOrderId(String(id)) : brokerOrderId;
      if (!orderId) return { kind: "unknown", reason: "ProjectX accepted the order without an order id" };
      return { kind: "accepted", brokerOrderId: orderId, raw: result.body };
    }
    case "failed":
      return {
        kind: "rejected",
        reason: describeError(endpoint, result.errorCode, result.errorMessage),
        code: String(result.errorCode),
        raw: result.body,
      };
    case "refused":
      return {
        kind: "rejected",
        reason: result.reason,
        ...(result.status ? { code: `HTTP ${result.status}` } : {}),
      };
    case "unknown":
      return { kind: "unknown", reason: result.reason };
  }
}

export class OrderOps {
  constructor(private readonly deps: OrderDeps) {}

  async place(order: OrderRequest, brackets?: BracketTicks): Promise<OrderOutcome> {
    const accountId = accountNumber(order.brokerAccountId);
    if (accountId === undefined) throw new RangeError(`not a ProjectX account id: ${order.brokerAccountId}`);
    if (!Number.isInteger(order.qty) || order.qty <= 0) throw new RangeError(`invalid quantity ${order.qty}`);
    if (order.type === "limit" && (order.price === undefined || !isPositive(order.price)))
      throw new RangeError("a limit order needs a positive price");
    if (
      (order.type === "stop" || order.type === "trailing_stop") &&
      (order.stopPrice === undefined || !isPositive(order.stopPrice))
    )
      throw new RangeError("a stop order needs a positive stop price");
    const contractId = await this.contractIdOf(order.contract);
    if (typeof contractId !== "string") return contractId;
    const long = order.side === "buy";
    const body = {
      accountId,
      contractId,
      type: WIRE_TYPES[order.type],
      side: wireSide(order.side),
      size: order.qty,
      limitPrice: order.type === "limit" ? wirePrice(order.price, order.contract) : null,
      stopPrice: order.type === "stop" ? wirePrice(order.stopPrice, order.contract) : null,
      // Type 5: trailPrice is the absolute level it starts at; the gateway keeps that distance [reference].
      trailPrice: order.type === "trailing_stop" ? wirePrice(order.stopPrice, order.contract) : null,
      customTag: order.clientOrderId,
      // Signed ticks [LIVE]: for a long the stop is negative and the target positive; a short reverses.
      ...(brackets?.stopLossTicks
        ? {
            stopLossBracket: {
              ticks: long ? -brackets.stopLossTicks : brackets.stopLossTicks,
              type: WireType.stop,
            },
          }
        : {}),
      ...(brackets?.takeProfitTicks
        ? {
            takeProfitBracket: {
              ticks: long ? brackets.takeProfitTicks : -brackets.takeProfitTicks,
              type: WireType.limit,
            },
          }
        : {}),
    };
    const log = { clientOrderId: order.clientOrderId, brokerAccountId: order.brokerAccountId, contractId };
    this.deps.logger.info({
      event: "OrderSubmitted",
      ...log,
      side: order.side,
      type: order.type,
      qty: order.qty,
    });
    const outcome = outcomeOf(await this.deps.http.post("/api/Order/place", body, placeReplySchema), "place");
    if (outcome.kind === "rejected")
      this.deps.logger.warn(
        { event: "OrderRejected", ...log, reason: outcome.reason },
        "ProjectX rejected an order",
      );
    else if (outcome.kind === "unknown")
      this.deps.logger.warn(
        { event: "OrderOutcomeUnknown", ...log, reason: outcome.reason },
        "order outcome unknown",
      );
    else this.deps.logger.info({ event: "OrderAccepted", ...log, brokerOrderId: outcome.brokerOrderId });
    return outcome;
  }

  async modify(
    account: BrokerAccountId,
    orderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    const accountId = accountNumber(account);
    const id = Number(orderId);
    if (accountId === undefined || !Number.isSafeInteger(id))
      return { kind: "rejected", reason: `not sent: ProjectX has no order ${orderId}` };
    const body = {
      accountId,
      orderId: id,
      size: change.qty ?? null,
      limitPrice: change.price === undefined ? null : toNum(change.price),
      stopPrice: change.stopPrice === undefined ? null : toNum(change.stopPrice),
      trailPrice: null,
    };
    return outcomeOf(await this.deps.http.post("/api/Order/modify", body, envelopeSchema), "modify", orderId);
  }

  async cancel(account: BrokerAccountId, orderId: BrokerOrderId): Promise<CancelOutcome> {
    const accountId = accountNumber(account);
    const id = Number(orderId);
    if (accountId === undefined || !Number.isSafeInteger(id))
      return { kind: "gone", reason: `ProjectX has no order ${orderId}` };
    const result = await this.deps.http.post("/api/Order/cancel", { accountId, orderId: id }, envelopeSchema);
    switch (result.kind) {
      case "ok":
        this.deps.logger.info({ event: "OrderCancelled", brokerAccountId: account, brokerOrderId: orderId });
        return { kind: "cancelled" };
      case "failed": {
        const reason = describeError("cancel", result.errorCode, result.errorMessage);
        if (result.errorCode === 2) return { kind: "gone", reason };
        // Rejected: gone if the order already reached a final state, otherwise a real refusal.
        const order = await this.byId(accountId, id).catch(() => undefined);
        if (order && FINAL_STATUSES.has(order.status)) return { kind: "gone", reason };
        return { kind: "rejected", reason };
      }
      case "refused":
        return { kind: "rejected", reason: result.reason };
      case "unknown":
        return { kind: "unknown", reason: result.reason };
    }
  }

  /** Orders created since `sinceMs` (Order/search). Throws when the gateway does not answer. */
  async search(account: BrokerAccountId | number, sinceMs: number): Promise<OrderWire[]> {
    const accountId = typeof account === "number" ? account : accountNumber(account);
    if (accountId === undefined) return [];
    const body = { accountId, startTimestamp: iso(sinceMs), endTimestamp: null };
    const result = await this.deps.http.post("/api/Order/search", body, ordersReplySchema);
    return expectRows(result, "search", (b) => b.orders ?? []);
  }

  async find(account: BrokerAccountId, clientOrderId: ClientOrderId): Promise<BrokerOrder | null> {
    const orders = await this.search(account, Date.now() - this.deps.config.orderLookbackMs);
    const match = orders.filter((o) => o.customTag === clientOrderId).sort((a, b) => b.id - a.id)[0];
    return match ? orderOf(match) : null;
  }

  /** Working orders including suspended bracket children (v2/query [1,6,8]; searchOpen if v2 is missing). */
  async working(account: BrokerAccountId | number): Promise<OrderWire[]> {
    const accountId = typeof account === "number" ? account : accountNumber(account);
    if (accountId === undefined) return [];
    const body = {
      filter: { accountId, statuses: [1, 6, 7, 8], contractId: null },
      pageSize: 1000,
      pageOffset: 0,
      sortBy: 0,
      sortDirection: 1,
      includeTotalCount: false,
    };
    const v2 = await this.deps.http.post("/api/Order/v2/query", body, ordersReplySchema);
    if (v2.kind === "refused" && (v2.status === 404 || v2.status === 400 || v2.status === 405)) {
      const open = await this.deps.http.post("/api/Order/searchOpen", { accountId }, ordersReplySchema);
      return expectRows(open, "search", (b) => b.orders ?? []);
    }
    return expectRows(v2, "search", (b) => b.orders ?? []);
  }

  async positions(account: BrokerAccountId | number): Promise<PositionWire[]> {
    const accountId = typeof account === "number" ? account : accountNumber(account);
    if (accountId === undefined) return [];
    const result = await this.deps.http.post("/api/Position/searchOpen", { accountId }, positionsReplySchema);
    return expectRows(result, "search", (b) =>
      (b.positions ?? []).filter((p) => p.size !== 0 && p.type !== 0),
    );
  }

  /** The gateway id of a contract, or a `rejected` outcome saying why it is unknown (nothing sent). */
  async contractIdOf(spec: ContractSpec): Promise<string | OrderOutcome> {
    try {
      return await this.deps.contractId(spec);
    } catch (error) {
      return {
        kind: "rejected",
        reason: `not sent: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  private async byId(accountId: number, orderId: number): Promise<OrderWire | undefined> {
    const orders = await this.search(accountId, Date.now() - this.deps.config.orderLookbackMs);
    return orders.find((o) => o.id === orderId);
  }
}

function expectRows<B extends Envelope, R>(
  result: CallResult<B>,
  endpoint: Endpoint,
  rows: (body: B) => R[],
): R[] {
  if (result.kind === "ok") return rows(result.body);
  if (result.kind === "failed")
    throw new ProjectXUnavailable(describeError(endpoint, result.errorCode, result.errorMessage));
  throw new ProjectXUnavailable(result.reason);
}
