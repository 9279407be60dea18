/**
 * Books fills and order updates from every broker session onto our orders and the traders' positions,
 * exactly once per fill, and wakes executions waiting for a fill. Fills of orders we did not place
 * (a trader's manual orders) are left to reconciliation.
 */
import type { BrokerEvent, BrokerOrder, BrokerOrderStatus, Fill } from "../brokers/port";
import { Batcher } from "../db/batch";
import type { Sql } from "../db/client";
import {
  type AppliedFill,
  applyOrderFills,
  type FillReport,
  type OrderStatus,
  orderByBrokerId,
} from "../db/orders";
import { retryTransient } from "../db/transient";
import type { ContractSpec } from "../domain/contract";
import type { Dec } from "../domain/decimal";
import type { Logger } from "../log";
import type { Journal } from "./journal";

export interface FillWait {
  price: Dec;
  filledQty: number;
}

interface Waiter {
  qty: number;
  resolve: (w: FillWait | undefined) => void;
  timer: NodeJS.Timeout;
}

type SpecLookup = (accountId: string, contract: string) => Promise<ContractSpec | undefined>;
type AppliedListener = (accountId: string, applied: AppliedFill) => void;

const PENDING_TTL_MS = 60_000;

export class FillRecorder {
  private readonly clientIds = new Map<string, string>(); // `${account}|${brokerOrderId}` -> client order id
  private readonly pending = new Map<string, { events: BrokerEvent[]; at: number }>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly filled = new Map<string, FillWait>();
  private readonly appliedListeners = new Set<AppliedListener>();
  private readonly inflight = new Set<Promise<void>>();

  /** Last status written per order, so repeated broker updates of one state cost no write. */
  private readonly lastStatus = new Map<string, OrderStatus>();

