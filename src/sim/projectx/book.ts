/**
 * The simulator's state: ProjectX orders, trades and positions layered over one `Venue` (the shared
 * matching engine), and the translation of venue events into user-hub events.
 *
 * Venue events raised while an order is being placed are queued until the ProjectX ids are registered,
 * then delivered in order. Bracket children get their absolute prices from the entry's real fill price,
 * synchronously inside the fill, before the venue releases them.
 */
import { add, type Dec, sub, times, ZERO } from "../../domain/decimal";
import { Venue } from "../../domain/venue/engine";
import type { VenueEvent, VenueOrder, VenuePosition } from "../../domain/venue/types";
import type { ContractCatalog } from "./contracts";
import {
  accountModel,
  orderModel,
  orderStatus,
  type PxOrder,
  type PxTrade,
  positionModel,
  tradeModel,
} from "./models";
import type { SimAccount } from "./options";

export type BookEvent =
  | { kind: "order"; accountId: number; payload: ReturnType<typeof orderModel> }
  | { kind: "trade"; accountId: number; payload: ReturnType<typeof tradeModel> }
  | { kind: "position"; accountId: number; closed: boolean; payload: ReturnType<typeof positionModel> }
  | { kind: "account"; accountId: number; payload: ReturnType<typeof accountModel> };

type Pending =
  | { kind: "order"; order: VenueOrder }
  | { kind: "fill"; trade: Omit<PxTrade, "orderId">; venueOrderId: number }
  | { kind: "position"; accountId: number; closed: boolean; payload: ReturnType<typeof positionModel> }
  | { kind: "account"; accountId: number };

const BRACKET_TEXT = /^bracket:(-?\d+)$/;

export class Book {
  readonly venue: Venue;
  readonly accounts = new Map<number, SimAccount>();
  readonly orders = new Map<number, PxOrder>();
  readonly trades: PxTrade[] = [];
  /** customTag -> order id, per account; tags stay taken after the order ends. */
  readonly tags = new Map<number, Map<string, number>>();
  private readonly byVenue = new Map<number, number>();
  private readonly positionMeta = new Map<string, { id: number; createdAt: number }>();
  private readonly listeners = new Set<(event: BookEvent) => void>();
  private readonly queue: Pending[] = [];
  private placing = 0;
  private quiet = false;
  private nextOrderId = 9001;
  private nextTradeId = 8601;
  private nextPositionId = 6101;

  constructor(
    readonly contracts: ContractCatalog,
    readonly now: () => number,
    private readonly fee: (root: string) => Dec,
    firstIds: { order?: number; trade?: number } = {},
  ) {
    this.nextOrderId = firstIds.order ?? this.nextOrderId;
    this.nextTradeId = firstIds.trade ?? this.nextTradeId;
    this.venue = new Venue({ spec: (id) => contracts.spec(id), clock: now });
    this.venue.on((event) => this.onVenue(event));
  }

