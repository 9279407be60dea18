/**
 * Waiting for an entry's fill price: from the user hub (OrderUpdated with status filled), or from
 * Order/search once a second when the hub stays quiet. Fills seen before anyone waits are kept briefly,
 * since the hub event often arrives before the REST reply of the order itself.
 */
import { dec, isPositive } from "../../domain/decimal";
import type { BrokerAccountId, BrokerOrderId } from "../../domain/ids";
import type { BrokerOrder, Fill } from "../port";
import type { OrderOps } from "./orders";

const KEEP = 1_000;

export class FillWatch {
  private readonly recent = new Map<string, Fill>();
  private readonly waiters = new Map<string, Set<(fill: Fill | undefined) => void>>();

  constructor(private readonly ops: OrderOps) {}

  /** Every order update passes here; filled ones release their waiters. */
  note(order: BrokerOrder): void {
    if (order.status !== "filled" || !order.avgFillPrice || !isPositive(order.avgFillPrice)) return;
    const key = `${order.brokerAccountId}|${order.brokerOrderId}`;
    const fill = { price: order.avgFillPrice, qty: order.filledQty, at: new Date() };
    this.recent.set(key, fill);
    if (this.recent.size > KEEP) this.recent.delete(this.recent.keys().next().value ?? "");
    for (const resolve of [...(this.waiters.get(key) ?? [])]) resolve(fill);
  }

  wait(account: BrokerAccountId, orderId: BrokerOrderId, timeoutMs: number): Promise<Fill | undefined> {
    const key = `${account}|${orderId}`;
    const seen = this.recent.get(key);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, set);
      let poll: NodeJS.Timeout | undefined;
      const done = (fill: Fill | undefined) => {
        clearTimeout(timer);
        if (poll) clearTimeout(poll);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(key);
        resolve(fill);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      set.add(done);
      const check = async () => {
        const found = await this.ops.search(account, Date.now() - 86_400_000).catch(() => []);
        if (!set.has(done)) return;
        const o = found.find((x) => String(x.id) === orderId);
        if (o?.status === 2 && o.filledPrice && o.filledPrice > 0)
          done({ price: dec(o.filledPrice), qty: o.fillVolume ?? o.size, at: new Date() });
        else poll = setTimeout(() => void check(), 1_000);
      };
      poll = setTimeout(() => void check(), 1_000);
    });
  }

  /** Stops every wait (no fill). */
  close(): void {
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done(undefined);
  }
}
