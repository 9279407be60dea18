/**
 * The loss monitor: live P&L per trader and per account from the brokers' own events, a breach the moment
 * realized + unrealized reaches -limit (on the quote that crosses it, not on the next signal), one
 * flatten per breach, and an entry gate that refuses new exposure for the rest of the trading day.
 *
 * Trader P&L: realized dollars booked from the trader's own fills (FillRecorder.onApplied, stored per
 * trading day) plus its booked positions marked to the last quote. Account P&L (accounts with a limit):
 * the broker's realized P&L of the day (CashChanged) plus the broker's positions (PositionChanged) marked
 * to the last quote.
 */
import type { BrokerEvent } from "../brokers/port";
import type { Config } from "../config";
import type { Sql } from "../db/client";
import type { AppliedFill } from "../db/orders";
import { listPositions } from "../db/positions";
import type { Directory } from "../directory";
import { toStr } from "../domain/decimal";
import type { EntryGate, GateQuery } from "../domain/gate";
import { type DayRule, previousDay } from "../domain/trading-day";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import type { FillRecorder } from "../orders/fills";
import type { Journal } from "../orders/journal";
import type { OrderKernel } from "../orders/kernel";
import type { SessionPool } from "../sessions/pool";
import { BreachJobs } from "./breach-jobs";
import { type Breach, breachReason, subjectKey } from "./breaches";
import { readBrokerPositions, subAccountsOf } from "./broker-view";
import { TradingDays } from "./days";
import { Emergency } from "./emergency";
import { Excursions } from "./excursions";
import type { AttemptResult, FlattenContext } from "./flatten-context";
import { flattenTrader } from "./flatten-trader";
import { KillSwitch } from "./kill-switch";
import { Market } from "./market";
import { PnlBook } from "./pnl-book";
import { PropWatch } from "./prop-watch";
import {
  type AccountLossSettings,
  addTraderRealized,
  loadAccountLossSettings,
  loadBreaches,
  loadTraderDays,
  saveTraderPeak,
} from "./repo";
import { cancelUnowned, retireTrader } from "./retire";
import { emitDailySummary } from "./summary";

export interface LossMonitorDeps {
  sql: Sql;
  logger: Logger;
  bus: EventBus;
  pool: SessionPool;
  directory: Directory;
  fills: FillRecorder;
  config: Config;
  /** The relay's order journal. */
  journal: Journal;
  /** The order kernel every order path shares (one cancel, one close, one lock per contract). */
  kernel: OrderKernel;
  now?: () => Date;
  /** Pauses between flatten attempts; their count is the attempts per round. */
  retryDelaysMs?: number[];
  /** Bounded wait for the broker to read flat after a liquidation (default 5 s). */
  verifyMs?: number;
  /** Bounded wait for a close's fill report (default FILL_WAIT_MS). */
  fillWaitMs?: number;
  settleDelaysMs?: number[];
  /** Day-roll and housekeeping check interval (default 1 s). */
  tickMs?: number;
  /** Least time between two writes of one open trade's quote extremes (default 2 s). */
  excursionWriteMs?: number;
  /** Whether this relay holds the account's session (issue 16): only the holder flattens it. */
  owns?: (accountId: string) => boolean;
}

export class LossMonitor {
  readonly book: PnlBook;
  readonly market: Market;
  readonly kill: KillSwitch;
  readonly emergency: Emergency;
  readonly breaches = new Map<string, Breach>();
  /** Entry gate for `relay.entryGates`: kill switch, trader breach, account breach. */
  readonly gate: EntryGate;
  /** Prop-firm rules per broker sub-account (prop-watch.ts). */
  readonly prop: PropWatch;
  /** Quote extremes of open trades, for MFE / MAE (excursions.ts). */
  readonly excursions: Excursions;
  private settings = new Map<string, AccountLossSettings>();
  private readonly days: TradingDays;
  private readonly jobs: BreachJobs;
  private readonly ctx: FlattenContext;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private readonly peakDirty = new Set<string>();
  /** Accounts whose crossing is being confirmed with the broker. */
  private readonly confirming = new Set<string>();
  private started = false;

