/**
 * Prop-firm rules per broker sub-account, streamed from the broker's events like the rest of the monitor:
 * cash events give the balance, position events and quotes the open P&L, order events the working orders.
 * The rules themselves are the pure functions of src/domain/prop-rules.ts.
 *
 * A broker reports a fill's cash and its position change as separate events, so for a moment after a fill
 * balance + open P&L can count the same dollars twice (or not at all). After any cash or position event a
 * sub-account is "unsettled": the floor does not trail and no rule fires until the broker's positions,
 * working orders and balance have been read back (one read per fill, never per quote). Quotes on a
 * settled sub-account are evaluated at once, on the quote itself.
 *
 * A breach closes the entry gate synchronously, is announced like a loss-limit breach, stored in
 * `prop_breaches` and acted on: pause (nothing more), flatten or fail (the monitor's flatten machinery on
 * that sub-account; fail also disables its traders until they are re-enabled by hand).
 */
import type { BrokerAccountInfo, BrokerEvent, BrokerSession } from "../brokers/port";
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import { add, type Dec, neg } from "../domain/decimal";
import type { GateQuery } from "../domain/gate";
import { asBrokerAccountId } from "../domain/ids";
import {
  type ContractExposure,
  dailyLossBreached,
  drawdownBreached,
  initialTrail,
  maxContractsRefusal,
  type PropRules,
  profitTargetHit,
  raiseHigh,
  type TrailState,
} from "../domain/prop-rules";
import { entryFor, type PropRulesInput, resolvePropRules, trailBasis } from "../domain/prop-settings";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import type { SessionPool } from "../sessions/pool";
import type { FlattenContext } from "./flatten-context";
import type { Market } from "./market";
import type { PnlBook } from "./pnl-book";
import { PropBreaches, subKey } from "./prop-breaches";
import { WorkingOrders } from "./prop-orders";
import { loadPropBreaches, loadPropRules, loadTrails, saveTrail, type TrailRow } from "./prop-repo";
import { type PropSubView, propSubView } from "./prop-view";

export interface PropWatchDeps {
  sql: Sql;
  log: Logger;
  bus: EventBus;
  directory: Directory;
  pool: SessionPool;
  book: PnlBook;
  market: Market;
  ctx: FlattenContext;
  now: () => Date;
  dayOf(accountId: string): string;
  subAccountsOf(accountId: string): string[];
  retryDelaysMs?: number[];
  /** Pause after a fill's first event before reading the sub-account back, so one read sees the whole fill. */
  settleMs?: number;
}

/** One sub-account under prop rules. */
export interface Sub {
  accountId: string;
  brokerAccountId: string;
  key: string;
  balance?: Dec;
  basis: string;
  trail?: TrailState;
  /** The trading day the trail last saw: a new one is the roll an eod trail moves at. */
  trailDay?: string;
  /** Bumped by every cash or position event; settled when the broker read back at this generation. */
  gen: number;
  settledGen: number;
  confirming: boolean;
  /** A read-back is scheduled. */
  pending?: NodeJS.Timeout;
  /** After a failed read, the next housekeeping retry waits until then (ms). */
  retryAt?: number;
  saving: boolean;
  saveAgain: boolean;
}

export type { PropSubView };

export class PropWatch {
  private lists = new Map<string, PropRulesInput[]>();
  private readonly resolved = new Map<string, PropRules | null>();
  private readonly subs = new Map<string, Sub>();
  private readonly storedTrails = new Map<string, TrailRow>();
  private readonly working = new WorkingOrders();
  /** Cash and position events counted (all sub-accounts), and the login balance reads in flight. */
  private bumps = 0;
  private readonly accountReads = new Map<
    string,
    { read: Promise<BrokerAccountInfo[]>; startedAt: number }
  >();
  readonly breaches: PropBreaches;
  private started = false;

  constructor(private readonly d: PropWatchDeps) {
    this.breaches = new PropBreaches(d);
  }

