/**
 * Broker events for Webull by polling, because the gRPC trade-event stream is not available here (and an
 * open SDK issue reports US accounts that only ever receive pings). Each round, per account:
 *   1. `order/open` (all pages): every working order is compared with what was last seen;
 *   2. `order/detail` for each watched order that left the open list (it filled, was cancelled or failed);
 *   3. `assets/positions`, then `assets/balance`.
 * OrderUpdated / OrderFilled / PositionChanged / CashChanged are emitted only when something changed;
 * QuoteReceived carries the last price the positions report for subscribed contracts.
 *
 * Rounds never overlap; `kick()` runs one now (after a market order). 429s and failures stretch the
 * interval up to MAX_POLL_BACKOFF_MS; the first success restores it.
 */
import type { Logger } from "pino";
import { cmp, type Dec, dec, div, sub, times, tryDec } from "../../domain/decimal";
import type { BrokerAccountId } from "../../domain/ids";
import type { BrokerEvent, BrokerOrder, BrokerPosition } from "../port";
import { type ApiResult, type Failure, pause, type WebullApi } from "./api";
import { MAX_POLL_BACKOFF_MS } from "./config";
import { isFinal, toBrokerOrder, toPosition } from "./parse";

export interface PollerDeps {
  api: WebullApi;
  accounts: () => readonly BrokerAccountId[];
  emit: (event: BrokerEvent) => void;
  logger: Logger;
  intervalMs: number;
  /** Health of the last round: drives the session status. */
  onHealth: (health: { ok: true; rttMs: number } | { ok: false; failure: Failure }) => void;
  /** Called after an order changed (the adapter-managed OCO listens here). */
  onOrder: (order: BrokerOrder, previous: BrokerOrder | undefined) => void;
  subscribed: () => ReadonlySet<string>;
  /** Runs before each round (the session loads its account list there); false backs the polling off. */
  beforeRound: () => Promise<boolean>;
}

interface Watched {
  account: BrokerAccountId;
  clientOrderId: string;
  /** Rounds in which detail said "not found"; an order that never arrived is dropped after a few. */
  misses: number;
}

const MAX_MISSES = 5;
const FINAL_MEMORY = 5_000;
const key = (account: string, id: string) => `${account}\u0000${id}`;

export class EventPoller {
  private readonly last = new Map<string, BrokerOrder>();
  /** Filled quantity and average price already reported per order, so a fill is emitted once. */
  private readonly reported = new Map<string, { qty: number; avg: Dec }>();
  private readonly watched = new Map<string, Watched>();
  private readonly finals = new Set<string>();
  private readonly positions = new Map<string, BrokerPosition>();
  private readonly cash = new Map<string, string>();
  private readonly quotes = new Map<string, Dec>();
  private readonly stopper = new AbortController();
  private delayMs: number;
  private running: Promise<void> | undefined;
  private again = false;
  private wake: AbortController | undefined;

  constructor(private readonly deps: PollerDeps) {
    this.delayMs = deps.intervalMs;
  }

  start(): void {
    if (this.running) return;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }

  /** Runs a round as soon as possible. */
  kick(): void {
    this.again = true;
    this.wake?.abort();
  }

  /** Follow an order to a final state even if it never shows in the open list (it may fill at once). */
  watch(order: BrokerOrder): void {
    const k = key(order.brokerAccountId, order.clientOrderId ?? order.brokerOrderId);
    if (!this.last.has(k)) this.last.set(k, order);
    this.watched.set(k, {
      account: order.brokerAccountId,
      clientOrderId: order.clientOrderId ?? "",
      misses: 0,
    });
  }

  /** The last state seen for an order, if any. */
  known(account: BrokerAccountId, clientOrderId: string): BrokerOrder | undefined {
    return this.last.get(key(account, clientOrderId));
  }

