/**
 * Order operations of a Webull session: place, replace, cancel (paced), flatten, and the mapping from
 * Webull's `order_id` (our BrokerOrderId) to the `client_order_id` every Webull endpoint is keyed by.
 */
import type { Logger } from "pino";
import type { ContractSpec } from "../../domain/contract";
import { type Dec, toStr } from "../../domain/decimal";
import {
  asBrokerOrderId,
  type BrokerAccountId,
  type BrokerOrderId,
  type ClientOrderId,
} from "../../domain/ids";
import type { BrokerOrder, CancelOutcome, OrderOutcome, OrderRequest } from "../port";
import { describeFailure, isNotFound, pause, type WebullApi } from "./api";
import type { HttpResult } from "./http";
import type { CancelPacer } from "./pacer";
import { categoryHeader, instrumentOf, isFinal, orderStatus, toNewOrder, toPosition } from "./parse";
import { orderAckSchema } from "./wire";

export interface OrdersDeps {
  api: WebullApi;
  pacer: CancelPacer;
  cancelSpacingMs: number;
  logger: Logger;
  signal: AbortSignal;
  watch(order: BrokerOrder): void;
  kick(): void;
  known(account: BrokerAccountId, clientOrderId: string): BrokerOrder | undefined;
}

const RATE_LIMIT_RETRIES = 5;

type Failed = Exclude<HttpResult, { kind: "ok" }>;

/** What a non-2xx / no answer means for an order request. */
function settle(
  r: Failed,
): { kind: "rejected"; reason: string; code: string } | { kind: "unknown"; reason: string } {
  if (r.kind === "error" && r.status >= 400 && r.status < 500) {
    return { kind: "rejected", reason: describeFailure(r), code: r.code };
  }
  // No connection was made: definitely not placed, and safe to send again once Webull is back.
  if (r.kind === "refused") return { kind: "rejected", reason: r.reason, code: "NotSent" };
  return { kind: "unknown", reason: describeFailure(r) };
}

export class WebullOrders {
  /** Webull order_id -> client_order_id, learned from acknowledgments and every observed order. */
  private readonly clientIds = new Map<string, string>();

  constructor(private readonly deps: OrdersDeps) {}

  remember(order: BrokerOrder): void {
    if (order.clientOrderId) this.clientIds.set(order.brokerOrderId, order.clientOrderId);
  }

  async place(req: OrderRequest): Promise<OrderOutcome> {
    const log = this.deps.logger;
    const wire = toNewOrder(req);
    const ids = { clientOrderId: req.clientOrderId, brokerAccountId: req.brokerAccountId };
    if ("invalid" in wire) {
      log.warn({ event: "OrderDenied", ...ids, reason: wire.invalid }, "order not sent to Webull");
      return { kind: "rejected", reason: wire.invalid, code: "INVALID_ORDER" };
    }
    log.info(
      {
        event: "OrderSubmitted",
        ...ids,
        contract: req.contract.name,
        side: req.side,
        qty: req.qty,
        type: req.type,
      },
      "order sent to Webull",
    );
    const category = categoryHeader(instrumentOf(req.contract));
    const r = await this.retry429(() => this.deps.api.place(req.brokerAccountId, wire, category));
    const seed: BrokerOrder = {
      brokerOrderId: asBrokerOrderId(req.clientOrderId),
      clientOrderId: req.clientOrderId,
      brokerAccountId: req.brokerAccountId,
      contract: req.contract.name,
      side: req.side,
      type: req.type,
      qty: req.qty,
      filledQty: 0,
      status: "pending",
    };
    if (r.kind !== "ok") {
      const outcome = settle(r);
      if (outcome.kind === "unknown") {
        // It may have arrived: the poller asks order/detail until it shows up or is clearly absent.
        this.deps.watch(seed);
        log.warn(
          { event: "OrderOutcomeUnknown", ...ids, reason: outcome.reason },
          "Webull order outcome unknown",
        );
      } else {
        log.warn({ event: "OrderRejected", ...ids, reason: outcome.reason }, "Webull refused the order");
      }
      return outcome;
    }
    const ack = orderAckSchema.safeParse(r.body);
    const orderId = ack.success ? (ack.data.order_id ?? ack.data.orders?.[0]?.order_id) : undefined;
    const brokerOrderId = asBrokerOrderId(orderId ?? req.clientOrderId);
    this.clientIds.set(brokerOrderId, req.clientOrderId);
    this.deps.watch({ ...seed, brokerOrderId });
    if (req.type === "market") this.deps.kick();
    log.info({ event: "OrderAccepted", ...ids, brokerOrderId, rttMs: r.rttMs }, "Webull accepted the order");
    return { kind: "accepted", brokerOrderId, raw: r.body };
  }

  async modify(
    account: BrokerAccountId,
    clientOrderId: string,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    const known = this.deps.known(account, clientOrderId);
    const qty = change.qty ?? known?.qty;
    const body = {
      client_order_id: clientOrderId,
      ...(qty !== undefined ? { quantity: String(qty) } : {}),
      ...(change.price !== undefined ? { limit_price: toStr(change.price) } : {}),
      ...(change.stopPrice !== undefined ? { stop_price: toStr(change.stopPrice) } : {}),
    };
    const r = await this.retry429(() => this.deps.api.replace(account, body));
    if (r.kind !== "ok") {
      const outcome = settle(r);
      this.deps.logger.warn(
        { event: "OrderModifyFailed", clientOrderId, outcome: outcome.kind, reason: outcome.reason },
        "Webull did not confirm the replace",
      );
      return outcome;
    }
    this.deps.kick();
    const ack = orderAckSchema.safeParse(r.body);
    const orderId = ack.success ? ack.data.order_id : undefined;
    return { kind: "accepted", brokerOrderId: asBrokerOrderId(orderId ?? clientOrderId), raw: r.body };
  }

