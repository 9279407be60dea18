/**
 * Real-shaped relay events for the notification tests (the shapes src/events.ts emits), and a trader
 * outcome builder for large fan-outs.
 */
import type { RelayEvent, TraderOutcome } from "../../src/events";

export const SIGNAL_ID = "5b0f6d3e-3c1e-4d1b-9a43-0f4f6a1d2c11";
export const RECORDER_ID = "9d8b7c6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
export const AT = new Date("2026-03-02T15:30:01.250Z");

export function outcome(i: number, o: Partial<TraderOutcome> = {}): TraderOutcome {
  return {
    traderId: `trader-${i}`,
    accountId: `account-${i}`,
    accountName: `Apex ${i}`,
    broker: "tradovate",
    brokerAccountId: `DEMO${1000 + i}`,
    status: "done",
    decision: "opened",
    reason: "flat -> long 2",
    error: null,
    latencyMs: 40 + (i % 50),
    contract: "MNQH6",
    fillPrice: "21000.25",
    filledQty: 2,
    ...o,
  };
}

export function signalExecuted(traders: TraderOutcome[], o: { recorderId?: string; signalId?: string } = {}) {
  return {
    type: "SignalExecuted" as const,
    at: AT,
    signalId: o.signalId ?? SIGNAL_ID,
    recorderId: o.recorderId ?? RECORDER_ID,
    recorderName: "NQ Scalper",
    ticker: "MNQ1!",
    action: "buy",
    receivedAt: new Date(AT.getTime() - 180),
    traders,
  };
}

export function executionFailed(
  i: number,
  o: { recorderId?: string; signalId?: string; error?: string } = {},
) {
  return {
    type: "ExecutionFailed" as const,
    at: AT,
    signalId: o.signalId ?? SIGNAL_ID,
    recorderId: o.recorderId ?? RECORDER_ID,
    recorderName: "NQ Scalper",
    trader: outcome(i, {
      status: "failed",
      decision: "opened",
      error: o.error ?? "entry rejected by the broker: Insufficient buying power",
      fillPrice: null,
      filledQty: null,
    }),
  };
}

export function events(
  recorderId = RECORDER_ID,
  accountId = "account-1",
): Record<RelayEvent["type"], RelayEvent> {
  return {
    SignalExecuted: signalExecuted(
      [
        outcome(1),
        outcome(2, { fillPrice: "21000.5", filledQty: 4 }),
        outcome(3, {
          status: "failed",
          error: "entry rejected by the broker: Insufficient buying power",
          fillPrice: null,
          filledQty: null,
        }),
        outcome(4, {
          status: "ignored",
          decision: "ignored_same_direction",
          reason: "already long 2; avg-down is off",
          fillPrice: null,
          filledQty: null,
          latencyMs: 3,
        }),
      ],
      { recorderId },
    ),
    ExecutionFailed: executionFailed(3, { recorderId }),
    ExecutionWaiting: {
      type: "ExecutionWaiting",
      at: AT,
      signalId: SIGNAL_ID,
      recorderId,
      recorderName: "NQ Scalper",
      trader: outcome(2, {
        status: "waiting_for_broker",
        decision: "closed",
        error:
          "waiting for the broker: the tradovate session is reconnecting; it goes out as soon as the broker is back, under the same order ids",
        fillPrice: null,
        filledQty: null,
      }),
    },
    PositionUnprotected: {
      type: "PositionUnprotected",
      at: AT,
      signalId: SIGNAL_ID,
      recorderId,
      traderId: "trader-5",
      accountId,
      accountName: "Apex 5",
      contract: "MNQH6",
      netQty: 2,
      reason: "position unprotected: sl1 rejected: Order price is outside the price limits",
    },
    SessionLost: {
      type: "SessionLost",
      at: AT,
      accountId,
      accountName: "Apex 1",
      broker: "tradovate",
      reason: "socket closed (1006)",
    },
    SessionRestored: {
      type: "SessionRestored",
      at: AT,
      accountId,
      accountName: "Apex 1",
      broker: "tradovate",
      downMs: 72_000,
    },
    BreachDetected: {
      type: "BreachDetected",
      at: AT,
      scope: "trader",
      traderId: "trader-6",
      accountId,
      accountName: "Apex 6",
      recorderIds: [recorderId],
      limit: "500",
      pnl: "-612.5",
      tradingDay: "2026-03-02",
    },
    BreachFlattened: {
      type: "BreachFlattened",
      at: AT,
      scope: "trader",
      traderId: "trader-6",
      accountId,
      accountName: "Apex 6",
      recorderIds: [recorderId],
      attempts: 2,
      tradingDay: "2026-03-02",
    },
    ReconciliationDrift: {
      type: "ReconciliationDrift",
      at: AT,
      accountId,
      accountName: "Apex 7",
      brokerAccountId: "DEMO1007",
      contract: "MNQH6",
      kind: "position",
      detail: "broker long 3, relay long 2",
      fixed: false,
      recorderIds: [recorderId],
    },
    DailySummary: {
      type: "DailySummary",
      at: AT,
      tradingDay: "2026-03-02",
      traders: [
        {
          traderId: "trader-1",
          recorderId,
          recorderName: "NQ Scalper",
          accountName: "Apex 1",
          realizedPnl: "1234.5",
          trades: 3,
        },
        {
          traderId: "trader-2",
          recorderId,
          recorderName: "NQ Scalper",
          accountName: "Apex 2",
          realizedPnl: "-80.25",
          trades: 1,
        },
      ],
    },
    KillSwitchUsed: {
      type: "KillSwitchUsed",
      at: AT,
      action: "flatten",
      actor: "admin",
      detail: "12 positions, 30 working orders",
    },
    SessionCloseFlattened: {
      type: "SessionCloseFlattened",
      at: AT,
      recorderId,
      recorderName: "NQ scalper",
      close: AT,
      outcome: "stuck",
      traders: 2,
      accountName: "Topstep 50K",
      error: "liquidation rejected: market closed",
    },
  };
}