  /** Fills reported together are booked in one transaction; bookings never overlap in this process. */
  private readonly bookings: Batcher<FillReport, AppliedFill | undefined>;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly spec: SpecLookup,
    private readonly journal: Journal,
  ) {
    this.bookings = new Batcher((fills) => retryTransient(() => applyOrderFills(sql, fills)), 500, true);
  }

  onApplied(listener: AppliedListener): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** Feed for every broker event of every session. Never throws. */
  handle(accountId: string, event: BrokerEvent): void {
    if (event.type !== "OrderFilled" && event.type !== "OrderUpdated") return;
    const work: Promise<void> = this.process(accountId, event)
      .catch((error) =>
        this.logger.error(
          { event: "BrokerEventNotBooked", accountId, error: String(error) },
          "could not book a broker event",
        ),
      )
      .finally(() => this.inflight.delete(work));
    this.inflight.add(work);
  }

  /** Waits for every event being booked (shutdown: before the database pool closes). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Tells the recorder which client order id a broker order id belongs to, and replays events held for it. */
  bind(accountId: string, brokerOrderId: string, clientOrderId: string): void {
    const key = `${accountId}|${brokerOrderId}`;
    this.clientIds.set(key, clientOrderId);
    const held = this.pending.get(key);
    if (held) {
      this.pending.delete(key);
      for (const e of held.events) this.handle(accountId, e);
    }
  }

  /** Books a fill reported directly in an order reply (or found when settling an unknown outcome). */
  async record(
    accountId: string,
    clientOrderId: string,
    contract: string,
    brokerOrderId: string,
    fill: Fill,
  ): Promise<void> {
    const spec = await this.spec(accountId, contract);
    if (!spec) throw new Error(`no contract spec for ${contract}`);
    const applied = await this.bookings.add({
      accountId,
      fillKey: fillKey(brokerOrderId, fill),
      clientOrderId,
      qty: fill.qty,
      ...(fill.cumQty !== undefined ? { cumQty: fill.cumQty } : {}),
      price: fill.price,
      at: fill.at,
      valuePerPoint: spec.valuePerPoint,
    });
    if (applied) this.booked(accountId, applied);
  }

  /**
   * Books what the broker's own record of our order (a findOrder answer) says has filled: the fill a
   * report never brought us. False when the record shows no fill.
   */
  async recordFromBroker(
    accountId: string,
    clientOrderId: string,
    contract: string,
    found: BrokerOrder,
  ): Promise<boolean> {
    if (found.filledQty <= 0 || found.avgFillPrice === undefined) return false;
    await this.record(accountId, clientOrderId, contract, found.brokerOrderId, {
      price: found.avgFillPrice,
      qty: found.filledQty,
      cumQty: found.filledQty,
      at: new Date(),
    });
    return true;
  }

  /**
   * Resolves when the order has filled `qty` contracts (with the average fill price), or with
   * undefined after `timeoutMs`. A fill booked before the wait began counts.
   */
  waitForFill(clientOrderId: string, qty: number, timeoutMs: number): Promise<FillWait | undefined> {
    const done = this.filled.get(clientOrderId);
    if (done && done.filledQty >= qty) return Promise.resolve(done);
    return new Promise((resolve) => {
      const list = this.waiters.get(clientOrderId) ?? [];
      const waiter: Waiter = {
        qty,
        resolve,
        timer: setTimeout(() => {
          this.waiters.set(
            clientOrderId,
            (this.waiters.get(clientOrderId) ?? []).filter((w) => w !== waiter),
          );
          resolve(undefined);
        }, timeoutMs),
      };
      list.push(waiter);
      this.waiters.set(clientOrderId, list);
    });
  }

  private async process(
    accountId: string,
    event: BrokerEvent & { type: "OrderFilled" | "OrderUpdated" },
  ): Promise<void> {
    const brokerOrderId = event.type === "OrderFilled" ? event.brokerOrderId : event.order.brokerOrderId;
    const carried = event.type === "OrderFilled" ? event.clientOrderId : event.order.clientOrderId;
    const key = `${accountId}|${brokerOrderId}`;
    let clientOrderId: string | undefined = carried ?? this.clientIds.get(key);
    if (!clientOrderId) {
      clientOrderId = (await orderByBrokerId(this.sql, accountId, brokerOrderId))?.clientOrderId;
      if (clientOrderId) this.clientIds.set(key, clientOrderId);
    }
    if (!clientOrderId) {
      this.hold(key, event);
      return;
    }
    if (event.type === "OrderUpdated") {
      const status = orderStatus(event.order.status);
      if (status && status !== "filled" && this.lastStatus.get(clientOrderId) !== status) {
        this.lastStatus.set(clientOrderId, status);
        if (this.lastStatus.size > 100_000)
          this.lastStatus.delete(this.lastStatus.keys().next().value as string);
        await this.journal.mark({ clientOrderId, status, brokerOrderId, reason: event.order.reason ?? null });
      }
      return;
    }
    await this.record(accountId, clientOrderId, event.contract, brokerOrderId, event.fill);
  }

  private booked(accountId: string, applied: AppliedFill): void {
    const { order } = applied;
    if (order.fillPrice) {
      const state = { price: order.fillPrice, filledQty: order.filledQty };
      this.filled.set(order.clientOrderId, state);
      if (this.filled.size > 50_000) this.filled.delete(this.filled.keys().next().value as string);
      const list = this.waiters.get(order.clientOrderId) ?? [];
      const remaining = list.filter((w) => {
        if (state.filledQty < w.qty) return true;
        clearTimeout(w.timer);
        w.resolve(state);
        return false;
      });
      if (remaining.length) this.waiters.set(order.clientOrderId, remaining);
      else this.waiters.delete(order.clientOrderId);
    }
    for (const l of this.appliedListeners) l(accountId, applied);
  }

  /** Events for a broker order id we cannot place yet wait briefly for `bind`. */
  private hold(key: string, event: BrokerEvent): void {
    const now = Date.now();
    for (const [k, v] of this.pending) if (now - v.at > PENDING_TTL_MS) this.pending.delete(k);
    const entry = this.pending.get(key) ?? { events: [], at: now };
    entry.events.push(event);
    this.pending.set(key, entry);
  }
}

function orderStatus(s: BrokerOrderStatus): OrderStatus | undefined {
  if (s === "working" || s === "pending") return "working";
  if (s === "cancelled" || s === "rejected" || s === "filled") return s;
  return undefined;
}

/** The broker's fill id where given; otherwise the order id and cumulative quantity identify the fill. */
export function fillKey(brokerOrderId: string, fill: Fill): string {
  if (fill.id) return `id:${fill.id}`;
  return `${brokerOrderId}:cum:${fill.cumQty ?? `q${fill.qty}@${fill.price}@${fill.at.getTime()}`}`;
}
