/**
 * What GET /api/loss-monitor and GET /api/status show of the monitor. Money is a decimal string, never a
 * float; times are ISO strings.
 */
import type { Dec } from "../domain/decimal";
import { add, dec, toStr } from "../domain/decimal";
import { type Breach, breachReason, subjectKey } from "./breaches";
import type { KillSwitchState } from "./kill-switch";
import type { LossMonitor } from "./monitor";
import type { Holding } from "./pnl-book";

const s = (d: Dec | undefined | null) => (d === undefined || d === null ? null : toStr(d));

function breachView(b: Breach | undefined, day: string) {
  if (!b || b.tradingDay !== day) return { breachedAt: null, breach: null };
  return {
    breachedAt: b.at.toISOString(),
    breach: {
      state: b.job.state,
      attempts: b.job.attempts,
      error: b.job.error,
      limit: toStr(b.limit),
      pnlAtBreach: toStr(b.pnl),
      flattenedAt: b.flattenedAt?.toISOString() ?? null,
      reason: breachReason(b),
    },
  };
}

/** One open position as marked by the monitor. */
function holdingView(m: LossMonitor, h: Holding) {
  return {
    contract: h.contract,
    brokerAccountId: h.brokerAccountId,
    netQty: h.netQty,
    avgPrice: s(h.avgPrice),
    lastPrice: s(m.book.lastPrice(h.accountId, h.contract)),
    unrealized: s(m.book.unrealizedOf(h)),
  };
}

export interface LossSnapshot {
  killSwitch: KillSwitchState;
  traders: Record<string, unknown>[];
  accounts: Record<string, unknown>[];
}

/** Per trader and per account: limit, realized, unrealized, total, peak, breach, trading day. */
export function lossSnapshot(m: LossMonitor): LossSnapshot {
  const d = m.directory;
  const traders = d.allTraders().map((t) => {
    const day = m.dayOf(t.accountId);
    const f = m.book.traderPnl(t.id, day);
    return {
      traderId: t.id,
      recorderId: t.recorderId,
      recorderName: d.recorder(t.recorderId)?.name ?? null,
      accountId: t.accountId,
      accountName: d.account(t.accountId)?.name ?? null,
      brokerAccountId: t.brokerAccountId,
      enabled: t.enabled,
      tradingDay: day,
      limit: s(t.maxDailyLoss),
      lossLeft: t.maxDailyLoss ? toStr(add(t.maxDailyLoss, f.total)) : null,
      realized: toStr(f.realized),
      unrealized: toStr(f.unrealized),
      total: toStr(f.total),
      peak: s(m.book.peak("trader", t.id, day)),
      priced: f.priced,
      ...breachView(m.breaches.get(subjectKey("trader", t.id)), day),
      positions: m.book.holdingsOf(t.id).map((h) => holdingView(m, h)),
    };
  });
  const accounts = d.allAccounts().map((a) => {
    const day = m.dayOf(a.id);
    const settings = m.accountSettings(a.id);
    const rule = m.ruleOf(a.id);
    const f = m.book.accountPnl(a.id, day);
    const limit = settings?.maxDailyLoss;
    // Prop rules per sub-account. The account's drawdownLeft and lossLeft are the least left anywhere
    // on it: the login's daily loss limit and each sub-account's own.
    const prop = m.prop.view(a.id);
    const least = (xs: (string | null)[]) => {
      const given = xs.filter((x): x is string => x !== null);
      return given.length ? given.reduce((lo, x) => (dec(x) < dec(lo) ? x : lo)) : null;
    };
    const drawdownLeft = least(prop.map((p) => p.drawdownLeft));
    const lossLeft = least([limit ? toStr(add(limit, f.total)) : null, ...prop.map((p) => p.lossLeft)]);
    return {
      accountId: a.id,
      accountName: a.name,
      broker: a.broker,
      tradingDay: day,
      tradingDayRoll: rule.roll,
      tradingDayTimeZone: rule.timeZone,
      limit: s(limit),
      lossLeft,
      drawdownLeft,
      realized: toStr(f.realized),
      unrealized: toStr(f.unrealized),
      total: toStr(f.total),
      peak: s(m.book.peak("account", a.id, day)),
      priced: f.priced,
      ...breachView(m.breaches.get(subjectKey("account", a.id)), day),
      positions: m.book.brokerHoldingsOf(a.id).map((h) => holdingView(m, h)),
      prop,
    };
  });
  return { killSwitch: m.kill.current, traders, accounts };
}

/** For GET /api/status: the kill switch and today's breaches. */
export function monitorStatus(m: LossMonitor): {
  killSwitch: KillSwitchState & { flattenProgress: ReturnType<LossMonitor["emergency"]["report"]> };
  breaches: Record<string, unknown>[];
} {
  const breaches = [...m.breaches.values()]
    .filter((b) => b.tradingDay === m.dayOf(b.accountId))
    .map((b) => ({
      scope: b.scope,
      traderId: b.traderId,
      accountId: b.accountId,
      tradingDay: b.tradingDay,
      limit: toStr(b.limit),
      pnlAtBreach: toStr(b.pnl),
      breachedAt: b.at.toISOString(),
      state: b.job.state,
      attempts: b.job.attempts,
      error: b.job.error,
      flattenedAt: b.flattenedAt?.toISOString() ?? null,
      reason: breachReason(b),
    }));
  return { killSwitch: { ...m.kill.current, flattenProgress: m.emergency.report() }, breaches };
}
