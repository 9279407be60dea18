/**
 * Fault injection at the broker boundary: a real session whose placements, after the first `allow`, still
 * reach the broker but never answer, as when the relay dies right after sending. Used to prove a restart
 * resumes without losing or doubling orders.
 */
import type { BrokerFactory, BrokerSession, OrderOutcome, SessionContext } from "../../src/brokers/port";

export class CrashSwitch {
  placed = 0;
  /** Set when the relay "died": nothing it does afterwards reaches the broker. */
  dead = false;
  /** Resolves once the placement that was in flight at the moment of death has reached the broker. */
  readonly died: Promise<void>;
  /**
   * Called at the fatal placement just before it is forwarded, in the same tick as the relay's call (so
   * a test can take the database away while the order is on its way, before anything else happens).
   */
  onDeath: (() => void) | undefined;
  private markDied: () => void = () => undefined;

  constructor(public allow: number) {
    this.died = new Promise((r) => {
      this.markDied = r;
    });
  }

  /** Called for each placement; returns how this one ends. */
  next(): "answer" | "send-then-die" | "dead" {
    if (this.dead) return "dead";
    if (this.placed >= this.allow) {
      this.dead = true;
      return "send-then-die";
    }
    this.placed++;
    return "answer";
  }

  diedNow(): void {
    this.markDied();
  }
}

const never = <T>() => new Promise<T>(() => undefined);

/** @param deaf the relay never hears the broker's events either (it dies before any report arrives). */
export function crashingFactory(inner: BrokerFactory, crash: CrashSwitch, deaf = false): BrokerFactory {
  return {
    kinds: inner.kinds,
    validateCredentials: (c) => inner.validateCredentials(c),
    create(context: SessionContext): BrokerSession {
      const s = inner.create(context);
      const wrap =
        <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
        async (...a: A): Promise<R> => {
          const fate = crash.next();
          if (fate === "dead") return never<R>();
          if (fate === "send-then-die") {
            crash.onDeath?.();
            await fn(...a); // the order reaches the broker...
            crash.diedNow();
            return never<R>(); // ...and the relay never hears back
          }
          return fn(...a);
        };
      return Object.assign(Object.create(Object.getPrototypeOf(s)) as BrokerSession, s, {
        venue: s.venue,
        start: () => s.start(),
        stop: () => s.stop(),
        status: () => s.status(),
        brokerAccounts: () => s.brokerAccounts(),
        contract: (sym: string) => s.contract(sym),
        placeOrder: wrap((o: Parameters<BrokerSession["placeOrder"]>[0]) => s.placeOrder(o)),
        placeOco: wrap(
          (a: Parameters<BrokerSession["placeOco"]>[0], b: Parameters<BrokerSession["placeOco"]>[1]) =>
            s.placeOco(a, b),
        ) as (
          a: Parameters<BrokerSession["placeOco"]>[0],
          b: Parameters<BrokerSession["placeOco"]>[1],
        ) => Promise<[OrderOutcome, OrderOutcome]>,
        modifyOrder: (...a: Parameters<BrokerSession["modifyOrder"]>) => s.modifyOrder(...a),
        cancelOrder: (...a: Parameters<BrokerSession["cancelOrder"]>) => s.cancelOrder(...a),
        flatten: (...a: Parameters<BrokerSession["flatten"]>) => s.flatten(...a),
        positions: (...a: Parameters<BrokerSession["positions"]>) => s.positions(...a),
        workingOrders: (...a: Parameters<BrokerSession["workingOrders"]>) => s.workingOrders(...a),
        findOrder: (...a: Parameters<BrokerSession["findOrder"]>) => s.findOrder(...a),
        subscribeQuotes: (...a: Parameters<BrokerSession["subscribeQuotes"]>) => s.subscribeQuotes(...a),
        on: (...a: Parameters<BrokerSession["on"]>) => (deaf ? () => undefined : s.on(...a)),
      });
    },
  };
}