  async start(sinceDay: string): Promise<void> {
    const [lists, trails, rows] = await Promise.all([
      loadPropRules(this.d.sql),
      loadTrails(this.d.sql),
      loadPropBreaches(this.d.sql, sinceDay),
    ]);
    this.lists = lists;
    for (const t of trails) this.storedTrails.set(subKey(t.accountId, t.brokerAccountId), t);
    for (const row of rows) if (row.tradingDay === this.d.dayOf(row.accountId)) this.breaches.restore(row);
    this.started = true;
    this.ensureSubs();
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const s of this.subs.values()) clearTimeout(s.pending);
    await this.breaches.stop();
  }

  async reload(): Promise<void> {
    this.lists = await loadPropRules(this.d.sql);
    this.resolved.clear();
    this.ensureSubs();
    this.evaluateAll();
  }

  /** The rules a sub-account runs under (undefined: none). */
  rulesOf(accountId: string, brokerAccountId: string): PropRules | undefined {
    const key = subKey(accountId, brokerAccountId);
    if (!this.resolved.has(key)) {
      const entry = entryFor(this.lists.get(accountId) ?? [], brokerAccountId);
      const r = entry ? resolvePropRules(entry) : undefined;
      this.resolved.set(key, r?.ok ? r.rules : null);
    }
    return this.resolved.get(key) ?? undefined;
  }

  hasRules(accountId: string): boolean {
    return (this.lists.get(accountId)?.length ?? 0) > 0;
  }

  // Events.

  onEvent(accountId: string, e: BrokerEvent): void {
    if (!this.started || !this.hasRules(accountId)) return;
    switch (e.type) {
      case "QuoteReceived":
        for (const s of this.subsOf(accountId)) this.evaluate(s);
        return;
      case "PositionChanged": {
        const s = this.sub(accountId, e.position.brokerAccountId);
        if (!s) return;
        this.bump(s);
        if (e.position.netPos !== 0) this.breaches.reopened(s);
        return;
      }
      case "CashChanged": {
        const s = this.sub(accountId, e.brokerAccountId);
        if (!s) return;
        if (e.balance !== undefined) s.balance = e.balance;
        this.bump(s);
        return;
      }
      case "OrderUpdated":
        this.working.onEvent(accountId, e.order);
        return;
      default:
        return;
    }
  }

  onSessionReady(accountId: string): void {
    if (!this.started) return;
    this.breaches.onSessionReady(accountId);
    for (const s of this.subsOf(accountId)) this.bump(s);
  }

  /** Day rolls, reads that did not settle, fails whose traders are not disabled yet. */
  tick(): void {
    if (!this.started) return;
    const t = Date.now();
    // With no read-back in flight there is nothing a newer order event must be protected from.
    if (![...this.subs.values()].some((s) => s.confirming)) this.working.prune();
    for (const s of this.subs.values())
      if (s.gen !== s.settledGen && !s.confirming && (s.retryAt ?? 0) <= t) void this.confirm(s);
    this.breaches.tick();
  }

  evaluateAll(): void {
    for (const s of this.subs.values()) this.evaluate(s);
  }

  // The gate.

  refusal(who: GateQuery): string | undefined {
    if (!this.hasRules(who.accountId)) return undefined;
    const sub = who.entry?.brokerAccountId ?? this.d.directory.trader(who.traderId)?.brokerAccountId;
    if (!sub) return undefined;
    const paused = this.breaches.refusal(who.accountId, sub);
    if (paused) return paused;
    const rules = this.rulesOf(who.accountId, sub);
    if (!rules?.maxContracts || !who.entry) return undefined;
    return maxContractsRefusal(rules.maxContracts, this.exposures(who.accountId, sub), who.entry);
  }

  /** Open and working contracts of a sub-account, per contract, as the broker reported them. */
  exposures(accountId: string, brokerAccountId: string): ContractExposure[] {
    return this.working.exposures(this.d.book.brokerHoldingsOf(accountId), accountId, brokerAccountId);
  }

  // What GET /api/loss-monitor shows.

  view(accountId: string): PropSubView[] {
    if (!this.hasRules(accountId)) return [];
    return this.subsOf(accountId).map((sub) => propSubView(this, this.d.book, this.d.dayOf(accountId), sub));
  }

  // Internals.

  /** A cash or position event: the figures are unsettled until one read-back after the fill's events. */
  private bump(s: Sub): void {
    s.gen++;
    this.bumps++;
    if (s.pending || s.confirming) return;
    s.pending = setTimeout(() => {
      s.pending = undefined;
      void this.confirm(s);
    }, this.d.settleMs ?? 100);
    s.pending.unref();
  }

  /**
   * The login's balances, one broker request shared by the sub-accounts reading back at the same time (a
   * fan-out fills a dozen of them at once), but never one that started before the asker's own events.
   */
  private balances(accountId: string, session: BrokerSession, since: number): Promise<BrokerAccountInfo[]> {
    const shared = this.accountReads.get(accountId);
    if (shared && shared.startedAt >= since) return shared.read;
    const read = session.brokerAccounts().finally(() => {
      if (this.accountReads.get(accountId)?.read === read) this.accountReads.delete(accountId);
    });
    this.accountReads.set(accountId, { read, startedAt: this.bumps });
    return read;
  }

  private subsOf(accountId: string): Sub[] {
    return [...this.subs.values()].filter((s) => s.accountId === accountId);
  }

  /** The sub-account's state, created when it has rules. */
  private sub(accountId: string, brokerAccountId: string): Sub | undefined {
    const key = subKey(accountId, brokerAccountId);
    let s = this.subs.get(key);
    if (s) return s;
    if (!this.rulesOf(accountId, brokerAccountId)) return undefined;
    s = {
      accountId,
      brokerAccountId,
      key,
      basis: "",
      gen: 1,
      settledGen: 0,
      confirming: false,
      saving: false,
      saveAgain: false,
    };
    this.subs.set(key, s);
    void this.confirm(s);
    return s;
  }

  private ensureSubs(): void {
    for (const accountId of this.lists.keys())
      for (const brokerAccountId of this.d.subAccountsOf(accountId)) this.sub(accountId, brokerAccountId);
    for (const [key, s] of this.subs)
      if (!this.rulesOf(s.accountId, s.brokerAccountId)) this.subs.delete(key);
  }

  /**
   * Reads the sub-account back from the broker (positions, working orders, balance) until no event arrived
   * during the read; then the figures are consistent and the rules may act on them.
   */
  private async confirm(s: Sub): Promise<void> {
    if (s.confirming) return;
    s.confirming = true;
    try {
      for (let round = 0; round < 5 && s.gen !== s.settledGen; round++) {
        const gen = s.gen;
        const bumpsBefore = this.bumps;
        const ordersBefore = this.working.mark();
        const session = this.d.pool.peek(s.accountId);
        if (session?.status().state !== "ready") return;
        const id = asBrokerAccountId(s.brokerAccountId);
        const [positions, working, accounts] = await Promise.all([
          session.positions(id, { fresh: true }),
          session.workingOrders(id),
          this.balances(s.accountId, session, bumpsBefore),
        ]);
        const seen = new Set(positions.map((p) => p.contract));
        for (const h of this.d.book.brokerHoldingsOf(s.accountId))
          if (h.brokerAccountId === s.brokerAccountId && !seen.has(h.contract))
            this.d.book.setBrokerHolding({ ...h, netQty: 0 });
        for (const p of positions) {
          this.d.book.setBrokerHolding({
            accountId: s.accountId,
            brokerAccountId: s.brokerAccountId,
            contract: p.contract,
            netQty: p.netPos,
            ...(p.avgPrice !== undefined ? { avgPrice: p.avgPrice } : {}),
          });
          if (p.netPos !== 0) this.d.market.watch(s.accountId, p.contract);
        }
        this.working.replace(s.accountId, s.brokerAccountId, working, ordersBefore);
        const balance = accounts.find((a) => a.id === s.brokerAccountId)?.balance;
        if (balance !== undefined) s.balance = balance;
        if (s.gen === gen) s.settledGen = gen;
      }
    } catch (error) {
      s.retryAt = Date.now() + 2_000;
      this.d.log.warn(
        {
          event: "PropAccountNotRead",
          accountId: s.accountId,
          brokerAccountId: s.brokerAccountId,
          error: String(error),
        },
        "prop rules wait for the broker's figures",
      );
    } finally {
      s.confirming = false;
    }
    this.evaluate(s);
  }

  private trailOf(s: Sub, rules: PropRules): TrailState | undefined {
    const td = rules.trailingDrawdown;
    if (!td || !rules.startingBalance) return undefined;
    const basis = trailBasis(rules);
    if (s.trail && s.basis === basis) return s.trail;
    const stored = this.storedTrails.get(s.key);
    s.basis = basis;
    if (stored && stored.basis === basis) {
      s.trail = { highWater: stored.highWater, floor: stored.floor };
      s.trailDay = stored.tradingDay ?? this.d.dayOf(s.accountId);
    } else {
      s.trail = initialTrail(rules.startingBalance, td, rules.highWaterBalance ?? undefined);
      s.trailDay = this.d.dayOf(s.accountId);
      this.saveTrail(s);
    }
    return s.trail;
  }

  private evaluate(s: Sub): void {
    if (!this.started) return;
    const rules = this.rulesOf(s.accountId, s.brokerAccountId);
    if (!rules || s.gen !== s.settledGen) return;
    const day = this.d.dayOf(s.accountId);
    const f = this.d.book.subAccountPnl(s.accountId, s.brokerAccountId, day);
    if (!f.priced) return;
    const td = rules.trailingDrawdown;
    const start = rules.startingBalance;
    const trail = this.trailOf(s, rules);
    // The trailing drawdown needs the broker's balance; the day's P&L rules do not.
    if (td && start && trail && s.balance !== undefined) {
      const equity = add(s.balance, f.unrealized);
      let next = trail;
      // End of day: the balance the day closed with (the first settled figure after the roll).
      if (s.trailDay !== day) {
        if (td.mode === "eod") next = raiseHigh(next, equity, start, td);
        s.trailDay = day;
      }
      if (td.mode === "intraday") next = raiseHigh(next, equity, start, td);
      if (next !== trail || s.trailDay !== this.storedTrails.get(s.key)?.tradingDay) {
        s.trail = next;
        this.saveTrail(s);
      }
      if (drawdownBreached(equity, next.floor))
        this.breaches.detect(s, "trailingDrawdown", td.action, equity, next.floor);
    }
    const loss = rules.dailyLossLimit;
    if (loss && dailyLossBreached(f.total, loss.amount))
      this.breaches.detect(s, "dailyLossLimit", loss.action, f.total, neg(loss.amount));
    const target = rules.dailyProfitTarget;
    if (target && profitTargetHit(f.total, target.amount))
      this.breaches.detect(s, "dailyProfitTarget", target.action, f.total, target.amount);
  }

  /** Stores the floor, one write at a time per sub-account; the row only ever moves up. */
  private saveTrail(s: Sub): void {
    if (!s.trail) return;
    const row: TrailRow = {
      accountId: s.accountId,
      brokerAccountId: s.brokerAccountId,
      basis: s.basis,
      highWater: s.trail.highWater,
      floor: s.trail.floor,
      tradingDay: s.trailDay ?? null,
    };
    this.storedTrails.set(s.key, row);
    if (s.saving) {
      s.saveAgain = true;
      return;
    }
    s.saving = true;
    saveTrail(this.d.sql, row)
      .catch((error: unknown) =>
        this.d.log.error(
          {
            event: "PropFloorNotSaved",
            accountId: s.accountId,
            brokerAccountId: s.brokerAccountId,
            error: String(error),
          },
          "the floor is kept in memory; a restart would start from the last stored one",
        ),
      )
      .finally(() => {
        s.saving = false;
        if (s.saveAgain) {
          s.saveAgain = false;
          this.saveTrail(s);
        }
      });
  }
}
