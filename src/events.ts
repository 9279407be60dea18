/**
 * Relay events: what happened, past tense, for notifications, metrics and the loss monitor. Emitting never
 * blocks or fails the caller: listeners run after the current tick and their errors are contained.
 *
 * @example
 *   bus.on((e) => { if (e.type === "ExecutionFailed") alert(e.reason); });
 *   bus.emit({ type: "SessionLost", at: new Date(), accountId, accountName, broker, reason });
 */

export interface TraderOutcome {
  traderId: string;
  accountId: string;
  accountName: string;
  broker: string;
  brokerAccountId: string;
  /** done | ignored | failed | unknown | waiting_for_broker */
  status: string;
  decision: string | null;
  reason: string | null;
  /** Problems (unprotected position, cancel failures) or the broker's words on failure. */
  error: string | null;
  latencyMs: number | null;
  contract: string | null;
  /** Average fill price of the execution's entry or close, as a decimal string. */
  fillPrice: string | null;
  filledQty: number | null;
}

export type RelayEvent =
  /** Every execution of a signal has finished: one summary per signal. */
  | {
      type: "SignalExecuted";
      at: Date;
      signalId: string;
      recorderId: string;
      recorderName: string;
      ticker: string;
      action: string;
      receivedAt: Date;
      traders: TraderOutcome[];
    }
  /** One trader's execution failed or ended unknown, in the broker's words. */
  | {
      type: "ExecutionFailed";
      at: Date;
      signalId: string;
      recorderId: string;
      recorderName: string;
      trader: TraderOutcome;
    }
  /**
   * An exit, close or flatten (or a still-fresh entry) cannot reach its broker: it waits and goes out
   * when the broker is back. Urgent.
   */
  | {
      type: "ExecutionWaiting";
      at: Date;
      signalId: string;
      recorderId: string;
      recorderName: string;
      trader: TraderOutcome;
    }
  /** A position is open without the exit orders it should have. Urgent. */
  | {
      type: "PositionUnprotected";
      at: Date;
      signalId: string | null;
      recorderId: string | null;
      traderId: string;
      accountId: string;
      accountName: string;
      contract: string;
      netQty: number;
      reason: string;
    }
  | { type: "SessionLost"; at: Date; accountId: string; accountName: string; broker: string; reason: string }
  | {
      type: "SessionRestored";
      at: Date;
      accountId: string;
      accountName: string;
      broker: string;
      downMs: number;
    }
  /** A trader or account crossed its daily loss limit. Urgent. */
  | {
      type: "BreachDetected";
      at: Date;
      scope: "trader" | "account";
      traderId: string | null;
      accountId: string;
      accountName: string;
      recorderIds: string[];
      limit: string;
      pnl: string;
      tradingDay: string;
      /** Prop rules (issue 14): which rule, and what happened in a trader's words. */
      rule?: string;
      message?: string;
    }
  | {
      type: "BreachFlattened";
      at: Date;
      scope: "trader" | "account";
      traderId: string | null;
      accountId: string;
      accountName: string;
      recorderIds: string[];
      attempts: number;
      tradingDay: string;
      /** Prop rules (issue 14): which rule, and what happened in a trader's words. */
      rule?: string;
      message?: string;
    }
  /** Reconciliation found the broker and our book disagreeing. */
  | {
      type: "ReconciliationDrift";
      at: Date;
      accountId: string;
      accountName: string;
      brokerAccountId: string;
      contract: string;
      kind: string;
      detail: string;
      fixed: boolean;
      recorderIds: string[];
    }
  /** At the trading-day boundary: P&L per trader for the day that ended. */
  | {
      type: "DailySummary";
      at: Date;
      tradingDay: string;
      traders: {
        traderId: string;
        recorderId: string;
        recorderName: string;
        accountName: string;
        realizedPnl: string;
        trades: number;
      }[];
    }
  /**
   * A recorder's trading hours closed with `flattenAtWindowEnd`: its traders were flattened ("flat"), or one
   * of them could not be after its retries ("stuck", urgent).
   */
  | {
      type: "SessionCloseFlattened";
      at: Date;
      recorderId: string;
      recorderName: string;
      close: Date;
      outcome: "flat" | "stuck";
      traders: number;
      /** The trader that is stuck, and why, in the broker's words. */
      accountName?: string;
      error?: string;
    }
  | {
      type: "KillSwitchUsed";
      at: Date;
      action: "stop" | "flatten" | "resume";
      actor: string;
      detail: string;
    };

export type RelayEventType = RelayEvent["type"];
type Listener = (event: RelayEvent) => void | Promise<void>;

export class EventBus {
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly onListenerError: (error: unknown, event: RelayEvent) => void = () => undefined,
  ) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivers after the current tick; a slow or failing listener never delays or breaks the emitter. */
  emit(event: RelayEvent): void {
    for (const l of this.listeners) {
      setImmediate(() => {
        try {
          const r = l(event);
          if (r && typeof (r as Promise<void>).catch === "function") {
            (r as Promise<void>).catch((error) => this.onListenerError(error, event));
          }
        } catch (error) {
          this.onListenerError(error, event);
        }
      });
    }
  }
}