  /** Compares a fresh order state with the last one and emits what changed. */
  observe(order: BrokerOrder, raw: unknown): void {
    if (this.stopper.signal.aborted || !order.clientOrderId) return;
    const k = key(order.brokerAccountId, order.clientOrderId);
    if (this.finals.has(k)) return;
    const previous = this.last.get(k);
    if (!previous || changed(previous, order)) {
      this.deps.emit({ type: "OrderUpdated", order, raw });
    }
    const waitingForPrice = this.emitFill(k, order, previous, raw);
    const w = this.watched.get(k);
    // A final order whose fill price is still missing is asked again for a few rounds.
    if (isFinal(order.status) && !(waitingForPrice && (w?.misses ?? 0) < MAX_MISSES)) {
      this.last.delete(k);
      this.watched.delete(k);
      this.reported.delete(k);
      this.rememberFinal(k);
    } else {
      this.last.set(k, order);
      if (w) w.misses = waitingForPrice ? w.misses + 1 : 0;
      else
        this.watched.set(k, {
          account: order.brokerAccountId,
          clientOrderId: order.clientOrderId,
          misses: 0,
        });
    }
    if (!previous || changed(previous, order)) this.deps.onOrder(order, previous);
  }

  /** Emits OrderFilled for new fills; true when a fill is known but its price is not reported yet. */
  private emitFill(k: string, order: BrokerOrder, previous: BrokerOrder | undefined, raw: unknown): boolean {
    // Fills made before we first saw an order we did not place are not ours to report.
    let before = this.reported.get(k);
    if (!before) {
      before = previous
        ? { qty: previous.filledQty, avg: previous.avgFillPrice ?? dec(0) }
        : { qty: order.filledQty, avg: order.avgFillPrice ?? dec(0) };
      this.reported.set(k, before);
    }
    if (order.filledQty <= before.qty) return false;
    if (order.avgFillPrice === undefined) {
      this.deps.logger.warn(
        { event: "FillWithoutPrice", clientOrderId: order.clientOrderId, filledQty: order.filledQty },
        "Webull reports a fill without a price; waiting for the price before reporting it",
      );
      return true;
    }
    const qty = order.filledQty - before.qty;
    // Price of the new part from the two averages: (avg1*q1 - avg0*q0) / (q1 - q0), exact.
    const price =
      before.qty === 0
        ? order.avgFillPrice
        : div(sub(times(order.avgFillPrice, order.filledQty), times(before.avg, before.qty)), dec(qty));
    this.reported.set(k, { qty: order.filledQty, avg: order.avgFillPrice });
    this.deps.emit({
      type: "OrderFilled",
      brokerAccountId: order.brokerAccountId,
      brokerOrderId: order.brokerOrderId,
      ...(order.clientOrderId ? { clientOrderId: order.clientOrderId } : {}),
      contract: order.contract,
      side: order.side,
      // Webull order views carry no fill id: order id + cumulative quantity names this fill uniquely.
      fill: {
        price,
        qty,
        at: fillTime(raw),
        id: `${order.brokerOrderId}:${order.filledQty}`,
        cumQty: order.filledQty,
      },
      raw,
    });
    return false;
  }

  private rememberFinal(k: string): void {
    this.finals.add(k);
    if (this.finals.size > FINAL_MEMORY) {
      const oldest = this.finals.values().next().value;
      if (oldest !== undefined) this.finals.delete(oldest);
    }
  }

