/** JSON shapes of the API. Money and prices are decimal strings; credentials never appear. */
import type { AccountRow } from "../db/accounts";
import type { ExecutionView } from "../db/executions";
import { presentWorkingOrder } from "../db/order-views";
import type { OrderRow } from "../db/orders";
import type { PositionRow } from "../db/positions";
import type { RecorderRow } from "../db/recorders";
import type { SignalRow } from "../db/signals";
import type { TraderRow } from "../db/traders";
import { toStr } from "../domain/decimal";
import type { SessionInfo } from "../sessions/pool";

export function presentAccount(a: AccountRow, session?: SessionInfo) {
  return {
    id: a.id,
    name: a.name,
    broker: a.broker,
    environment: a.environment,
    status: a.status,
    statusMessage: a.statusMessage,
    brokerAccounts: a.brokerAccounts,
    maxDailyLoss: a.maxDailyLoss,
    tradingDayRoll: a.tradingDayRoll,
    tradingDayTimeZone: a.tradingDayTimeZone,
    session: session ? presentSession(session) : null,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

export function presentSession(s: SessionInfo) {
  return {
    accountId: s.accountId,
    name: s.name,
    broker: s.broker,
    environment: s.environment,
    state: s.status.state,
    since: s.status.since,
    lastHeartbeatAt: s.status.lastHeartbeatAt ?? null,
    rttMs: s.status.rttMs ?? null,
    warm: s.status.warm,
    error: s.status.error ?? null,
  };
}

export function presentRecorder(r: RecorderRow, publicUrl: string) {
  return {
    id: r.id,
    name: r.name,
    enabled: r.enabled,
    webhookToken: r.webhookToken,
    webhookUrl: `${publicUrl}/webhook/${r.webhookToken}`,
    ...r.settings,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** A trader with its open positions; `working` (its orders still working) go beside their position. */
export function presentTrader(t: TraderRow, positions: PositionRow[] = [], working: OrderRow[] = []) {
  return {
    id: t.id,
    recorderId: t.recorderId,
    accountId: t.accountId,
    brokerAccountId: t.brokerAccountId,
    multiplier: toStr(t.multiplier),
    enabled: t.enabled,
    maxDailyLoss: t.maxDailyLoss === null ? null : toStr(t.maxDailyLoss),
    overrides: t.overrides,
    positions: positions
      .filter((p) => p.traderId === t.id && p.netQty !== 0)
      .map((p) => ({
        ...presentPosition(p),
        workingOrders: working
          .filter(
            (o) =>
              o.traderId === t.id && o.brokerAccountId === p.brokerAccountId && o.contract === p.contract,
          )
          .map(presentWorkingOrder),
      })),
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

export function presentPosition(p: PositionRow) {
  return {
    contract: p.contract,
    brokerAccountId: p.brokerAccountId,
    netQty: p.netQty,
    avgPrice: p.avgPrice === undefined ? null : toStr(p.avgPrice),
    realizedPnl: toStr(p.realized),
    openedAt: p.openedAt,
  };
}

export function presentSignal(s: SignalRow) {
  return {
    id: s.id,
    recorderId: s.recorderId,
    recorderName: s.recorderName,
    receivedAt: s.receivedAt,
    committedAt: s.committedAt,
    alertId: s.alertId,
    source: s.source,
    action: s.action,
    ticker: s.ticker,
    quantity: s.quantity,
    price: s.price,
    time: s.signalTime,
    ageMs: s.ageMs,
    signal: s.payload,
    executions: s.counts,
  };
}

export function presentExecution(e: ExecutionView) {
  return {
    id: e.id,
    signalId: e.signalId,
    traderId: e.traderId,
    account: { id: e.accountId, name: e.accountName, broker: e.broker, brokerAccountId: e.brokerAccountId },
    recorder: { id: e.recorderId, name: e.recorderName },
    ticker: e.ticker,
    action: e.action,
    contract: e.contract,
    status: e.status,
    decision: e.decision,
    reason: e.reason,
    error: e.error,
    attempts: e.attempts,
    latencyMs: e.latencyMs,
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    orders: e.orders,
  };
}
