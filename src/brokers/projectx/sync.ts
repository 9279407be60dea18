/**
 * REST state loads: the accounts, today's trades and open positions at start-up, and after every hub
 * reconnect a reconciliation of what the hub could not replay (orders changed since the drop, positions,
 * trades, balances, adapter OCO links). A failed reconciliation is retried while the hub stays up.
 */
import { dec } from "../../domain/decimal";
import { asBrokerAccountId } from "../../domain/ids";
import type { Logger } from "../../log";
import type { BrokerEvent } from "../port";
import type { ResolvedConfig } from "./config";
import type { EventRouter } from "./events";
import type { ProjectXHttp } from "./http";
import type { OcoLinks } from "./oco";
import { type OrderOps, ProjectXUnavailable } from "./orders";
import { tradingDayStart } from "./pnl";
import { type AccountWire, accountSearchReplySchema, tradesReplySchema } from "./wire";

export interface SyncDeps {
  http: ProjectXHttp;
  ops: OrderOps;
  router: EventRouter;
  oco: OcoLinks;
  config: ResolvedConfig;
  logger: Logger;
  emit: (event: BrokerEvent) => void;
  /** True while the user hub is connected (a failed resync is retried only then). */
  hubUp: () => boolean;
}

export class AccountSync {
  accounts: AccountWire[] = [];
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly deps: SyncDeps) {}

  async loadAccounts(): Promise<AccountWire[]> {
    const reply = await this.deps.http.post(
      "/api/Account/search",
      { onlyActiveAccounts: true },
      accountSearchReplySchema,
    );
    if (reply.kind !== "ok") {
      const why = reply.kind === "failed" ? (reply.errorMessage ?? `code ${reply.errorCode}`) : reply.reason;
      throw new ProjectXUnavailable(`ProjectX account search failed: ${why}`);
    }
    this.accounts = reply.body.accounts ?? [];
    for (const a of this.accounts)
      if (a.balance !== null && a.balance !== undefined) this.deps.router.setBalance(a.id, dec(a.balance));
    return this.accounts;
  }

  /** Start-up: today's trades (counted for P&L, not re-announced) and the open positions. */
  async loadDay(): Promise<void> {
    for (const a of this.accounts) {
      for (const t of await this.trades(a.id)) this.deps.router.trade(t, false);
      for (const p of await this.deps.ops.positions(a.id)) this.deps.router.position(p);
    }
  }

  /** After a hub reconnect: replays from REST what changed since `since` (ms). */
  async resync(since: number): Promise<void> {
    const { router, ops, oco, config } = this.deps;
    try {
      await this.loadAccounts();
      for (const a of this.accounts) {
        const account = asBrokerAccountId(String(a.id));
        const orders = await ops.search(a.id, Date.now() - config.orderLookbackMs);
        for (const o of orders) {
          const updated = Date.parse(o.updateTimestamp ?? o.creationTimestamp ?? "");
          if (!Number.isFinite(updated) || updated >= since - 5_000) router.order(o);
        }
        await oco.reconcile(account, orders);
        const positions = await ops.positions(a.id);
        for (const p of positions) router.position(p);
        router.closeMissing(a.id, new Set(positions.map((p) => p.contractId)));
        for (const t of await this.trades(a.id)) router.trade(t, true);
        if (a.balance !== null && a.balance !== undefined)
          this.deps.emit({ type: "CashChanged", brokerAccountId: account, balance: dec(a.balance), raw: a });
      }
      this.deps.logger.info({ event: "SessionResynced", accounts: this.accounts.length });
    } catch (error) {
      this.deps.logger.warn(
        { event: "ResyncFailed", reason: String(error) },
        "ProjectX reconciliation failed",
      );
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => {
        if (this.deps.hubUp()) void this.resync(since);
      }, 2_000);
    }
  }

  /** While the hub is down, OCO links are checked over REST (fills are not streamed then). */
  async checkOco(): Promise<void> {
    const { oco, ops } = this.deps;
    if (this.stopped || this.deps.hubUp() || oco.size === 0) return;
    for (const account of oco.accounts()) {
      const orders = await ops.search(account, Date.now() - 86_400_000).catch(() => undefined);
      if (orders) await oco.reconcile(account, orders);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private async trades(accountId: number) {
    const since = new Date(tradingDayStart(Date.now(), this.deps.config.tradingDay)).toISOString();
    const body = { accountId, startTimestamp: since, endTimestamp: null };
    const reply = await this.deps.http.post("/api/Trade/search", body, tradesReplySchema);
    if (reply.kind !== "ok") throw new ProjectXUnavailable("ProjectX trade search failed");
    return reply.body.trades ?? [];
  }
}
