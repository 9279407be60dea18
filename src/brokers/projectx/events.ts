/**
 * User-hub and market-hub payloads -> broker events.
 *
 * - GatewayUserOrder -> OrderUpdated (+ OrderFilled when the order reports a fill no trade reported yet)
 * - GatewayUserTrade -> OrderFilled at the trade price, and CashChanged with today's realized P&L
 * - GatewayUserPosition -> PositionChanged (a close arrives as action 2 with type 0, size 0)
 * - GatewayUserAccount -> CashChanged with the balance
 * - GatewayQuote -> QuoteReceived; partial quotes are merged into the last full one
 * Each fill is reported once whichever of the order and the trade arrives first.
 */
import { type Dec, dec, isPositive } from "../../domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId } from "../../domain/ids";
import type { Logger } from "../../log";
import type { BrokerEvent } from "../port";
import { contractNameOf, orderOf, parseTime, positionOf, sideOf } from "./parse";
import type { DailyPnl } from "./pnl";
import {
  accountSchema,
  type OrderWire,
  orderSchema,
  positionSchema,
  type QuoteWire,
  quoteSchema,
  type TradeWire,
  tradeSchema,
  unwrapHubPayload,
} from "./wire";

interface OrderMemo {
  size?: number;
  customTag?: string;
  /** Quantity already reported through OrderFilled. */
  reported: number;
}

export class EventRouter {
  private readonly orders = new Map<number, OrderMemo>();
  private readonly quotes = new Map<string, QuoteWire>();
  private readonly balances = new Map<number, Dec>();
  private readonly seenTrades = new Set<number>();
  /** Last known non-flat positions, so a reconciliation can report the ones that vanished. */
  private readonly open = new Map<string, { accountId: number; contractId: string }>();

  constructor(
    private readonly emit: (event: BrokerEvent) => void,
    private readonly pnl: DailyPnl,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** One GatewayUser* event (any of the three payload forms). */
  userEvent(target: string, payload: unknown): void {
    for (const item of unwrapHubPayload(payload)) {
      switch (target) {
        case "GatewayUserOrder":
          this.parse(orderSchema, item.data, target, (o) => this.order(o));
          break;
        case "GatewayUserTrade":
          this.parse(tradeSchema, item.data, target, (t) => this.trade(t, true));
          break;
        case "GatewayUserPosition":
          this.parse(positionSchema, item.data, target, (p) => {
            // action 2 marks a close; it came with type 0 and size 0 in live traffic.
            this.position(item.action === 2 ? { ...p, type: 0, size: 0 } : p);
          });
          break;
        case "GatewayUserAccount":
          this.parse(accountSchema, item.data, target, (a) => {
            if (a.balance === null || a.balance === undefined) return;
            const balance = dec(a.balance);
            this.balances.set(a.id, balance);
            this.emit({
              type: "CashChanged",
              brokerAccountId: asBrokerAccountId(String(a.id)),
              balance,
              realizedPnl: this.pnl.realized(a.id, this.now()),
              raw: a,
            });
          });
          break;
        default:
          break;
      }
    }
  }

  order(o: OrderWire): void {
    const memo = this.orders.get(o.id) ?? { reported: 0 };
    memo.size = o.size;
    if (o.customTag) memo.customTag = o.customTag;
    this.orders.set(o.id, memo);
    const order = orderOf(o);
    this.emit({ type: "OrderUpdated", order, raw: o });
    const filled = o.fillVolume ?? 0;
    const price = o.filledPrice === null || o.filledPrice === undefined ? undefined : dec(o.filledPrice);
    if (filled > memo.reported && price !== undefined && isPositive(price)) {
      memo.reported = filled;
      this.emit({
        type: "OrderFilled",
        brokerAccountId: order.brokerAccountId,
        brokerOrderId: order.brokerOrderId,
        ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
        contract: order.contract,
        side: order.side,
        // Everything filled so far at the order's average price: the relay books only the new part, exactly.
        fill: { price, qty: filled, cumQty: filled, at: parseTime(o.updateTimestamp, this.now()) },
        raw: o,
      });
    }
  }

  /** A half-turn fill. `live` false: loaded at start-up, counted for P&L but not re-announced. */
  trade(t: TradeWire, live: boolean): void {
    if (this.seenTrades.has(t.id)) return;
    this.seenTrades.add(t.id);
    const counted = this.pnl.add(t, this.now());
    if (!live) return;
    const memo = this.orders.get(t.orderId) ?? { reported: 0 };
    this.orders.set(t.orderId, memo);
    if (memo.size === undefined || memo.reported + t.size <= memo.size) {
      memo.reported += t.size;
      this.emit({
        type: "OrderFilled",
        brokerAccountId: asBrokerAccountId(String(t.accountId)),
        brokerOrderId: asBrokerOrderId(String(t.orderId)),
        ...(memo.customTag ? { clientOrderId: asClientOrderId(memo.customTag) } : {}),
        contract: contractNameOf(t.contractId),
        side: sideOf(t.side),
        fill: {
          price: dec(t.price),
          qty: t.size,
          id: `trade:${t.id}`,
          cumQty: memo.reported,
          at: parseTime(t.creationTimestamp, this.now()),
        },
        raw: t,
      });
    }
    if (counted) {
      const balance = this.balances.get(t.accountId);
      this.emit({
        type: "CashChanged",
        brokerAccountId: asBrokerAccountId(String(t.accountId)),
        realizedPnl: this.pnl.realized(t.accountId, this.now()),
        ...(balance !== undefined ? { balance } : {}),
        raw: t,
      });
    }
  }

  position(p: {
    accountId: number;
    contractId: string;
    type: number;
    size: number;
    averagePrice?: number | null;
  }): void {
    const key = `${p.accountId}|${p.contractId}`;
    if (p.type === 0 || p.size === 0) this.open.delete(key);
    else this.open.set(key, { accountId: p.accountId, contractId: p.contractId });
    this.emit({ type: "PositionChanged", position: positionOf(p), raw: p });
  }

  /** After a reconciliation: positions we thought open that the gateway no longer lists are flat. */
  closeMissing(accountId: number, openContractIds: Set<string>): void {
    for (const entry of [...this.open.values()]) {
      if (entry.accountId === accountId && !openContractIds.has(entry.contractId))
        this.position({ accountId, contractId: entry.contractId, type: 0, size: 0 });
    }
  }

  setBalance(accountId: number, balance: Dec): void {
    this.balances.set(accountId, balance);
  }

  /** GatewayQuote(contractId, data): data may be an object or an array of partial updates. */
  quote(contractId: unknown, data: unknown): void {
    if (typeof contractId !== "string") return;
    for (const item of unwrapHubPayload(data)) {
      this.parse(quoteSchema, item.data, "GatewayQuote", (q) => {
        const merged: QuoteWire = { ...this.quotes.get(contractId) };
        for (const [key, value] of Object.entries(q))
          if (value !== null && value !== undefined) merged[key] = value;
        this.quotes.set(contractId, merged);
        if (typeof merged.lastPrice !== "number") return;
        this.emit({
          type: "QuoteReceived",
          contract: contractNameOf(contractId),
          last: dec(merged.lastPrice),
          at: parseTime(q.timestamp ?? q.lastUpdated, this.now()),
        });
      });
    }
  }

  private parse<T>(
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
    data: unknown,
    target: string,
    use: (value: T) => void,
  ): void {
    const parsed = schema.safeParse(data);
    if (parsed.success) use(parsed.data);
    else
      this.logger.warn({ event: "HubEventMalformed", target }, "ProjectX hub event of an unexpected shape");
  }
}
