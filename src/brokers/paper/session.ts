/**
 * The paper broker behind the broker port: market orders fill at the alert's price (or the paper market's
 * last price), take-profits and stops rest in the account's venue and fill when the paper market reaches
 * them. Same semantics, same port, no broker account needed.
 */
import type { ContractSpec } from "../../domain/contract";
import { specFromTable } from "../../domain/contract";
import type { Dec } from "../../domain/decimal";
import {
  type AccountId,
  asBrokerAccountId,
  asBrokerOrderId,
  asClientOrderId,
  type BrokerAccountId,
  type BrokerOrderId,
  type ClientOrderId,
} from "../../domain/ids";
import type { VenueEvent, VenueOrder, VenueOrderRequest } from "../../domain/venue/types";
import type {
  BrokerAccountInfo,
  BrokerEvent,
  BrokerListener,
  BrokerOrder,
  BrokerPosition,
  BrokerSession,
  CancelOutcome,
  OrderOutcome,
  OrderRequest,
  SessionStatus,
} from "../port";
import { PAPER_SUB_ACCOUNT, type PaperExchange } from "./exchange";

export class PaperSession implements BrokerSession {
  readonly kind = "paper" as const;
  /** One in-process exchange: every paper account's ids live in the same place. */
  readonly venue = "paper";
  private readonly listeners = new Set<BrokerListener>();
  private unsubscribe: (() => void) | undefined;
  private state: SessionStatus = { state: "idle", since: new Date(), warm: false };

  constructor(
    readonly accountId: AccountId,
    private readonly name: string,
    private readonly exchange: PaperExchange,
    private readonly startingBalance: Dec,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async start(): Promise<void> {
    if (this.unsubscribe) return;
    const book = await this.exchange.book(this.accountId, this.startingBalance);
    this.unsubscribe = book.venue.on((e) => {
      for (const event of this.translate(e)) this.emit(event);
    });
    this.state = { state: "ready", since: this.now(), lastHeartbeatAt: this.now(), rttMs: 0, warm: true };
    this.emit({ type: "SessionChanged", status: this.state });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.state = { state: "idle", since: this.now(), warm: false };
  }

  status(): SessionStatus {
    return this.state.state === "ready" ? { ...this.state, lastHeartbeatAt: this.now() } : this.state;
  }

  async brokerAccounts(): Promise<BrokerAccountInfo[]> {
    const book = await this.book();
    const account = book.venue.account(this.accountId);
    return [
      {
        id: asBrokerAccountId(PAPER_SUB_ACCOUNT),
        name: `${this.name} (paper)`,
        ...(account ? { balance: account.balance } : {}),
      },
    ];
  }

  async contract(symbol: string): Promise<ContractSpec> {
    const spec = specFromTable(symbol, this.now());
    if (!spec)
      throw new Error(
        `Paper trading does not know the product of "${symbol}"; use a futures symbol such as MNQ1! or ESZ6.`,
      );
    return spec;
  }

  async placeOrder(order: OrderRequest): Promise<OrderOutcome> {
    const book = await this.ready(order);
    const placed = book.venue.place(this.request(order));
    await this.exchange.save(book);
    return this.outcome(placed);
  }

  async placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]> {
    const book = await this.ready(first);
    const [a, b] = book.venue.placeOco(this.request(first), this.request(second));
    await this.exchange.save(book);
    return [this.outcome(a), this.outcome(b)];
  }

  async modifyOrder(
    _brokerAccountId: BrokerAccountId,
    brokerOrderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    const book = await this.book();
    const result = book.venue.modify(Number(brokerOrderId), change);
    await this.exchange.save(book);
    return typeof result === "string" ? { kind: "rejected", reason: result } : this.outcome(result);
  }

  async cancelOrder(_brokerAccountId: BrokerAccountId, brokerOrderId: BrokerOrderId): Promise<CancelOutcome> {
    const book = await this.book();
    const result = book.venue.cancel(Number(brokerOrderId));
    await this.exchange.save(book);
    return typeof result === "string" ? { kind: "gone", reason: result } : { kind: "cancelled" };
  }

