/**
 * A small futures matching engine: market fills at the last price, resting limits and stops triggered by
 * price updates, OSO brackets (children held until the entry fills) and OCO groups, FIFO positions with
 * exact realized P&L.
 *
 * It is the venue behind the paper broker and behind every broker simulator, so the relay's behaviour is
 * identical whichever wire protocol carries the orders. No I/O: callers feed prices and read events.
 *
 * @example
 *   const v = new Venue({ spec: specFromTable });
 *   v.addAccount("A1", dec(50000));
 *   v.setPrice("MNQZ6", dec("21000"));
 *   v.place({ account: "A1", contract: "MNQZ6", side: "buy", type: "market", qty: 1 });
 */
import type { ContractSpec } from "../contract";
import { add, type Dec, isZero, max, min, mul, sub, times, ZERO } from "../decimal";
import type {
  Lot,
  Side,
  VenueAccount,
  VenueEvent,
  VenueFill,
  VenueOrder,
  VenueOrderRequest,
  VenuePosition,
  VenueSnapshot,
} from "./types";

export interface VenueOptions {
  /** Contract specs by name; orders for unknown contracts are rejected. */
  spec: (contract: string) => ContractSpec | undefined;
  clock?: () => number;
}

type Listener = (event: VenueEvent) => void;

const positionKey = (account: string, contract: string) => `${account}\u0000${contract}`;

export class Venue {
  private nextId = 1;
  private readonly accounts = new Map<string, VenueAccount>();
  private readonly orders = new Map<number, VenueOrder>();
  private readonly byClientId = new Map<string, number>();
  /** Held or working bracket children per entry, and members per OCO group: fills never scan every order. */
  private readonly children = new Map<number, number[]>();
  private readonly groups = new Map<number, number[]>();
  /** Working orders per contract, for matching on price updates. */
  private readonly resting = new Map<string, Set<number>>();
  private readonly positions = new Map<string, VenuePosition>();
  private readonly prices = new Map<string, Dec>();
  private readonly listeners = new Set<Listener>();
  private readonly clock: () => number;

