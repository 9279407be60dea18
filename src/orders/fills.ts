/**
 * Books fills and order updates from every broker session onto our orders and the traders' positions,
 * exactly once per fill, and wakes executions waiting for a fill. Fills of orders we did not place
 * (a trader's manual orders) are left to reconciliation.
 *
 * An order can leave before its row is written (the executor writes it behind the order): a fill naming
 * it waits for that write when it is under way here, and a fill whose order has no row at all is held,
 * keyed by the broker's order id, until the row exists (`bind`, or the next tries), never dropped. Every
 * booking hands the positions it wrote to the in-memory book (src/orders/position-book.ts).
 */
import type { BrokerEvent, BrokerOrder, BrokerOrderStatus, Fill } from "../brokers/port";
import { Batcher } from "../db/batch";
import type { Sql } from "../db/client";
import {
  type AppliedFill,
  applyOrderFills,
  type FillReport,
  type FillResult,
  type OrderStatus,
  orderByBrokerId,
} from "../db/orders";
import { isTransientDbError, retryTransient } from "../db/transient";
import type { ContractSpec } from "../domain/contract";
import type { Dec } from "../domain/decimal";
import { isOurClientOrderId } from "../domain/ids";
import type { Logger } from "../log";
import type { Journal } from "./journal";
import type { PositionBook } from "./position-book";

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
/** A fill whose key was seen before with other contents (reported as drift by the listener). */
type ConflictListener = (
  accountId: string,
  clientOrderId: string,
  contract: string,
  detail: string,
  booked: boolean,
) => void;
/** Where an account's broker ids live now (its session's venue): ids repeat across venues. */
type VenueLookup = (accountId: string) => string;

const PENDING_TTL_MS = 60_000;
/** Tries again for a fill whose order has no row yet (it may be written by another relay or a recovery). */
const MISSING_RETRY_MS = [250, 1_000, 5_000, 30_000];
/** Fills of orders that are not ours, kept per account to price book corrections (newest last). */
const FOREIGN_KEPT = 200;

/** A fill at the broker of an order the relay did not place (by hand, or by another tool). */
export interface ForeignFill {
  contract: string;
  side: "buy" | "sell";
  qty: number;
  price: Dec;
  at: Date;
}

export class FillRecorder {
  private readonly clientIds = new Map<string, string>(); // `${account}|${brokerOrderId}` -> client order id
  private readonly pending = new Map<string, { events: BrokerEvent[]; at: number }>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly filled = new Map<string, FillWait>();
  private readonly appliedListeners = new Set<AppliedListener>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly foreign = new Map<string, ForeignFill[]>();
  private readonly missingTries = new WeakMap<BrokerEvent, number>();

  /** Last status written per order, so repeated broker updates of one state cost no write. */
  private readonly lastStatus = new Map<string, OrderStatus>();

