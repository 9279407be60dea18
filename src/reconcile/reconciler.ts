/**
 * Reconciliation, at startup and every minute per account: the broker's positions and working orders
 * against the relay's book. Every difference is recorded as drift (GET /api/status, a notification when
 * it first appears); only differences we understand are fixed:
 *
 * - our order's state missed while we were not looking (filled, cancelled, never arrived): settled from
 *   the broker's own record, and a missed fill is booked;
 * - a book holding more than the broker (closed by hand at the broker, a fill we never heard of): the
 *   book is corrected to the broker through the order kernel (never the broker to the book);
 * - a position the broker confirms without its exits: the exits are placed again from the trader's
 *   current settings, for what the broker holds;
 * - exits of ours left working on a position that is closed (or covering more than it holds): cancelled.
 *
 * A position the book does not explain is never flattened and never touched: it is reported, once a
 * second look (after in-flight fill reports are booked) still shows it. No order is ever placed from the
 * book alone: exits go out only for a position the broker shows (src/domain/broker-truth.ts). While any
 * trader of a sub-account has an execution in flight, or finished one during the pass, its positions are
 * not compared at all: the broker's snapshot and the book may straddle that execution's orders.
 */
import type { BrokerOrder, BrokerSession } from "../brokers/port";
import type { Sql } from "../db/client";
import { resolveDrifts } from "../db/drift";
import { liveOrders, type OrderRow } from "../db/orders";
import {
  databaseNow,
  exitOrdersSince,
  isOld,
  liveExitCount,
  liveOrdersOfSub,
  openPositionsOfSub,
  tradersInFlight,
} from "../db/reconcile";
import type { TraderRow } from "../db/traders";
import type { Directory } from "../directory";
import { bookCorrections } from "../domain/broker-truth";
import type { ContractSpec } from "../domain/contract";
import { settingsExitSpec } from "../domain/exit-units";
import type { ClientOrderId } from "../domain/ids";
import { effectiveSettings } from "../domain/settings";
import { managesStop, resolveStopRules } from "../domain/stop-rules";
import type { Logger } from "../log";
import type { ContractBook } from "../orders/contracts";
import type { Drift, DriftDesk } from "../orders/drift";
import type { FillRecorder } from "../orders/fills";
import type { Journal } from "../orders/journal";
import type { OrderKernel } from "../orders/kernel";
import type { LegContext } from "../orders/legs";
import type { SessionPool } from "../sessions/pool";

export interface ReconcilerDeps {
  sql: Sql;
  logger: Logger;
  directory: Directory;
  pool: SessionPool;
  fills: FillRecorder;
  journal: Journal;
  contracts: ContractBook;
  kernel: OrderKernel;
  drift: DriftDesk;
  intervalMs?: number;
  /** An order of ours the broker has never heard of is given up only after this long. */
  graceMs?: number;
}

type Found = Drift;