  constructor(private readonly deps: LossMonitorDeps) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.logger.child({ component: "loss-monitor" });
    this.market = new Market(deps.pool, this.log, this.now);
    this.book = new PnlBook((accountId, contract) => this.market.known(accountId, contract));
    this.kill = new KillSwitch(deps.sql, deps.bus, this.now);
    this.days = new TradingDays(
      { roll: deps.config.TRADING_DAY_ROLL, timeZone: deps.config.TRADING_DAY_TIME_ZONE },
      () => this.settings,
      this.now,
    );
    this.ctx = {
      sql: deps.sql,
      logger: this.log,
      pool: deps.pool,
      fills: deps.fills,
      journal: deps.journal,
      kernel: deps.kernel,
      spec: (accountId, contract) => this.market.spec(accountId, contract),
      lastPrice: (accountId, contract) => this.book.lastPrice(accountId, contract),
      now: this.now,
      fillWaitMs: deps.fillWaitMs ?? deps.config.FILL_WAIT_MS,
      verifyMs: deps.verifyMs ?? 5_000,
      ...(deps.settleDelaysMs ? { settleDelaysMs: deps.settleDelaysMs } : {}),
    };
    const retry = deps.retryDelaysMs ? { retryDelaysMs: deps.retryDelaysMs } : {};
    this.jobs = new BreachJobs({
      sql: deps.sql,
      log: this.log,
      bus: deps.bus,
      directory: deps.directory,
      ctx: this.ctx,
      now: this.now,
      timeZoneOf: (accountId) => this.days.ruleOf(accountId).timeZone,
      subAccountsOf: (accountId) => this.subAccountsOf(accountId),
      ...retry,
    });
    this.emergency = new Emergency({
      ctx: this.ctx,
      kill: this.kill,
      directory: deps.directory,
      logger: this.log,
      subAccountsOf: (accountId) => this.subAccountsOf(accountId),
      accountsHolding: () => this.book.accountsHolding(),
      ...(deps.owns ? { owns: deps.owns } : {}),
      ...retry,
    });
    this.prop = new PropWatch({
      sql: deps.sql,
      log: this.log,
      bus: deps.bus,
      directory: deps.directory,
      pool: deps.pool,
      book: this.book,
      market: this.market,
      ctx: this.ctx,
      now: this.now,
      dayOf: (accountId) => this.dayOf(accountId),
      subAccountsOf: (accountId) => this.subAccountsOf(accountId),
      ...retry,
    });
    this.gate = (who) => this.refusal(who) ?? this.prop.refusal(who);
    this.excursions = new Excursions(deps.sql, this.log, () => this.now().getTime(), deps.excursionWriteMs);
  }

  /** Loads today's figures, breaches and the kill switch, then follows the brokers' events. */
  async start(): Promise<void> {
    const { sql, pool, fills, directory } = this.deps;
    this.settings = await loadAccountLossSettings(sql);
    await this.kill.load();
    this.unsubscribe.push(
      pool.onEvent((accountId, event) => this.onBrokerEvent(accountId, event)),
      fills.onApplied((accountId, applied) => this.onApplied(accountId, applied)),
      directory.onChange(() => void this.reloadSettings()),
    );
    const since = previousDay(previousDay(this.days.dayFor(this.defaultRule())));
    for (const row of await loadTraderDays(sql, since)) {
      const t = directory.trader(row.traderId);
      if (t && row.tradingDay === this.dayOf(t.accountId))
        this.book.loadTraderDay(
          row.traderId,
          row.tradingDay,
          row.realized,
          row.trades,
          row.peak ?? undefined,
        );
    }
    await this.excursions.load();
    for (const p of await listPositions(sql, { open: true })) {
      this.book.setTraderHolding(p);
      this.market.watch(p.accountId, p.contract);
    }
    for (const row of await loadBreaches(sql, previousDay(since))) {
      const accountId = (row.traderId && directory.trader(row.traderId)?.accountId) || row.accountId;
      if (row.tradingDay === this.dayOf(accountId)) this.jobs.restore(row, accountId, this.breaches);
    }
    this.days.rolled(this.accountIds());
    await this.prop.start(previousDay(since));
    this.started = true;
    for (const [accountId, s] of this.settings) if (s.maxDailyLoss) void this.refreshBroker(accountId);
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs ?? 1_000);
    this.timer.unref();
    this.evaluateAll();
    this.emergency.resumePending();
    // Another relay used the kill switch: entries stop here at once, and this relay flattens its accounts.
    const { unlisten } = await sql.listen("relay_kill", () => void this.reloadKill());
    this.unsubscribe.push(() => void unlisten().catch(() => undefined));
    this.log.info({ event: "LossMonitorStarted", breaches: this.breaches.size }, "loss monitor running");
  }

  /** A flatten of the account (a breach's, or the kill switch's) has not finished here. */
  flattening(accountId: string): boolean {
    for (const b of this.breaches.values())
      if (b.accountId === accountId && b.job.state !== "flat") return true;
    return this.emergency
      .report()
      .some((a) => a.accountId === accountId && a.state !== "flat" && a.state !== "on_another_relay");
  }

  /**
   * Accounts this relay just took over from another (issue 16): their open positions and today's figures
   * are read from the database, where the other relay booked them, so their losses are watched from here.
   */
  async adopt(accountIds: string[]): Promise<void> {
    if (!this.started || accountIds.length === 0) return;
    const { sql, directory } = this.deps;
    const adopted = new Set(accountIds);
    const traders = new Set(
      directory
        .allTraders()
        .filter((t) => adopted.has(t.accountId))
        .map((t) => t.id as string),
    );
    for (const row of await loadTraderDays(sql, previousDay(this.days.dayFor(this.defaultRule())))) {
      const t = directory.trader(row.traderId);
      if (t && traders.has(row.traderId) && row.tradingDay === this.dayOf(t.accountId))
        this.book.loadTraderDay(
          row.traderId,
          row.tradingDay,
          row.realized,
          row.trades,
          row.peak ?? undefined,
        );
    }
    // Closed rows too: a holding this relay knew from an earlier turn may have been closed elsewhere.
    for (const p of await listPositions(sql)) {
      if (!adopted.has(p.accountId)) continue;
      this.book.setTraderHolding(p);
      if (p.netQty !== 0) this.market.watch(p.accountId, p.contract);
    }
    for (const accountId of accountIds) this.evaluateAccount(accountId);
    for (const traderId of traders) this.evaluateTrader(traderId);
    // A kill-switch flatten still open for accounts the dead relay held is finished here.
    this.emergency.resumePending();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    await Promise.all([...this.breaches.values()].map((b) => b.job.stop()));
    await this.prop.stop();
    await this.emergency.stopJobs();
    await this.excursions.flush(true);
  }

  /** The account's limit and roll override (undefined: none stored). */
  /** Session flatten (issue 14): one attempt at a trader's positions and orders, ids seeded by `seed`. */
  flattenTrader(traderId: string, seed: string, reason: string): Promise<AttemptResult> {
    return flattenTrader(this.ctx, traderId, seed, reason);
  }

  /** Closes a trader's positions and cancels its orders before it is deleted. */
  retireTrader(traderId: string): Promise<AttemptResult> {
    return retireTrader(this.ctx, traderId);
  }

  /** Cancels orders of ours on a login that belong to none of `keep`; returns what could not be. */
  cancelUnowned(accountId: string, keep: string[]): Promise<string[]> {
    return cancelUnowned(this.ctx, accountId, keep);
  }

  accountSettings(accountId: string): AccountLossSettings | undefined {
    return this.settings.get(accountId);
  }

  get directory(): Directory {
    return this.deps.directory;
  }

  ruleOf(accountId: string): DayRule {
    return this.days.ruleOf(accountId);
  }

  /** The account's current trading day. */
  dayOf(accountId: string): string {
    return this.days.dayOf(accountId);
  }

  subAccountsOf(accountId: string): string[] {
    return subAccountsOf(this.deps.directory, this.book, accountId);
  }

  private defaultRule(): DayRule {
    return { roll: this.deps.config.TRADING_DAY_ROLL, timeZone: this.deps.config.TRADING_DAY_TIME_ZONE };
  }

  private accountIds(): string[] {
    return this.deps.directory.allAccounts().map((a) => a.id as string);
  }

  private refusal(who: GateQuery): string | undefined {
    const k = this.kill.current;
    if (k.stopped) {
      const since = k.since ? ` since ${k.since}` : "";
      return `kill switch: new entries stopped${since}${k.actor ? ` by ${k.actor}` : ""}${k.reason ? ` (${k.reason})` : ""}`;
    }
    const day = this.dayOf(who.accountId);
    const t = this.breaches.get(subjectKey("trader", who.traderId));
    if (t && t.tradingDay === day) return breachReason(t);
    const a = this.breaches.get(subjectKey("account", who.accountId));
    if (a && a.tradingDay === day) return breachReason(a);
    return undefined;
  }

  // Broker events and fills.

  private onBrokerEvent(accountId: string, e: BrokerEvent): void {
    if (!this.started) return;
    this.onAccountEvent(accountId, e);
    // After the book has the event: prop rules read the same prices and positions.
    this.prop.onEvent(accountId, e);
  }

  private onAccountEvent(accountId: string, e: BrokerEvent): void {
    switch (e.type) {
      case "QuoteReceived":
        this.book.setPrice(accountId, e.contract, e.last, e.at);
        this.excursions.onQuote(accountId, e.contract, e.last, e.at);
        for (const traderId of this.book.tradersQuoted(accountId, e.contract)) this.evaluateTrader(traderId);
        if (this.settings.get(accountId)?.maxDailyLoss) this.evaluateAccount(accountId);
        return;
      case "PositionChanged":
        this.book.setBrokerHolding({
          accountId,
          brokerAccountId: e.position.brokerAccountId,
          contract: e.position.contract,
          netQty: e.position.netPos,
          ...(e.position.avgPrice !== undefined ? { avgPrice: e.position.avgPrice } : {}),
        });
        if (e.position.netPos !== 0) this.market.watch(accountId, e.position.contract);
        this.evaluateAccount(accountId);
        return;
      case "CashChanged":
        if (e.realizedPnl === undefined) return;
        this.book.setBrokerRealized(accountId, e.brokerAccountId, this.dayOf(accountId), e.realizedPnl);
        this.evaluateAccount(accountId);
        return;
      case "SessionChanged":
        if (e.status.state === "ready") this.onSessionReady(accountId);
        return;
      default:
        return;
    }
  }

  private onApplied(accountId: string, applied: AppliedFill): void {
    const o = applied.order;
    if (!this.started || !o.traderId) return;
    void this.excursions.onApplied(accountId, applied);
    const traderId = o.traderId;
    const day = this.dayOf(accountId);
    const { netQty, avgPrice } = applied.position;
    this.book.setTraderHolding({
      traderId,
      accountId,
      brokerAccountId: o.brokerAccountId,
      contract: o.contract,
      netQty,
      ...(avgPrice !== undefined ? { avgPrice } : {}),
    });
    if (applied.realized !== 0n) {
      this.book.addRealized(traderId, day, applied.realized, 1);
      addTraderRealized(this.deps.sql, traderId, day, applied.realized, 1).catch((error: unknown) =>
        this.log.error(
          { event: "RealizedNotSaved", traderId, realized: toStr(applied.realized), error: String(error) },
          "could not store the trader's realized P&L; a restart would lose it",
        ),
      );
    }
    if (netQty !== 0) this.market.watch(accountId, o.contract);
    this.evaluateTrader(traderId);
    const b = this.breaches.get(subjectKey("trader", traderId));
    if (b && b.tradingDay === day && b.job.state === "flat" && netQty !== 0) {
      this.log.warn(
        { event: "PositionReopenedAfterBreach", traderId, contract: o.contract },
        "flattening again",
      );
      b.job.kick("reopened");
    }
  }

  private onSessionReady(accountId: string): void {
    this.market.refresh(accountId);
    for (const b of this.breaches.values())
      if (b.accountId === accountId && (b.job.state === "waiting" || b.job.state === "stuck"))
        b.job.kick("sessionReady");
    this.emergency.onSessionReady(accountId);
    this.prop.onSessionReady(accountId);
    if (this.settings.get(accountId)?.maxDailyLoss) void this.refreshBroker(accountId);
  }

  /** Reads the broker's positions of an account with a limit, then evaluates it. */
  private async refreshBroker(accountId: string, confirming = false): Promise<void> {
    const d = { pool: this.deps.pool, book: this.book, market: this.market, directory: this.deps.directory };
    await readBrokerPositions({ ...d, log: this.log }, accountId);
    // Unreadable (session down): the event figures are all there is.
    this.evaluateAccount(accountId, confirming);
  }

  private async reloadSettings(): Promise<void> {
    try {
      this.settings = await loadAccountLossSettings(this.deps.sql);
      await this.prop.reload();
      // Before start has loaded today's breaches, evaluating could breach a trader a second time.
      if (this.started) this.evaluateAll();
    } catch (error) {
      this.log.warn({ event: "LossSettingsNotLoaded", error: String(error) }, "kept the previous limits");
    }
  }

  // Evaluation.

  private evaluateAll(): void {
    for (const t of this.deps.directory.allTraders()) this.evaluateTrader(t.id);
    for (const [accountId, s] of this.settings) if (s.maxDailyLoss) this.evaluateAccount(accountId);
    this.prop.evaluateAll();
  }

  private evaluateTrader(traderId: string): void {
    if (!this.started) return;
    const trader = this.deps.directory.trader(traderId);
    if (!trader) return;
    const day = this.dayOf(trader.accountId);
    const f = this.book.traderPnl(traderId, day);
    if (this.book.tracePeak("trader", traderId, day, f.total)) this.peakDirty.add(traderId);
    const limit = trader.maxDailyLoss;
    if (!limit || f.total > -limit) return;
    const existing = this.breaches.get(subjectKey("trader", traderId));
    if (existing && existing.tradingDay === day) return;
    const accountId = trader.accountId;
    this.jobs.detect(
      { scope: "trader", traderId, accountId, tradingDay: day, limit, pnl: f.total },
      this.breaches,
    );
  }

  /**
   * A broker reports realized P&L and positions in separate events: for a moment after a close the
   * realized loss can be counted while the closed position still shows open. So a crossing is confirmed
   * with the broker's current positions before the account is declared breached.
   */
  private evaluateAccount(accountId: string, confirmed = false): void {
    if (!this.started) return;
    const limit = this.settings.get(accountId)?.maxDailyLoss;
    const day = this.dayOf(accountId);
    const f = this.book.accountPnl(accountId, day);
    if (!limit || f.total > -limit) {
      this.book.tracePeak("account", accountId, day, f.total);
      return;
    }
    const existing = this.breaches.get(subjectKey("account", accountId));
    if (existing && existing.tradingDay === day) return;
    if (!confirmed) {
      if (this.confirming.has(accountId)) return;
      this.confirming.add(accountId);
      void this.refreshBroker(accountId, true).finally(() => this.confirming.delete(accountId));
      return;
    }
    const x = { scope: "account" as const, traderId: null, accountId, tradingDay: day, limit, pnl: f.total };
    this.jobs.detect(x, this.breaches);
  }

  // Housekeeping: trading-day rolls, peaks, the kill switch of other relays.

  /** Checks day boundaries (tests with an injected clock call it directly). */
  async tick(): Promise<void> {
    if (!this.started) return;
    this.ticks++;
    const rolled = this.days.rolled(this.accountIds());
    for (const { rule, endedDay } of rolled) {
      const d = { sql: this.deps.sql, bus: this.deps.bus, directory: this.deps.directory, log: this.log };
      await emitDailySummary({ ...d, days: this.days, now: this.now }, rule, endedDay).catch(
        (error: unknown) =>
          this.log.error({ event: "DailySummaryFailed", endedDay, error: String(error) }, "no daily summary"),
      );
    }
    if (rolled.length > 0) this.evaluateAll();
    this.prop.tick();
    await this.excursions.flush();
    for (const traderId of [...this.peakDirty]) {
      this.peakDirty.delete(traderId);
      const t = this.deps.directory.trader(traderId);
      const day = t ? this.dayOf(t.accountId) : undefined;
      const peak = day ? this.book.peak("trader", traderId, day) : undefined;
      if (day && peak !== undefined)
        await saveTraderPeak(this.deps.sql, traderId, day, peak).catch((error: unknown) =>
          this.log.warn({ event: "PeakNotSaved", traderId, error: String(error) }, "peak kept in memory"),
        );
    }
    // Another relay on this database may have used the kill switch (a missed NOTIFY is caught here).
    if (this.ticks % 5 === 0) await this.reloadKill();
  }

  private async reloadKill(): Promise<void> {
    try {
      await this.kill.load();
      if (this.started) this.emergency.resumePending();
    } catch (error) {
      this.log.warn({ event: "KillSwitchNotReloaded", error: String(error) }, "kept the known state");
    }
  }
}