  private async loop(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      this.again = false;
      await this.round();
      if (signal.aborted || this.again) continue;
      this.wake = new AbortController();
      await pause(this.delayMs, AbortSignal.any([signal, this.wake.signal]));
      this.wake = undefined;
    }
  }

  private async round(): Promise<void> {
    let rtt = 0;
    let failure: Failure | undefined;
    const note = <T>(r: ApiResult<T>): boolean => {
      if (r.ok) rtt = Math.max(rtt, r.rttMs);
      else failure ??= r.failure;
      return r.ok;
    };
    try {
      if (!(await this.deps.beforeRound())) {
        this.delayMs = Math.min(MAX_POLL_BACKOFF_MS, this.delayMs * 2);
        return;
      }
      for (const account of this.deps.accounts()) {
        if (this.stopper.signal.aborted) return;
        await this.pollOrders(account, note);
        await this.pollPositions(account, note);
        await this.pollCash(account, note);
      }
    } catch (error) {
      this.deps.logger.error({ event: "PollFailed", err: error }, "Webull polling round failed");
    }
    if (this.stopper.signal.aborted) return;
    if (failure) {
      const limited = failure.kind === "error" && failure.status === 429;
      this.delayMs = Math.min(MAX_POLL_BACKOFF_MS, this.delayMs * 2);
      if (limited) {
        this.deps.logger.warn(
          { event: "RateLimited", nextPollMs: this.delayMs },
          "Webull polling rate limited",
        );
      }
      this.deps.onHealth({ ok: false, failure });
    } else {
      this.delayMs = this.deps.intervalMs;
      this.deps.onHealth({ ok: true, rttMs: rtt });
    }
  }

  private async pollOrders(account: BrokerAccountId, note: <T>(r: ApiResult<T>) => boolean): Promise<void> {
    const open = await this.deps.api.openOrders(account);
    if (!note(open) || !open.ok) return;
    const seen = new Set<string>();
    for (const view of open.value) {
      const order = toBrokerOrder(view, account);
      seen.add(key(account, view.client_order_id));
      this.observe(order, view);
    }
    for (const [k, w] of [...this.watched]) {
      if (w.account !== account || seen.has(k) || this.stopper.signal.aborted) continue;
      const detail = await this.deps.api.detail(account, w.clientOrderId);
      if (!note(detail) || !detail.ok) return;
      if (detail.value) this.observe(toBrokerOrder(detail.value, account), detail.value);
      else if (++w.misses >= MAX_MISSES) {
        this.watched.delete(k);
        this.last.delete(k);
      }
    }
  }

  private async pollPositions(account: BrokerAccountId, note: <T>(r: ApiResult<T>) => boolean) {
    const r = await this.deps.api.positions(account);
    if (!note(r) || !r.ok || this.stopper.signal.aborted) return;
    const present = new Set<string>();
    for (const view of r.value) {
      const position = toPosition(view, account);
      const k = key(account, position.contract);
      present.add(k);
      const before = this.positions.get(k);
      if (!before || before.netPos !== position.netPos || before.avgPrice !== position.avgPrice) {
        this.positions.set(k, position);
        this.deps.emit({ type: "PositionChanged", position, raw: view });
      }
      const last = tryDec(view.last_price);
      if (last !== undefined && this.deps.subscribed().has(position.contract)) {
        const prior = this.quotes.get(position.contract);
        if (prior === undefined || cmp(prior, last) !== 0) {
          this.quotes.set(position.contract, last);
          this.deps.emit({ type: "QuoteReceived", contract: position.contract, last, at: new Date() });
        }
      }
    }
    for (const [k, before] of [...this.positions]) {
      if (before.brokerAccountId !== account || present.has(k)) continue;
      this.positions.delete(k);
      const flat: BrokerPosition = { brokerAccountId: account, contract: before.contract, netPos: 0 };
      this.deps.emit({ type: "PositionChanged", position: flat });
    }
  }

  private async pollCash(account: BrokerAccountId, note: <T>(r: ApiResult<T>) => boolean) {
    const r = await this.deps.api.balance(account);
    if (!note(r) || !r.ok || this.stopper.signal.aborted) return;
    const balance = tryDec(r.value.total_cash_balance);
    const realized = tryDec(r.value.day_realized_profit_loss);
    const fingerprint = `${balance ?? ""}|${realized ?? ""}`;
    if (this.cash.get(account) === fingerprint) return;
    this.cash.set(account, fingerprint);
    this.deps.emit({
      type: "CashChanged",
      brokerAccountId: account,
      ...(balance !== undefined ? { balance } : {}),
      ...(realized !== undefined ? { realizedPnl: realized } : {}),
      raw: r.value,
    });
  }
}

/** Webull's last_filled_time when the payload has one, else now. */
function fillTime(raw: unknown): Date {
  const text = (raw as { last_filled_time?: unknown } | undefined)?.last_filled_time;
  const at = typeof text === "string" ? new Date(text) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at : new Date();
}

function changed(a: BrokerOrder, b: BrokerOrder): boolean {
  return (
    a.status !== b.status ||
    a.filledQty !== b.filledQty ||
    a.qty !== b.qty ||
    a.price !== b.price ||
    a.stopPrice !== b.stopPrice ||
    a.avgFillPrice !== b.avgFillPrice ||
    a.brokerOrderId !== b.brokerOrderId
  );
}