  /** Fills reported together are booked in one transaction; bookings never overlap in this process. */
  private readonly bookings: Batcher<FillReport, FillResult>;
  private readonly conflictListeners = new Set<ConflictListener>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly spec: SpecLookup,
    private readonly journal: Journal,
    private readonly venueOf: VenueLookup = () => "",
    private readonly book?: PositionBook,
  ) {
    this.bookings = new Batcher((fills) => this.book_(fills), 500, true);
  }

  /** One booking transaction; its positions reach the in-memory book before anyone awaiting it resumes. */
  private async book_(fills: FillReport[]): Promise<FillResult[]> {
    let failed: unknown;
    try {
      const results = await retryTransient(() =>
        applyOrderFills(this.sql, fills, this.book?.source).catch((error: unknown) => {
          if (isTransientDbError(error)) failed = error;
          throw error;
        }),
      );
      this.book?.booked(results.flatMap((r) => (r.applied?.row ? [r.applied.row] : [])));
      return results;
    } finally {
      // An attempt that failed may still have committed (the reply was lost): the book cannot tell.
      if (failed !== undefined) this.book?.doubt(`a fill booking failed (${String(failed)})`);
    }
  }

  onConflict(listener: ConflictListener): () => void {
    this.conflictListeners.add(listener);
    return () => this.conflictListeners.delete(listener);
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
    const key = this.keyOf(accountId, brokerOrderId);
    this.clientIds.set(key, clientOrderId);
    const held = this.pending.get(key);
    if (held) {
      this.pending.delete(key);
      for (const e of held.events) this.handle(accountId, e);
    }
  }

  /**
   * Books a fill reported directly in an order reply (or found when settling an unknown outcome). Returns
   * false when the report is stale: it names an order of ours that had already filled completely.
   */
  async record(
    accountId: string,
    clientOrderId: string,
    contract: string,
    brokerOrderId: string,
    fill: Fill,
  ): Promise<boolean> {
    const result = await this.bookOne(accountId, clientOrderId, contract, brokerOrderId, fill);
    if (result.missing)
      this.logger.error(
        { event: "FillWithoutOrder", accountId, clientOrderId, brokerOrderId },
        "a fill names an order of ours with no row; not booked here (the order is adopted from the broker's record)",
      );
    return !result.stale;
  }

  /** Books one fill once the order's row is written (when its write is under way in this process). */
  private async bookOne(
    accountId: string,
    clientOrderId: string,
    contract: string,
    brokerOrderId: string,
    fill: Fill,
  ): Promise<FillResult> {
    await this.journal.written(clientOrderId);
    const spec = await this.spec(accountId, contract);
    if (!spec) throw new Error(`no contract spec for ${contract}`);
    const result = await this.bookings.add({
      accountId,
      // The venue is part of a fill's identity: a repeated broker id on another venue is another fill.
      fillKey: `${this.venueOf(accountId)}|${fillKey(brokerOrderId, fill)}`,
      clientOrderId,
      qty: fill.qty,
      ...(fill.cumQty !== undefined ? { cumQty: fill.cumQty } : {}),
      price: fill.price,
      at: fill.at,
      valuePerPoint: spec.valuePerPoint,
    });
    if (result.conflict) {
      this.logger.warn(
        { event: "FillConflict", accountId, clientOrderId, brokerOrderId, detail: result.conflict },
        result.conflict,
      );
      for (const l of this.conflictListeners)
        l(accountId, clientOrderId, contract, result.conflict, !!result.applied);
    }
    if (result.applied) this.booked(accountId, result.applied);
    return result;
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
    const key = this.keyOf(accountId, brokerOrderId);
    let clientOrderId: string | undefined = carried ?? this.clientIds.get(key);
    if (!clientOrderId) {
      const row = await orderByBrokerId(this.sql, accountId, brokerOrderId, this.venueOf(accountId));
      clientOrderId = row?.clientOrderId;
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
    const result = await this.bookOne(accountId, clientOrderId, event.contract, brokerOrderId, event.fill);
    if (result.missing) return this.holdMissing(accountId, key, event, clientOrderId);
    if (!result.stale) return;
    // The broker reused an order id: this fill is not the old order's. It waits for the order that now
    // carries the id to be bound (our new order), or becomes a fill of an order that is not ours.
    if (this.clientIds.get(key) === clientOrderId) this.clientIds.delete(key);
    if (carried) return;
    this.logger.warn(
      { event: "FillNotMatched", accountId, brokerOrderId, was: clientOrderId },
      "a fill names a broker order id an order of ours had, but that order already filled completely; held for the order that now has the id",
    );
    this.hold(key, event);
  }

  /**
   * A fill of an order whose row is not written (it left before its row, and the row is written elsewhere
   * or after a restart's recovery): held for `bind`, and tried again a few times; never booked as foreign.
   */
  private holdMissing(accountId: string, key: string, event: BrokerEvent, clientOrderId: string): void {
    const tries = this.missingTries.get(event) ?? 0;
    const delay = MISSING_RETRY_MS[tries];
    if (delay === undefined) {
      this.logger.warn(
        { event: "FillUnmatched", accountId, clientOrderId },
        "a fill of an order of ours whose row never appeared here; the broker's record settles it",
      );
      return;
    }
    this.missingTries.set(event, tries + 1);
    this.hold(key, event);
    setTimeout(() => this.handle(accountId, event), delay).unref();
  }

  private keyOf(accountId: string, brokerOrderId: string): string {
    return `${accountId}|${this.venueOf(accountId)}|${brokerOrderId}`;
  }

  private keepForeign(accountId: string, e: BrokerEvent): void {
    const f = foreignOf(e);
    if (!f) return;
    const list = this.foreign.get(accountId) ?? [];
    list.push(f);
    if (list.length > FOREIGN_KEPT) list.shift();
    this.foreign.set(accountId, list);
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

  /**
   * Recent fills at the broker that belong to no order of ours (a fill still unclaimed after `minAgeMs`
   * cannot be an acknowledgment racing its report), newest first: what a trader did by hand.
   */
  foreignFills(accountId: string, contract: string, minAgeMs = 1_000): ForeignFill[] {
    const now = Date.now();
    const held: ForeignFill[] = [];
    for (const [k, v] of this.pending) {
      if (!k.startsWith(`${accountId}|`) || now - v.at < minAgeMs) continue;
      for (const e of v.events) {
        const f = foreignOf(e);
        if (f?.contract === contract) held.push(f);
      }
    }
    const kept = (this.foreign.get(accountId) ?? []).filter((f) => f.contract === contract);
    return [...kept, ...held].sort((a, b) => b.at.getTime() - a.at.getTime());
  }

  /** Events for a broker order id we cannot place yet wait briefly for `bind`. */
  private hold(key: string, event: BrokerEvent): void {
    const now = Date.now();
    for (const [k, v] of this.pending) {
      if (now - v.at <= PENDING_TTL_MS) continue;
      this.pending.delete(k);
      for (const e of v.events) this.keepForeign(k.slice(0, k.indexOf("|")), e);
    }
    const entry = this.pending.get(key) ?? { events: [], at: now };
    entry.events.push(event);
    this.pending.set(key, entry);
  }
}

function foreignOf(e: BrokerEvent): ForeignFill | undefined {
  if (e.type !== "OrderFilled" || (e.clientOrderId && isOurClientOrderId(e.clientOrderId))) return undefined;
  return { contract: e.contract, side: e.side, qty: e.fill.qty, price: e.fill.price, at: e.fill.at };
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
