/**
 * One sub-account's prop figures as GET /api/loss-monitor shows them: money as exact decimal strings.
 */
import { add, type Dec, toStr } from "../domain/decimal";
import { contractsInUse, drawdownLeft, lossLeft, profitTargetLeft } from "../domain/prop-rules";
import type { PnlBook } from "./pnl-book";
import { RULES } from "./prop-breaches";
import type { PropWatch, Sub } from "./prop-watch";

/** One sub-account's prop figures in GET /api/loss-monitor: money as decimal strings. */
export interface PropSubView {
  brokerAccountId: string;
  preset: string | null;
  /** False while the figures wait for the broker's read-back after a fill. */
  settled: boolean;
  balance: string | null;
  equity: string | null;
  dayPnl: string;
  trailingMode: string | null;
  highWater: string | null;
  floor: string | null;
  drawdownLeft: string | null;
  lossLimit: string | null;
  lossLeft: string | null;
  profitTarget: string | null;
  profitTargetLeft: string | null;
  maxContracts: number | null;
  contractsInUse: number;
  breaches: {
    rule: string;
    action: string;
    message: string;
    breachedAt: string;
    state: string;
    flattenedAt: string | null;
    tradersDisabledAt: string | null;
  }[];
}

export function propSubView(w: PropWatch, book: PnlBook, day: string, sub: Sub): PropSubView {
  const { accountId } = sub;
  const s = (x: Dec | undefined) => (x === undefined ? null : toStr(x));
  const rules = w.rulesOf(accountId, sub.brokerAccountId);
  const f = book.subAccountPnl(accountId, sub.brokerAccountId, day);
  const equity = sub.balance === undefined ? undefined : add(sub.balance, f.unrealized);
  const loss = rules?.dailyLossLimit?.amount;
  const target = rules?.dailyProfitTarget?.amount;
  const breaches = RULES.flatMap((rule) => {
    const b = w.breaches.of(accountId, sub.brokerAccountId, rule);
    if (!b) return [];
    return [
      {
        rule,
        action: b.action,
        message: b.message,
        breachedAt: b.at.toISOString(),
        state: b.action === "pause" ? "paused" : (b.job?.state ?? "detected"),
        flattenedAt: b.flattenedAt?.toISOString() ?? null,
        tradersDisabledAt: b.tradersDisabledAt?.toISOString() ?? null,
      },
    ];
  });
  return {
    brokerAccountId: sub.brokerAccountId,
    preset: rules?.preset ?? null,
    settled: sub.gen === sub.settledGen,
    balance: s(sub.balance),
    equity: s(equity),
    dayPnl: toStr(f.total),
    trailingMode: rules?.trailingDrawdown?.mode ?? null,
    highWater: s(sub.trail?.highWater),
    floor: s(sub.trail?.floor),
    drawdownLeft: equity !== undefined && sub.trail ? toStr(drawdownLeft(equity, sub.trail.floor)) : null,
    lossLimit: s(loss),
    lossLeft: loss === undefined ? null : toStr(lossLeft(f.total, loss)),
    profitTarget: s(target),
    profitTargetLeft: target === undefined ? null : toStr(profitTargetLeft(f.total, target)),
    maxContracts: rules?.maxContracts ?? null,
    contractsInUse: contractsInUse(w.exposures(accountId, sub.brokerAccountId)),
    breaches,
  };
}