  on(listener: (event: BookEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  newOrderId(): number {
    return this.nextOrderId++;
  }

  /** The ids the next order and trade will get. */
  nextIds(): { order: number; trade: number } {
    return { order: this.nextOrderId, trade: this.nextTradeId };
  }

  /**
   * Registers a ProjectX order (and its venue id) so queued venue events can be delivered. Only accepted
   * orders reserve their customTag [UNCONFIRMED: whether a refused order keeps its tag taken].
   */
  register(order: PxOrder, reserveTag = true): void {
    this.orders.set(order.id, order);
    if (order.venueId !== undefined) this.byVenue.set(order.venueId, order.id);
    if (order.customTag !== null && reserveTag) {
      let tags = this.tags.get(order.accountId);
      if (!tags) {
        tags = new Map();
        this.tags.set(order.accountId, tags);
      }
      tags.set(order.customTag, order.id);
    }
  }

  /** Runs venue calls with event delivery held back until `fn` has registered the orders it made. */
  batch<T>(fn: () => T): T {
    this.placing++;
    try {
      return fn();
    } finally {
      this.placing--;
      if (this.placing === 0) this.drain();
    }
  }

  venueOrder(order: PxOrder): VenueOrder | undefined {
    return order.venueId === undefined ? undefined : this.venue.order(order.venueId);
  }

  status(order: PxOrder): number {
    return orderStatus(order, this.venueOrder(order));
  }

  model(order: PxOrder) {
    return orderModel(order, this.venueOrder(order), this.contracts.get(order.contractId));
  }

  accountModel(account: SimAccount) {
    return accountModel(account, this.venue.account(String(account.id))?.balance ?? ZERO);
  }

  ordersOf(accountId: number): PxOrder[] {
    return [...this.orders.values()].filter((o) => o.accountId === accountId);
  }

  openPositions(accountId: number) {
    return this.venue
      .listPositions(String(accountId))
      .filter((p) => p.netPos !== 0)
      .map((p) => this.positionPayload(p));
  }

  setPrice(contractId: string, price: Dec): void {
    this.venue.setPrice(contractId, price);
    this.ratchetTrails(contractId, price);
  }

  private positionPayload(p: VenuePosition) {
    const key = `${p.account}|${p.contract}`;
    let meta = this.positionMeta.get(key);
    if (!meta) {
      meta = { id: this.nextPositionId++, createdAt: this.now() };
      this.positionMeta.set(key, meta);
    }
    const payload = positionModel(meta.id, meta.createdAt, p, this.contracts.get(p.contract));
    if (p.netPos === 0) this.positionMeta.delete(key);
    return payload;
  }

  private onVenue(event: VenueEvent): void {
    if (event.type === "fill") this.releaseBracket(event.order, event.fill.price);
    if (event.type === "order") {
      if (!this.quiet) this.queue.push({ kind: "order", order: { ...event.order } });
    } else if (event.type === "fill") {
      const { fill } = event;
      const contract = this.contracts.get(fill.contract);
      const after = this.venue.position(fill.account, fill.contract)?.netPos ?? 0;
      const before = after - (fill.side === "buy" ? fill.qty : -fill.qty);
      const closing = before !== 0 && Math.sign(before) !== (fill.side === "buy" ? 1 : -1);
      const fees = times(contract ? this.fee(contract.root) : ZERO, fill.qty);
      const accountId = Number(fill.account);
      const account = this.accounts.get(accountId);
      if (account) account.fees = add(account.fees, fees);
      this.queue.push({
        kind: "fill",
        venueOrderId: fill.orderId,
        trade: {
          id: this.nextTradeId++,
          accountId,
          contractId: fill.contract,
          createdAt: fill.at,
          price: fill.price,
          profitAndLoss: closing ? fill.realized : null,
          fees,
          side: fill.side === "buy" ? 0 : 1,
          size: fill.qty,
        },
      });
      this.queue.push({ kind: "account", accountId });
    } else if (event.type === "position") {
      const p = event.position;
      this.queue.push({
        kind: "position",
        accountId: Number(p.account),
        closed: p.netPos === 0,
        payload: this.positionPayload(p),
      });
    } else if (event.type === "cash") {
      this.queue.push({ kind: "account", accountId: Number(event.account.id) });
    }
    if (this.placing === 0) this.drain();
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const item = this.queue.shift();
      if (!item) break;
      const event = this.translate(item);
      if (event) for (const listener of this.listeners) listener(event);
    }
  }

  private translate(item: Pending): BookEvent | undefined {
    switch (item.kind) {
      case "order": {
        const id = this.byVenue.get(item.order.id);
        const order = id === undefined ? undefined : this.orders.get(id);
        if (!order) return undefined;
        order.updatedAt = item.order.updatedAt;
        const payload = orderModel(order, item.order, this.contracts.get(order.contractId));
        return { kind: "order", accountId: order.accountId, payload };
      }
      case "fill": {
        const orderId = this.byVenue.get(item.venueOrderId);
        if (orderId === undefined) return undefined;
        const trade: PxTrade = { ...item.trade, orderId };
        this.trades.push(trade);
        return { kind: "trade", accountId: trade.accountId, payload: tradeModel(trade) };
      }
      case "position":
        return item;
      case "account": {
        const account = this.accounts.get(item.accountId);
        if (!account) return undefined;
        return { kind: "account", accountId: account.id, payload: this.accountModel(account) };
      }
    }
  }

  /** Prices the held children of a filled entry from its fill price and their tick distances. */
  private releaseBracket(entry: VenueOrder, fillPrice: Dec): void {
    const spec = this.contracts.get(entry.contract);
    if (!spec) return;
    for (const child of this.venue.listOrders(entry.account)) {
      if (child.parentId !== entry.id || child.status !== "held") continue;
      const m = BRACKET_TEXT.exec(child.text ?? "");
      if (!m?.[1]) continue;
      const price = add(fillPrice, times(spec.tickSize, Number(m[1])));
      this.quiet = true;
      try {
        this.venue.modify(child.id, child.type === "stop" ? { stopPrice: price } : { price });
      } finally {
        this.quiet = false;
      }
    }
  }

  /** Trailing stops follow the best price at their fixed distance. */
  private ratchetTrails(contractId: string, last: Dec): void {
    for (const order of this.orders.values()) {
      if (order.trailDistance === undefined || order.contractId !== contractId) continue;
      const v = this.venueOrder(order);
      if (v?.status !== "working" || v.stopPrice === undefined) continue;
      const target = order.side === 1 ? sub(last, order.trailDistance) : add(last, order.trailDistance);
      const better = order.side === 1 ? target > v.stopPrice : target < v.stopPrice;
      if (better) this.venue.modify(v.id, { stopPrice: target });
    }
  }
}
