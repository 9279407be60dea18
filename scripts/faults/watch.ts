/**
 * Trip wires on the simulator's matching engine: run a fault (SIGKILL the relay, drop sockets, cut the
 * database) synchronously at the moment the n-th order of some kind reaches the broker, so a fault lands
 * at a precise, seeded point of a fan-out rather than "some time later".
 */
import type { TradovateSim } from "../../src/sim/tradovate/index";

/** market: entries and closes; exit: take-profits and stops; cancel: an order cancelled; any: all three. */
export type OrderKind = "market" | "exit" | "cancel" | "any";

interface Wire {
  kind: OrderKind;
  remaining: number;
  action: () => void;
}

export class OrderWatch {
  private readonly seen = new Set<number>();
  private readonly cancelled = new Set<number>();
  private wires: Wire[] = [];
  private readonly unsubscribe: () => void;
  readonly counts: Record<OrderKind, number> = { market: 0, exit: 0, cancel: 0, any: 0 };

  constructor(sim: TradovateSim) {
    this.unsubscribe = sim.venue.on((event) => {
      if (event.type !== "order") return;
      const o = event.order;
      let kind: OrderKind | undefined;
      if (!this.seen.has(o.id)) {
        this.seen.add(o.id);
        kind = o.type === "market" ? "market" : "exit";
      } else if (o.status === "cancelled" && !this.cancelled.has(o.id)) {
        this.cancelled.add(o.id);
        kind = "cancel";
      }
      if (kind) this.count(kind);
    });
    // Orders that exist before the watch starts are not new.
    for (const o of sim.venue.listOrders()) {
      this.seen.add(o.id);
      if (o.status === "cancelled") this.cancelled.add(o.id);
    }
  }

  /** Runs `action` once, synchronously, when the `n`-th order of `kind` from now arrives. */
  at(kind: OrderKind, n: number, action: () => void): void {
    this.wires.push({ kind, remaining: Math.max(1, n), action });
  }

  /** Whether every armed wire has fired. */
  get fired(): boolean {
    return this.wires.length === 0;
  }

  dispose(): void {
    this.unsubscribe();
    this.wires = [];
  }

  private count(kind: OrderKind): void {
    this.counts[kind]++;
    this.counts.any++;
    const due: Wire[] = [];
    for (const w of this.wires) {
      if (w.kind === kind || w.kind === "any") w.remaining--;
      if (w.remaining <= 0) due.push(w);
    }
    if (due.length === 0) return;
    this.wires = this.wires.filter((w) => !due.includes(w));
    for (const w of due) w.action();
  }
}
