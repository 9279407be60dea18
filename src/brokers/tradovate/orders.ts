/**
 * Write side of a Tradovate login: placeorder, placeoco, modifyorder, cancelorder, liquidateposition.
 * Every order carries `isAutomated: true` and our client order id as `clOrdId`. Broker words become
 * `rejected`; no reply becomes `unknown` (never resent here); 429, captcha and exhausted penalties are
 * rejections that say plainly the order was not placed.
 */
import type { Logger } from "pino";
import type { ContractSpec } from "../../domain/contract";
import { type Dec, isPositive, toNum } from "../../domain/decimal";
import type { BrokerOrderId, ClientOrderId } from "../../domain/ids";
import { asBrokerOrderId } from "../../domain/ids";
import type { CancelOutcome, OrderOutcome, OrderRequest } from "../port";
import type { Caller } from "./calls";
import type { ResolvedOptions } from "./config";
import type { ContractBook } from "./contracts";
import type { Lookups } from "./lookups";
import type { Mirror } from "./mirror";
import { readResult } from "./outcomes";
import { action, averagePrice, isTerminal, wireOrderType } from "./parse";
import type { Order, OrderResult } from "./wire";

const invalid = (reason: string): OrderOutcome => ({ kind: "rejected", code: "InvalidOrder", reason });

export class OrderDesk {
  constructor(
    private readonly caller: Caller,
    private readonly mirror: Mirror,
    private readonly contracts: ContractBook,
    private readonly lookups: Lookups,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
    private readonly onOrder: () => void,
  ) {}

  async placeOrder(o: OrderRequest): Promise<OrderOutcome> {
    const body = this.body(o);
    if (typeof body === "string") return invalid(body);
    const outcome = await this.send("order/placeorder", body, o.clientOrderId, (r) => r.orderId);
    return outcome;
  }