  async flatten(
    _brokerAccountId: BrokerAccountId,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome> {
    const book = await this.book();
    const order = book.venue.liquidate(this.accountId, contract.name, clientOrderId);
    await this.exchange.save(book);
    if (!order) return { kind: "accepted", brokerOrderId: asBrokerOrderId("flat") };
    return this.outcome(order);
  }

  async positions(_brokerAccountId: BrokerAccountId): Promise<BrokerPosition[]> {
    const book = await this.book();
    return book.venue
      .listPositions(this.accountId)
      .filter((p) => p.netPos !== 0)
      .map((p) => ({
        brokerAccountId: asBrokerAccountId(PAPER_SUB_ACCOUNT),
        contract: p.contract,
        netPos: p.netPos,
        ...(p.avgPrice !== undefined ? { avgPrice: p.avgPrice } : {}),
      }));
  }

  async workingOrders(_brokerAccountId: BrokerAccountId): Promise<BrokerOrder[]> {
    const book = await this.book();
    return book.venue
      .listOrders(this.accountId)
      .filter((o) => o.status === "working" || o.status === "held")
      .map((o) => this.toBrokerOrder(o));
  }

  async findOrder(
    _brokerAccountId: BrokerAccountId,
    clientOrderId: ClientOrderId,
  ): Promise<BrokerOrder | null> {
    const book = await this.book();
    const order = book.venue.orderByClientId(clientOrderId);
    return order ? this.toBrokerOrder(order) : null;
  }

  async subscribeQuotes(_contract: ContractSpec): Promise<void> {
    // The paper market's prices arrive from alerts and POST /api/paper/prices; nothing to subscribe to.
  }

  on(listener: BrokerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An alert's price moves the paper market before the order meets it. */
  private async ready(order: OrderRequest) {
    const book = await this.book();
    if (order.referencePrice !== undefined)
      await this.exchange.setPrice(order.contract.name, order.referencePrice);
    return book;
  }

  /** This account's book, reloaded first if another relay changed it. */
  private async book() {
    const book = await this.exchange.book(this.accountId, this.startingBalance);
    await this.exchange.sync(book);
    return book;
  }

  private request(o: OrderRequest): VenueOrderRequest {
    // The paper market has no trailing order: the relay trails paper stops itself (src/orders/stop-manager.ts).
    if (o.type === "trailing_stop") throw new RangeError("the paper broker has no native trailing stop");
    return {
      account: this.accountId,
      contract: o.contract.name,
      side: o.side,
      type: o.type,
      qty: o.qty,
      clientOrderId: o.clientOrderId,
      ...(o.price !== undefined ? { price: o.price } : {}),
      ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
    };
  }

  private outcome(o: VenueOrder): OrderOutcome {
    if (o.status === "rejected") {
      const reason =
        o.rejectReason === "NoQuote"
          ? `paper trading has no price for ${o.contract} yet: include "price" in the alert`
          : (o.rejectReason ?? "rejected");
      return { kind: "rejected", reason, code: o.rejectReason };
    }
    const outcome: OrderOutcome = { kind: "accepted", brokerOrderId: asBrokerOrderId(String(o.id)) };
    if (o.status === "filled" && o.avgFillPrice !== undefined) {
      outcome.fill = {
        price: o.avgFillPrice,
        qty: o.filledQty,
        at: new Date(o.updatedAt),
        cumQty: o.filledQty,
        id: `paper-${o.id}`,
      };
    }
    return outcome;
  }

  private toBrokerOrder(o: VenueOrder): BrokerOrder {
    return {
      brokerOrderId: asBrokerOrderId(String(o.id)),
      ...(o.clientOrderId ? { clientOrderId: asClientOrderId(o.clientOrderId) } : {}),
      brokerAccountId: asBrokerAccountId(PAPER_SUB_ACCOUNT),
      contract: o.contract,
      side: o.side,
      type: o.type,
      qty: o.qty,
      filledQty: o.filledQty,
      ...(o.price !== undefined ? { price: o.price } : {}),
      ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
      ...(o.avgFillPrice !== undefined ? { avgFillPrice: o.avgFillPrice } : {}),
      status: o.status === "held" ? "pending" : o.status,
      ...(o.rejectReason ? { reason: o.rejectReason } : {}),
    };
  }

  private *translate(e: VenueEvent): Generator<BrokerEvent> {
    const sub = asBrokerAccountId(PAPER_SUB_ACCOUNT);
    if (e.type === "order") yield { type: "OrderUpdated", order: this.toBrokerOrder(e.order) };
    else if (e.type === "fill") {
      yield {
        type: "OrderFilled",
        brokerAccountId: sub,
        brokerOrderId: asBrokerOrderId(String(e.order.id)),
        ...(e.order.clientOrderId ? { clientOrderId: asClientOrderId(e.order.clientOrderId) } : {}),
        contract: e.fill.contract,
        side: e.fill.side,
        // One fill per paper order (no partials), so the order id is the fill's identity too.
        fill: {
          price: e.fill.price,
          qty: e.fill.qty,
          at: new Date(e.fill.at),
          id: `paper-${e.order.id}`,
          cumQty: e.order.filledQty,
        },
      };
    } else if (e.type === "position") {
      yield {
        type: "PositionChanged",
        position: {
          brokerAccountId: sub,
          contract: e.position.contract,
          netPos: e.position.netPos,
          ...(e.position.avgPrice !== undefined ? { avgPrice: e.position.avgPrice } : {}),
        },
      };
    } else if (e.type === "cash") {
      yield {
        type: "CashChanged",
        brokerAccountId: sub,
        realizedPnl: e.account.realizedToday,
        balance: e.account.balance,
      };
    } else if (e.type === "price") {
      yield { type: "QuoteReceived", contract: e.contract, last: e.price, at: new Date(e.at) };
    }
  }

  private emit(event: BrokerEvent): void {
    for (const l of this.listeners) l(event);
  }
}