  constructor(private readonly options: VenueOptions) {
    this.clock = options.clock ?? Date.now;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addAccount(id: string, balance: Dec): VenueAccount {
    const existing = this.accounts.get(id);
    if (existing) return existing;
    const account: VenueAccount = { id, balance, realizedToday: ZERO };
    this.accounts.set(id, account);
    return account;
  }

  account(id: string): VenueAccount | undefined {
    return this.accounts.get(id);
  }

  listAccounts(): VenueAccount[] {
    return [...this.accounts.values()];
  }

  spec(contract: string): ContractSpec | undefined {
    return this.options.spec(contract);
  }

  lastPrice(contract: string): Dec | undefined {
    return this.prices.get(contract);
  }

  order(id: number): VenueOrder | undefined {
    return this.orders.get(id);
  }

  orderByClientId(clientOrderId: string): VenueOrder | undefined {
    const id = this.byClientId.get(clientOrderId);
    return id === undefined ? undefined : this.orders.get(id);
  }

  listOrders(account?: string): VenueOrder[] {
    const all = [...this.orders.values()];
    return account === undefined ? all : all.filter((o) => o.account === account);
  }

  position(account: string, contract: string): VenuePosition | undefined {
    return this.positions.get(positionKey(account, contract));
  }

  listPositions(account?: string): VenuePosition[] {
    const all = [...this.positions.values()];
    return account === undefined ? all : all.filter((p) => p.account === account);
  }

  /** Open P&L of one position at the last price, exact. */
  unrealized(position: VenuePosition): Dec {
    const last = this.prices.get(position.contract);
    const spec = this.options.spec(position.contract);
    if (last === undefined || !spec) return ZERO;
    let total = ZERO;
    for (const lot of position.lots)
      total = add(total, times(mul(sub(last, lot.price), spec.valuePerPoint), lot.qty));
    return total;
  }

  /** A new market price: updates open P&L and triggers resting limits and stops. */
  setPrice(contract: string, price: Dec): void {
    this.prices.set(contract, price);
    this.emit({ type: "price", contract, price, at: this.clock() });
    this.match(contract);
  }

  /** Places one order. Invalid requests come back with status `rejected` and a reason. */
  place(request: VenueOrderRequest): VenueOrder {
    const order = this.create(request, "working");
    if (order.status === "working") this.activate(order);
    return order;
  }

  /**
   * Entry with bracket children (Tradovate placeoso): children are held until the entry fills, then work;
   * with two or more children they cancel one another.
   */
  placeOso(
    entry: VenueOrderRequest,
    children: VenueOrderRequest[],
  ): { entry: VenueOrder; children: VenueOrder[] } {
    const parent = this.create(entry, "working");
    const group = children.length > 1 ? this.nextId++ : undefined;
    const held = children.map((c) => {
      const child = this.create(c, parent.status === "rejected" ? "rejected" : "held", parent.id, group);
      if (parent.status === "rejected" && child.status === "rejected")
        child.rejectReason ??= "ParentRejected";
      return child;
    });
    if (parent.status === "working") this.activate(parent);
    return { entry: parent, children: held.map((c) => this.orders.get(c.id) ?? c) };
  }

  /** Two orders that cancel each other when either fills (Tradovate placeoco). */
  placeOco(first: VenueOrderRequest, second: VenueOrderRequest): [VenueOrder, VenueOrder] {
    const group = this.nextId++;
    const a = this.create(first, "working", undefined, group);
    const b = this.create(second, a.status === "rejected" ? "rejected" : "working", undefined, group);
    if (a.status === "rejected" || b.status === "rejected") {
      for (const o of [a, b]) if (o.status === "working") this.finish(o, "cancelled");
      return [a, b];
    }
    this.activate(a);
    if (b.status === "working") this.activate(b);
    return [a, b];
  }

  modify(orderId: number, change: { qty?: number; price?: Dec; stopPrice?: Dec }): VenueOrder | string {
    const order = this.orders.get(orderId);
    if (!order) return "order not found";
    if (order.status !== "working" && order.status !== "held") return `order is ${order.status}`;
    if (change.qty !== undefined && (!Number.isInteger(change.qty) || change.qty <= 0))
      return "invalid quantity";
    if (change.qty !== undefined) order.qty = change.qty;
    if (change.price !== undefined) order.price = change.price;
    if (change.stopPrice !== undefined) order.stopPrice = change.stopPrice;
    order.updatedAt = this.clock();
    this.emit({ type: "order", order });
    if (order.status === "working") this.tryFill(order, true);
    return order;
  }

  cancel(orderId: number): VenueOrder | string {
    const order = this.orders.get(orderId);
    if (!order) return "order not found";
    if (order.status !== "working" && order.status !== "held") return `order is ${order.status}`;
    this.finish(order, "cancelled");
    for (const child of this.childrenOf(order.id)) this.finish(child, "cancelled");
    return order;
  }

  /** Cancels the contract's working orders for the account, then closes its position at market. */
  liquidate(account: string, contract: string, clientOrderId?: string): VenueOrder | undefined {
    for (const order of this.listOrders(account)) {
      if (order.contract === contract && (order.status === "working" || order.status === "held")) {
        this.finish(order, "cancelled");
      }
    }
    const position = this.position(account, contract);
    if (!position || position.netPos === 0) return undefined;
    return this.place({
      account,
      contract,
      side: position.netPos > 0 ? "sell" : "buy",
      type: "market",
      qty: Math.abs(position.netPos),
      clientOrderId,
      text: "liquidate",
    });
  }

  /** Start of a new trading day: today's realized P&L goes back to zero. */
  resetDay(): void {
    for (const account of this.accounts.values()) {
      account.realizedToday = ZERO;
      this.emit({ type: "cash", account });
    }
  }

  snapshot(): VenueSnapshot {
    return {
      nextId: this.nextId,
      accounts: [...this.accounts.values()].map((a) => ({ ...a })),
      orders: [...this.orders.values()].map((o) => ({ ...o })),
      positions: [...this.positions.values()].map((p) => ({ ...p, lots: p.lots.map((l) => ({ ...l })) })),
      prices: [...this.prices.entries()],
    };
  }

  restore(snapshot: VenueSnapshot): void {
    this.nextId = snapshot.nextId;
    this.accounts.clear();
    this.orders.clear();
    this.byClientId.clear();
    this.children.clear();
    this.groups.clear();
    this.resting.clear();
    this.positions.clear();
    this.prices.clear();
    for (const a of snapshot.accounts) this.accounts.set(a.id, { ...a });
    for (const o of snapshot.orders) {
      this.orders.set(o.id, { ...o });
      if (o.clientOrderId) this.byClientId.set(o.clientOrderId, o.id);
      this.link(o);
      if (o.status === "working" && o.type !== "market") this.rest(o);
    }
    for (const p of snapshot.positions) this.positions.set(positionKey(p.account, p.contract), { ...p });
    for (const [contract, price] of snapshot.prices) this.prices.set(contract, price);
  }

  private create(
    request: VenueOrderRequest,
    status: "working" | "held" | "rejected",
    parentId?: number,
    ocoGroup?: number,
  ): VenueOrder {
    const now = this.clock();
    const order: VenueOrder = {
      ...request,
      id: this.nextId++,
      status,
      filledQty: 0,
      createdAt: now,
      updatedAt: now,
      ...(parentId !== undefined ? { parentId } : {}),
      ...(ocoGroup !== undefined ? { ocoGroup } : {}),
    };
    const reason = status === "rejected" ? undefined : this.validate(request);
    if (reason) {
      order.status = "rejected";
      order.rejectReason = reason;
    }
    this.orders.set(order.id, order);
    if (order.clientOrderId) this.byClientId.set(order.clientOrderId, order.id);
    this.link(order);
    this.emit({ type: "order", order });
    return order;
  }

  private link(order: VenueOrder): void {
    if (order.parentId !== undefined) push(this.children, order.parentId, order.id);
    if (order.ocoGroup !== undefined) push(this.groups, order.ocoGroup, order.id);
  }

  private validate(r: VenueOrderRequest): string | undefined {
    if (!this.accounts.has(r.account)) return "unknown account";
    if (!this.options.spec(r.contract)) return "InvalidContract";
    if (!Number.isInteger(r.qty) || r.qty <= 0) return "invalid quantity";
    if (r.type === "limit" && (r.price === undefined || r.price <= 0n)) return "InvalidPrice";
    if (r.type === "stop" && (r.stopPrice === undefined || r.stopPrice <= 0n)) return "InvalidPrice";
    if (r.type === "market" && this.prices.get(r.contract) === undefined) return "NoQuote";
    return undefined;
  }

  private activate(order: VenueOrder): void {
    if (order.type === "market") {
      const last = this.prices.get(order.contract);
      if (last === undefined) {
        this.finish(order, "rejected", "NoQuote");
        return;
      }
      this.fill(order, last);
      return;
    }
    this.rest(order);
    this.tryFill(order, true);
  }

  private rest(order: VenueOrder): void {
    let set = this.resting.get(order.contract);
    if (!set) {
      set = new Set();
      this.resting.set(order.contract, set);
    }
    set.add(order.id);
  }

  private match(contract: string): void {
    const set = this.resting.get(contract);
    if (!set) return;
    for (const id of [...set]) {
      const order = this.orders.get(id);
      if (order?.status === "working") this.tryFill(order, false);
    }
  }

  /**
   * Fills an order if the last price reaches it. A resting limit fills on touch at its own price; a limit
   * that is marketable on arrival fills at the better market price; a triggered stop fills at market.
   */
  private tryFill(order: VenueOrder, arriving: boolean): void {
    const last = this.prices.get(order.contract);
    if (last === undefined) return;
    if (order.type === "limit" && order.price !== undefined) {
      const reached = order.side === "buy" ? last <= order.price : last >= order.price;
      if (!reached) return;
      const better = order.side === "buy" ? min(last, order.price) : max(last, order.price);
      this.fill(order, arriving ? better : order.price);
    } else if (order.type === "stop" && order.stopPrice !== undefined) {
      const reached = order.side === "buy" ? last >= order.stopPrice : last <= order.stopPrice;
      if (reached) this.fill(order, last);
    }
  }

  private fill(order: VenueOrder, price: Dec): void {
    const qty = order.qty - order.filledQty;
    if (qty <= 0) return;
    const realized = this.applyToPosition(order.account, order.contract, order.side, qty, price);
    order.filledQty += qty;
    order.avgFillPrice = price;
    order.status = "filled";
    order.updatedAt = this.clock();
    this.resting.get(order.contract)?.delete(order.id);
    const fill: VenueFill = {
      id: this.nextId++,
      orderId: order.id,
      account: order.account,
      contract: order.contract,
      side: order.side,
      qty,
      price,
      at: order.updatedAt,
      realized,
    };
    this.emit({ type: "order", order });
    this.emit({ type: "fill", fill, order });
    const position = this.position(order.account, order.contract);
    if (position) this.emit({ type: "position", position });
    const account = this.accounts.get(order.account);
    if (account && !isZero(realized)) {
      account.balance = add(account.balance, realized);
      account.realizedToday = add(account.realizedToday, realized);
      this.emit({ type: "cash", account });
    }
    if (order.ocoGroup !== undefined) {
      for (const id of this.groups.get(order.ocoGroup) ?? []) {
        const other = this.orders.get(id);
        if (other && other.id !== order.id && other.status === "working") this.finish(other, "cancelled");
      }
    }
    for (const child of this.childrenOf(order.id)) {
      if (child.status !== "held") continue;
      child.status = "working";
      child.updatedAt = this.clock();
      this.emit({ type: "order", order: child });
      this.activate(child);
    }
  }

  private childrenOf(parentId: number): VenueOrder[] {
    const out: VenueOrder[] = [];
    for (const id of this.children.get(parentId) ?? []) {
      const o = this.orders.get(id);
      if (o) out.push(o);
    }
    return out;
  }

  private finish(order: VenueOrder, status: "cancelled" | "rejected", reason?: string): void {
    order.status = status;
    if (reason) order.rejectReason = reason;
    order.updatedAt = this.clock();
    this.resting.get(order.contract)?.delete(order.id);
    this.emit({ type: "order", order });
  }

  /** Applies a fill to the FIFO lots and returns the dollars it realized. */
  private applyToPosition(account: string, contract: string, side: Side, qty: number, price: Dec): Dec {
    const key = positionKey(account, contract);
    let position = this.positions.get(key);
    if (!position) {
      position = { account, contract, netPos: 0, lots: [], realized: ZERO, bought: 0, sold: 0 };
      this.positions.set(key, position);
    }
    const spec = this.options.spec(contract);
    const vpp = spec ? spec.valuePerPoint : ZERO;
    const signed = side === "buy" ? qty : -qty;
    if (side === "buy") position.bought += qty;
    else position.sold += qty;
    let remaining = signed;
    let realized = ZERO;
    const lots: Lot[] = position.lots;
    while (remaining !== 0 && lots.length > 0 && Math.sign(lots[0]?.qty ?? 0) !== Math.sign(remaining)) {
      const lot = lots[0] as Lot;
      const closing = Math.min(Math.abs(lot.qty), Math.abs(remaining));
      const direction = lot.qty > 0 ? 1 : -1;
      realized = add(realized, times(mul(sub(price, lot.price), vpp), closing * direction));
      lot.qty -= closing * direction;
      remaining += closing * direction;
      if (lot.qty === 0) lots.shift();
    }
    if (remaining !== 0) lots.push({ qty: remaining, price });
    position.netPos += signed;
    position.realized = add(position.realized, realized);
    position.avgPrice = averagePrice(lots);
    return realized;
  }

  private emit(event: VenueEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function push(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Quantity-weighted average open price, rounded to nine places; undefined when flat. */
export function averagePrice(lots: Lot[]): Dec | undefined {
  let qty = 0;
  let cost = ZERO;
  for (const lot of lots) {
    qty += Math.abs(lot.qty);
    cost = add(cost, times(lot.price, Math.abs(lot.qty)));
  }
  if (qty === 0) return undefined;
  // cost / qty, rounded half away from zero, done in bigint to stay exact.
  const q = (cost * 2n + BigInt(qty)) / (2n * BigInt(qty));
  return q as Dec;
}