  /** Paced to Webull's 1 cancel/s per App ID; a 429 waits and tries again (it was not processed). */
  async cancel(account: BrokerAccountId, clientOrderId: string): Promise<CancelOutcome> {
    const r = await this.deps.pacer.run(async () => {
      let result = await this.deps.api.cancel(account, clientOrderId);
      for (let attempt = 1; attempt <= RATE_LIMIT_RETRIES; attempt++) {
        if (result.kind !== "error" || result.status !== 429 || this.deps.signal.aborted) break;
        const wait = Math.max(this.deps.cancelSpacingMs, result.retryAfterMs ?? 0);
        this.deps.logger.warn(
          { event: "CancelRateLimited", clientOrderId, waitMs: wait },
          "Webull cancel 429",
        );
        await pause(wait, this.deps.signal);
        result = await this.deps.api.cancel(account, clientOrderId);
      }
      return result;
    }, this.deps.signal);
    if (r.kind === "ok") {
      this.deps.kick();
      this.deps.logger.info({ event: "OrderCancelled", clientOrderId }, "Webull cancelled the order");
      return { kind: "cancelled" };
    }
    if (r.kind === "error" && isNotFound(r)) return { kind: "gone", reason: describeFailure(r) };
    const outcome = settle(r);
    if (outcome.kind === "rejected" && r.kind === "error" && r.status !== 401 && r.status !== 429) {
      // Refused: if the order is already final there is simply nothing left to cancel.
      const detail = await this.deps.api.detail(account, clientOrderId);
      if (detail.ok && (!detail.value || isFinal(orderStatus(detail.value.order_status)))) {
        return { kind: "gone", reason: `order is ${detail.value?.order_status ?? "unknown to Webull"}` };
      }
    }
    return outcome;
  }

  /** Cancels the contract's working orders, then closes the position at market. */
  async flatten(
    account: BrokerAccountId,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome> {
    const log = this.deps.logger;
    const positions = await this.deps.api.positions(account);
    if (!positions.ok) return { kind: "unknown", reason: describeFailure(positions.failure) };
    const held = positions.value.map((v) => toPosition(v, account)).find((p) => p.contract === contract.name);
    if (!held || held.netPos === 0) {
      log.info({ event: "FlattenNothingToClose", contract: contract.name }, "already flat at Webull");
      await this.cancelContract(account, contract);
      return { kind: "accepted", brokerOrderId: asBrokerOrderId(""), raw: { alreadyFlat: true } };
    }
    // Close first: if the close is refused or unanswered, the stops stay and keep protecting the position.
    const closed = await this.place({
      clientOrderId,
      brokerAccountId: account,
      contract,
      side: held.netPos > 0 ? "sell" : "buy",
      qty: Math.abs(held.netPos),
      type: "market",
    });
    if (closed.kind === "accepted") await this.cancelContract(account, contract);
    return closed;
  }

  /** Cancels the contract's working orders; one that cannot be cancelled is logged and left to reconciliation. */
  private async cancelContract(account: BrokerAccountId, contract: ContractSpec): Promise<void> {
    const open = await this.deps.api.openOrders(account);
    if (!open.ok) {
      this.deps.logger.warn(
        { event: "FlattenCancelSkipped", reason: describeFailure(open.failure) },
        "working orders unknown",
      );
      return;
    }
    for (const view of open.value.filter((o) => o.symbol === contract.name)) {
      const outcome = await this.cancel(account, view.client_order_id);
      if (outcome.kind !== "cancelled" && outcome.kind !== "gone") {
        this.deps.logger.error(
          { event: "FlattenCancelFailed", clientOrderId: view.client_order_id, reason: outcome.reason },
          "a working order could not be cancelled after the flatten",
        );
      }
    }
  }

  /** The client_order_id behind a BrokerOrderId (Webull order_id); the id itself when none is known. */
  async resolve(account: BrokerAccountId, id: BrokerOrderId): Promise<string> {
    const hit = this.clientIds.get(id);
    if (hit) return hit;
    const open = await this.deps.api.openOrders(account);
    if (open.ok) {
      for (const view of open.value) {
        if (view.order_id) this.clientIds.set(view.order_id, view.client_order_id);
      }
      const found = this.clientIds.get(id);
      if (found) return found;
    }
    return id;
  }

  private async retry429(send: () => Promise<HttpResult>): Promise<HttpResult> {
    let r = await send();
    for (let attempt = 1; attempt <= RATE_LIMIT_RETRIES; attempt++) {
      if (r.kind !== "error" || r.status !== 429 || this.deps.signal.aborted) return r;
      const wait = Math.min(5_000, r.retryAfterMs ?? 250 * 2 ** attempt);
      this.deps.logger.warn({ event: "RateLimited", waitMs: wait, attempt }, "Webull 429: backing off");
      if (!(await pause(wait, this.deps.signal))) return r;
      r = await send();
    }
    return r;
  }
}