const describe = (n: number) => (n === 0 ? "flat" : `${n > 0 ? "long" : "short"} ${Math.abs(n)}`);

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly passes = new Set<Promise<void>>();

  constructor(private readonly d: ReconcilerDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.d.intervalMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    await Promise.allSettled([this.running, ...this.passes]);
  }

  /**
   * A position gone flat at the broker, which is what a trader closing by hand looks like: a few seconds
   * later (the OCO guard, at 1 s, and in-flight reports go first), if exits of ours are still working in
   * that contract, the account gets a pass at once instead of at the next minute. Our own exits cancel
   * them before closing, so after those this is one small query and nothing more.
   */
  soon(accountId: string, brokerAccountId: string, contract: string, delayMs = 3_000): void {
    const key = `${accountId}|${brokerAccountId}|${contract}`;
    if (this.stopped || this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      const pass = liveExitCount(this.d.sql, accountId, brokerAccountId, contract)
        .then((n) => (n > 0 ? this.account(accountId) : undefined))
        .catch((error) =>
          this.d.logger.warn(
            { event: "ReconcileFailed", accountId, error: String(error) },
            "reconciliation failed",
          ),
        )
        .finally(() => this.passes.delete(pass));
      this.passes.add(pass);
    }, delayMs);
    timer.unref();
    this.pending.set(key, timer);
  }

  /** One pass over every account that has traders; a pass already running is joined, not doubled. */
  runOnce(): Promise<void> {
    this.running ??= (async () => {
      const accounts = new Set(this.d.directory.allTraders().map((t) => t.accountId as string));
      for (const accountId of accounts) {
        try {
          await this.account(accountId);
        } catch (error) {
          this.d.logger.warn(
            { event: "ReconcileFailed", accountId, error: String(error) },
            "reconciliation failed",
          );
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async account(accountId: string): Promise<void> {
    const session = this.d.pool.peek(accountId);
    if (session?.status().state !== "ready") return;
    const traders = this.d.directory.allTraders().filter((t) => t.accountId === accountId);
    const bySub = new Map<string, typeof traders>();
    for (const t of traders) bySub.set(t.brokerAccountId, [...(bySub.get(t.brokerAccountId) ?? []), t]);
    const seen: Found[] = [];
    const skipped: string[] = [];
    for (const [sub, subTraders] of bySub) {
      try {
        const { found, complete } = await this.subAccount(accountId, session, sub, subTraders);
        seen.push(...found);
        // Positions not compared this pass: their open drifts are neither confirmed nor resolved.
        if (!complete) skipped.push(sub);
      } catch (error) {
        skipped.push(sub);
        this.d.logger.warn(
          { event: "ReconcileSkipped", accountId, brokerAccountId: sub, error: String(error) },
          "could not ask the broker",
        );
      }
    }
    for (const f of seen) await this.d.drift.report(f);
    // Drifts of sub-accounts we could not ask stay open: not seeing them is not seeing them resolved.
    const stillOpen = seen.filter((f) => f.kind !== "order_settled" && f.kind !== "orphan_exit");
    await resolveDrifts(this.d.sql, accountId, stillOpen, skipped);
  }

  private async subAccount(
    accountId: string,
    session: BrokerSession,
    sub: string,
    traders: TraderRow[],
  ): Promise<{ found: Found[]; complete: boolean }> {
    const found: Found[] = [];
    const key = (contract: string, kind: string, detail: string, fixed: boolean): Found => ({
      accountId,
      brokerAccountId: sub,
      contract,
      kind,
      detail,
      fixed,
    });
    const subId = sub as never;
    const since = await databaseNow(this.d.sql);
    const [brokerPositions, brokerOrders] = await Promise.all([
      session.positions(subId),
      session.workingOrders(subId),
    ]);
    const traderIds = traders.map((t) => t.id);
    const busy = await tradersInFlight(this.d.sql, traderIds, since);
    const leg = (traderId: string, contract: ContractSpec): LegContext => ({
      journal: this.d.journal,
      log: this.d.logger.child({ traderId, reconcile: true }),
      session,
      fills: this.d.fills,
      accountId,
      executionId: null,
      traderId,
      brokerAccountId: subId,
      contract,
      checkFirst: true,
      // Only exits are placed here: one the broker never received is sent again.
      mayResend: () => true,
    });

    // 1. Our live orders that the broker no longer shows working: learn what became of them.
    const working = new Set(brokerOrders.flatMap((o) => [o.clientOrderId ?? "", `#${o.brokerOrderId}`]));
    for (const o of await liveOrdersOfSub(this.d.sql, traderIds, sub)) {
      if (o.traderId && busy.has(o.traderId)) continue;
      if (working.has(o.clientOrderId) || (o.brokerOrderId && working.has(`#${o.brokerOrderId}`))) continue;
      const settled = await this.settle(accountId, session, sub, o);
      if (settled) found.push(key(o.contract, "order_settled", settled, true));
    }

    // 2. Positions: the broker's net per contract against the sum of our traders' books.
    let book = await openPositionsOfSub(this.d.sql, traderIds, sub);
    const complete = busy.size === 0;
    const differing = complete ? this.differences(brokerPositions, book) : [];
    let confirmed: typeof differing = [];
    if (differing.length > 0) {
      // A fill report may be on its way: book what is in flight, then look again before calling it drift.
      await this.d.fills.drain();
      // The second look asks the broker itself, past any socket mirror.
      const again = await session.positions(subId, { fresh: true });
      book = await openPositionsOfSub(this.d.sql, traderIds, sub);
      if ((await tradersInFlight(this.d.sql, traderIds, since)).size > 0) return { found, complete: false };
      confirmed = this.differences(again, book);
    }
    for (const { contract: c, brokerNet, bookNet } of confirmed) {
      const holders = book.filter((p) => p.contract === c);
      const plan = bookCorrections(holders, brokerNet);
      if (plan.corrections.length > 0) {
        // The book holds what the broker does not: the book follows the broker (reported as drift).
        const spec = await this.spec(accountId, session, c);
        await this.d.kernel.correct(
          leg(plan.corrections[0]?.traderId ?? "", spec),
          "closed or changed outside the relay (found by reconciliation)",
          brokerNet,
        );
      }
      if (plan.ambiguous) {
        found.push(key(c, "position_mismatch", `${c}: ${plan.ambiguous}`, false));
      } else if (plan.unexplained !== 0 && bookNet === 0) {
        found.push(
          key(
            c,
            "unknown_position",
            `the broker shows ${describe(brokerNet)} in ${c} that no trader of this relay holds; left untouched`,
            false,
          ),
        );
      } else if (plan.unexplained !== 0) {
        found.push(
          key(
            c,
            "position_mismatch",
            `the broker shows ${describe(brokerNet)} in ${c}, the relay's traders hold ${describe(bookNet)}; the difference is not the relay's and is left untouched`,
            false,
          ),
        );
      }
    }
    if (confirmed.length > 0) book = await openPositionsOfSub(this.d.sql, traderIds, sub);

    // 3. Positions the broker confirms without (enough) exits get them back; 4. exits of positions that
    // are closed, or that cover more than the position holds, are cancelled.
    for (const t of traders) {
      if (busy.has(t.id)) continue;
      const recorder = this.d.directory.recorder(t.recorderId);
      if (!recorder) continue;
      const settings = effectiveSettings(recorder.settings, t.overrides);
      const mine = book.filter((p) => p.traderId === t.id);
      for (const p of mine) {
        const hasStop = settings.stopLossTicks > 0 || settings.stopLoss !== undefined;
        if (settings.takeProfit.length === 0 && !hasStop) continue;
        const spec = await this.spec(accountId, session, p.contract);
        const live = await liveOrders(
          this.d.sql,
          { traderId: t.id, brokerAccountId: sub, contract: p.contract },
          "exits",
        );
        const stops = live.filter((o) => o.leg.startsWith("sl")).reduce((s, o) => s + o.qty, 0);
        const limits = live.filter((o) => o.leg.startsWith("tp")).reduce((s, o) => s + o.qty, 0);
        const held = Math.abs(p.netQty);
        const covered =
          (!hasStop || stops >= held) &&
          (settings.takeProfit.length === 0 || limits > 0) &&
          stops <= held &&
          limits <= held;
        if (covered) continue;
        const ctx = leg(t.id, spec);
        const cancelled = await this.d.kernel.cancel(ctx, live, "replaced by reconciliation");
        if (cancelled.problems.length > 0) {
          found.push(
            key(
              p.contract,
              "missing_exit",
              `${describe(p.netQty)} in ${p.contract}: its exits could not be replaced (${cancelled.problems.join("; ")})`,
              false,
            ),
          );
          continue;
        }
        const n = await exitOrdersSince(
          this.d.sql,
          { traderId: t.id, brokerAccountId: sub, contract: p.contract },
          p.openedAt,
        );
        const seed = `rc:${t.id}:${p.contract}:${p.openedAt?.getTime() ?? 0}:${n}`;
        // The kernel places exits only for what the broker confirms (and corrects the book to it).
        // Issue 14: the trader's break-even / trailing rules come along (the stop manager keeps its level).
        const rules = resolveStopRules(settings, undefined, {});
        const protection = await this.d.kernel.protect(ctx, seed, t.id, {
          ...settingsExitSpec(settings),
          ...(managesStop(rules) ? { stops: rules } : {}),
        });
        const refused = protection.results.filter((r) => r.result.kind !== "accepted");
        const ok = refused.length === 0 && protection.problems.length === 0;
        if (protection.results.length === 0 && ok) continue; // the broker holds nothing to protect
        found.push(
          key(
            p.contract,
            "missing_exit",
            ok
              ? `${describe(p.netQty)} in ${p.contract} had no complete exits; placed again from the trader's settings for the position the broker shows`
              : `${describe(p.netQty)} in ${p.contract} is unprotected: ${[...protection.problems, ...refused.map((r) => `${r.leg} ${r.result.kind}`)].join("; ")}`,
            ok,
          ),
        );
      }
      const flatContracts = new Set(
        (await liveOrdersOfSub(this.d.sql, [t.id], sub))
          .filter((o) => /^(tp|sl)\d+$/.test(o.leg) && !mine.some((p) => p.contract === o.contract))
          .map((o) => o.contract),
      );
      for (const c of flatContracts) {
        const orphans = await liveOrders(
          this.d.sql,
          { traderId: t.id, brokerAccountId: sub, contract: c },
          "exits",
        );
        const spec = await this.spec(accountId, session, c);
        const report = await this.d.kernel.cancel(
          leg(t.id, spec),
          orphans,
          "cancelled by reconciliation: the position is closed",
        );
        found.push(
          key(
            c,
            "orphan_exit",
            report.problems.length
              ? `${orphans.length} exit order(s) left working in ${c} after the position closed; ${report.problems.join("; ")}`
              : `${orphans.length} exit order(s) left working in ${c} after the position closed; cancelled`,
            report.problems.length === 0,
          ),
        );
      }
    }
    return { found, complete };
  }

  /** Contracts where the broker's net position is not the sum of the traders' books. */
  private differences(
    brokerPositions: { contract: string; netPos: number }[],
    book: { contract: string; netQty: number }[],
  ): { contract: string; brokerNet: number; bookNet: number }[] {
    const contracts = new Set([
      ...book.map((p) => p.contract),
      ...brokerPositions.filter((p) => p.netPos !== 0).map((p) => p.contract),
    ]);
    return [...contracts].flatMap((contract) => {
      const brokerNet = brokerPositions.find((p) => p.contract === contract)?.netPos ?? 0;
      const bookNet = book.filter((p) => p.contract === contract).reduce((sum, p) => sum + p.netQty, 0);
      return brokerNet === bookNet ? [] : [{ contract, brokerNet, bookNet }];
    });
  }

  /** What became of our order, from the broker's record; returns a description when something changed. */
  private async settle(
    accountId: string,
    session: BrokerSession,
    sub: string,
    o: OrderRow,
  ): Promise<string | undefined> {
    const found: BrokerOrder | null = await session.findOrder(sub as never, o.clientOrderId as ClientOrderId);
    if (
      found?.status === "filled" &&
      (await this.d.fills.recordFromBroker(accountId, o.clientOrderId, o.contract, found))
    ) {
      await this.d.journal.mark({
        clientOrderId: o.clientOrderId,
        status: "filled",
        brokerOrderId: found.brokerOrderId,
      });
      return `${o.leg} ${o.side} ${o.qty} in ${o.contract} had filled at ${found.avgFillPrice} without our seeing it; booked`;
    }
    if (found && (found.status === "cancelled" || found.status === "rejected")) {
      await this.d.journal.mark({
        clientOrderId: o.clientOrderId,
        status: found.status,
        brokerOrderId: found.brokerOrderId,
      });
      return `${o.leg} in ${o.contract} was ${found.status} at the broker`;
    }
    if (found) {
      if (o.status !== "working")
        await this.d.journal.mark({
          clientOrderId: o.clientOrderId,
          status: "working",
          brokerOrderId: found.brokerOrderId,
        });
      return undefined;
    }
    if (!isOld(o, Date.now(), this.d.graceMs ?? 60_000)) return undefined;
    await this.d.journal.mark({
      clientOrderId: o.clientOrderId,
      status: "cancelled",
      reason: "the broker never received it",
    });
    return `${o.leg} in ${o.contract} never reached the broker`;
  }

  private async spec(accountId: string, session: BrokerSession, contract: string): Promise<ContractSpec> {
    return this.d.contracts.known(accountId, contract) ?? (await this.d.contracts.resolve(session, contract));
  }
}