  async placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]> {
    if (
      first.brokerAccountId !== second.brokerAccountId ||
      first.contract.name !== second.contract.name ||
      first.qty !== second.qty
    ) {
      const r = invalid("Tradovate OCO orders must share account, contract and quantity");
      return [r, r];
    }
    const main = this.body(first);
    const other = this.body(second);
    if (typeof main === "string" || typeof other === "string") {
      const r = invalid(typeof main === "string" ? main : String(other));
      return [r, r];
    }
    const {
      accountSpec: _a,
      accountId: _i,
      symbol: _s,
      orderQty: _q,
      isAutomated: _m,
      ...restrained
    } = other;
    const body = { ...main, other: restrained };
    this.onOrder();
    this.logger.debug(
      { event: "OrderSubmitted", endpoint: "order/placeoco", clientOrderId: first.clientOrderId },
      "oco submitted",
    );
    const read = readResult(await this.caller.call("order/placeoco", body, { critical: true }));
    if (!read.ok) {
      this.log(read.outcome, first.clientOrderId);
      return [read.outcome, read.outcome];
    }
    const { orderId, ocoId } = read.result;
    const a = typeof orderId === "number" ? this.accepted(orderId, read.result) : this.noId();
    const secondId =
      typeof ocoId === "number" ? ocoId : this.mirror.commandByClOrdId(second.clientOrderId)?.orderId;
    const b = typeof secondId === "number" ? this.accepted(secondId, read.result) : this.noId();
    return [a, b];
  }

  async modifyOrder(
    brokerAccountId: string,
    brokerOrderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    const orderId = Number(brokerOrderId);
    let order: Order | undefined;
    try {
      order =
        Number.isInteger(orderId) && orderId > 0 ? await this.lookups.order(orderId, false, true) : undefined;
    } catch (error) {
      // The modify needs the current quantity and type; without them nothing is sent.
      return {
        kind: "rejected",
        code: "NotSent",
        reason: error instanceof Error ? error.message : String(error),
      };
    }
    if (!order || String(order.accountId) !== brokerAccountId)
      return {
        kind: "rejected",
        code: "UnknownOrder",
        reason: `Tradovate has no order ${brokerOrderId} on account ${brokerAccountId}`,
      };
    if (isTerminal(order.ordStatus))
      return {
        kind: "rejected",
        code: "TooLate",
        reason: `Order ${brokerOrderId} is already ${order.ordStatus}`,
      };
    await this.lookups.build(order, true);
    const version = this.mirror.versionOf(orderId);
    if (!version)
      return { kind: "unknown", reason: `Could not read the current version of order ${brokerOrderId}` };
    if (change.price !== undefined && !isPositive(change.price)) return invalid("price must be positive");
    if (change.stopPrice !== undefined && !isPositive(change.stopPrice))
      return invalid("stop price must be positive");
    const price = change.price !== undefined ? toNum(change.price) : version.price;
    const stopPrice = change.stopPrice !== undefined ? toNum(change.stopPrice) : version.stopPrice;
    const body = {
      orderId,
      // Tradovate requires quantity and type even when they do not change.
      orderQty: change.qty ?? version.orderQty,
      orderType: version.orderType,
      ...(price !== null && price !== undefined ? { price } : {}),
      ...(stopPrice !== null && stopPrice !== undefined ? { stopPrice } : {}),
      ...(version.timeInForce ? { timeInForce: version.timeInForce } : {}),
      isAutomated: true,
    };
    const read = readResult(await this.caller.call("order/modifyorder", body, { critical: true }));
    if (!read.ok) {
      this.log(read.outcome);
      return read.outcome;
    }
    return { kind: "accepted", brokerOrderId, raw: read.result };
  }

  async cancelOrder(brokerAccountId: string, brokerOrderId: BrokerOrderId): Promise<CancelOutcome> {
    const orderId = Number(brokerOrderId);
    if (!Number.isInteger(orderId) || orderId <= 0)
      return { kind: "gone", reason: `${brokerOrderId} is not a Tradovate order id` };
    let known: Order | undefined;
    let lookedUp = false;
    try {
      known = await this.lookups.order(orderId, false, true);
      lookedUp = true;
    } catch {
      // Could not look it up: let the broker decide.
      known = this.mirror.get("order", orderId);
    }
    if (lookedUp && !known) return { kind: "gone", reason: "Tradovate does not know this order" };
    // Never touch another sub-account's order, whatever id the caller passed.
    if (known && String(known.accountId) !== brokerAccountId)
      return { kind: "rejected", reason: `Order ${brokerOrderId} belongs to another account` };
    if (known && isTerminal(known.ordStatus))
      return { kind: "gone", reason: `Order is already ${known.ordStatus}` };
    const r = await this.caller.call("order/cancelorder", { orderId, isAutomated: true }, { critical: true });
    if (r.kind === "http-error" && r.status === 404)
      return { kind: "gone", reason: "Tradovate does not know this order" };
    const read = readResult(r);
    if (read.ok) return { kind: "cancelled" };
    if (read.outcome.kind === "unknown") return read.outcome;
    if (r.kind !== "ok") return { kind: "rejected", reason: read.outcome.reason };
    // The broker said no: find out whether the order is simply gone (filled, cancelled, never existed).
    const now = await this.lookups.order(orderId, true, true).catch(() => undefined);
    if (!now || isTerminal(now.ordStatus)) return { kind: "gone", reason: read.outcome.reason };
    return { kind: "rejected", reason: read.outcome.reason };
  }

  async flatten(
    brokerAccountId: string,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome> {
    let contractId = Number(contract.brokerContractId);
    if (!Number.isInteger(contractId) || contractId <= 0) {
      try {
        contractId = Number((await this.contracts.resolve(contract.name)).brokerContractId);
      } catch (error) {
        return {
          kind: "rejected",
          code: "UnknownContract",
          reason: error instanceof Error ? error.message : String(error),
        };
      }
    }
    const accountId = Number(brokerAccountId);
    if (!Number.isInteger(accountId)) return invalid(`${brokerAccountId} is not a Tradovate account id`);
    // liquidateposition wants the integer contractId; its schema has no clOrdId or isAutomated.
    const request = this.lookups.liquidations.sending(accountId, contractId);
    const outcome = await this.send(
      "order/liquidateposition",
      { accountId, contractId, admin: false },
      clientOrderId,
      (r) => r.orderId,
      true,
    );
    if (outcome.kind === "accepted" && outcome.brokerOrderId !== "0")
      this.lookups.liquidations.placed(clientOrderId, Number(outcome.brokerOrderId));
    else if (outcome.kind === "unknown") this.lookups.liquidations.unanswered(clientOrderId, request);
    return outcome;
  }

  /** placeorder/liquidate body from a port request, or the reason it cannot be sent. */
  private body(o: OrderRequest) {
    const accountId = Number(o.brokerAccountId);
    if (!Number.isInteger(accountId) || accountId <= 0)
      return `${o.brokerAccountId} is not a Tradovate account id`;
    if (!Number.isInteger(o.qty) || o.qty <= 0) return `invalid quantity ${o.qty}`;
    if (o.type === "limit" && (o.price === undefined || !isPositive(o.price)))
      return "a limit order needs a positive price";
    if (
      (o.type === "stop" || o.type === "trailing_stop") &&
      (o.stopPrice === undefined || !isPositive(o.stopPrice))
    )
      return "a stop order needs a positive stop price";
    this.contracts.remember(o.contract);
    const accountSpec = this.mirror.get("account", accountId)?.name;
    return {
      ...(accountSpec ? { accountSpec } : {}),
      accountId,
      action: action(o.side),
      symbol: o.contract.name,
      orderQty: o.qty,
      orderType: wireOrderType(o.type),
      ...(o.type === "limit" && o.price !== undefined ? { price: toNum(o.price) } : {}),
      // A TrailingStop starts at stopPrice and keeps its distance from the market behind the best price.
      ...((o.type === "stop" || o.type === "trailing_stop") && o.stopPrice !== undefined
        ? { stopPrice: toNum(o.stopPrice) }
        : {}),
      timeInForce: o.type === "market" ? "Day" : this.options.restingTimeInForce,
      clOrdId: o.clientOrderId,
      isAutomated: true,
    };
  }

  private async send(
    endpoint: string,
    body: unknown,
    clientOrderId: string,
    pick: (r: OrderResult) => number | null | undefined,
    flatOk = false,
  ): Promise<OrderOutcome> {
    this.onOrder();
    this.logger.debug({ event: "OrderSubmitted", endpoint, clientOrderId }, "order submitted");
    const read = readResult(await this.caller.call(endpoint, body, { critical: true }));
    if (!read.ok) {
      this.log(read.outcome, clientOrderId);
      return read.outcome;
    }
    const id = pick(read.result);
    if (typeof id === "number") {
      this.logger.debug(
        { event: "OrderAccepted", endpoint, clientOrderId, brokerOrderId: id },
        "order accepted",
      );
      return this.accepted(id, read.result);
    }
    // liquidateposition on a flat position cancels working orders and places nothing.
    if (flatOk) return { kind: "accepted", brokerOrderId: asBrokerOrderId("0"), raw: read.result };
    return this.noId();
  }

  private accepted(orderId: number, raw: unknown): OrderOutcome {
    const fills = this.mirror.fillsOf(orderId);
    const price = averagePrice(fills);
    const qty = fills.reduce((n, f) => n + f.qty, 0);
    const last = fills.at(-1)?.timestamp;
    return {
      kind: "accepted",
      brokerOrderId: asBrokerOrderId(String(orderId)),
      ...(price !== undefined && qty > 0
        ? { fill: { price, qty, cumQty: qty, at: last ? new Date(last) : new Date() } }
        : {}),
      raw,
    };
  }

  private noId(): OrderOutcome {
    return { kind: "unknown", reason: "Tradovate answered without an order id" };
  }

  private log(
    outcome: Extract<OrderOutcome, { kind: "rejected" | "unknown" }>,
    clientOrderId?: string,
  ): void {
    const event = outcome.kind === "rejected" ? "OrderRejected" : "OrderOutcomeUnknown";
    this.logger.warn(
      {
        event,
        clientOrderId,
        reason: outcome.reason,
        ...(outcome.kind === "rejected" ? { code: outcome.code } : {}),
      },
      event,
    );
  }
}
