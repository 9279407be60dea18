/**
 * In-memory directory of recorders, traders and accounts: a cache of Postgres, rebuilt from it at start,
 * refreshed when any relay changes configuration (LISTEN relay_config) and every 30 s as a safety net.
 * The webhook path looks tokens up here, so intake costs no extra query.
 */
import { type AccountRow, listAccounts } from "./db/accounts";
import type { Sql } from "./db/client";
import { listRecorders, type RecorderRow } from "./db/recorders";
import { listTraders, type TraderRow } from "./db/traders";
import type { Logger } from "./log";

export class Directory {
  private byToken = new Map<string, RecorderRow>();
  private recorders = new Map<string, RecorderRow>();
  private traders = new Map<string, TraderRow>();
  private byRecorder = new Map<string, TraderRow[]>();
  private accounts = new Map<string, AccountRow>();
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private loading: Promise<void> | undefined;
  private again = false;
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    const { unlisten } = await this.sql.listen("relay_config", () => void this.refresh());
    this.unlisten = unlisten;
    this.timer = setInterval(() => void this.refresh(), 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.().catch(() => undefined);
  }

  /** Reloads everything; concurrent calls coalesce into at most one extra reload. */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          const [recorders, traders, accounts] = await Promise.all([
            listRecorders(this.sql),
            listTraders(this.sql),
            listAccounts(this.sql),
          ]);
          this.recorders = new Map(recorders.map((r) => [r.id, r]));
          this.byToken = new Map(recorders.map((r) => [r.webhookToken, r]));
          this.traders = new Map(traders.map((t) => [t.id, t]));
          const byRecorder = new Map<string, TraderRow[]>();
          for (const t of traders) {
            const list = byRecorder.get(t.recorderId);
            if (list) list.push(t);
            else byRecorder.set(t.recorderId, [t]);
          }
          this.byRecorder = byRecorder;
          this.accounts = new Map(accounts.map((a) => [a.id, a]));
        } catch (error) {
          this.logger.warn(
            { event: "DirectoryRefreshFailed", error: String(error) },
            "could not refresh configuration",
          );
        }
      } while (this.again);
      for (const l of this.changeListeners) l();
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  recorderByToken(token: string): RecorderRow | undefined {
    return this.byToken.get(token);
  }

  recorder(id: string): RecorderRow | undefined {
    return this.recorders.get(id);
  }

  trader(id: string): TraderRow | undefined {
    return this.traders.get(id);
  }

  account(id: string): AccountRow | undefined {
    return this.accounts.get(id);
  }

  allRecorders(): RecorderRow[] {
    return [...this.recorders.values()];
  }

  /** The recorder's traders (enabled or not), without scanning every trader: the webhook path asks. */
  tradersOf(recorderId: string): readonly TraderRow[] {
    return this.byRecorder.get(recorderId) ?? [];
  }

  allTraders(): TraderRow[] {
    return [...this.traders.values()];
  }

  allAccounts(): AccountRow[] {
    return [...this.accounts.values()];
  }

  /** Accounts with at least one enabled trader: the sessions to keep warm. */
  accountsInUse(): AccountRow[] {
    const ids = new Set(
      [...this.traders.values()].filter((t) => t.enabled).map((t) => t.accountId as string),
    );
    return [...ids].map((id) => this.accounts.get(id)).filter((a): a is AccountRow => a !== undefined);
  }
}
