/**
 * One broker session per account (login), shared by every trader on it, started ahead of the first order
 * (pre-warmed) for every account an enabled trader uses.
 *
 * A start the broker refused (the session says `error`: bad password, captcha) is kept with its reason
 * and retried only on the next use after a pause, so a bad password never turns into a login storm. A
 * start that failed because the broker could not be reached keeps its session, which goes on trying by
 * itself; the pool finishes the start as soon as the session says `ready`, and for accounts in use also
 * tries again in the background (1 s doubling, at most 30 s apart), so it comes back with nobody asking.
 */
import { backoffDelay } from "../brokers/backoff";
import type {
  BrokerEvent,
  BrokerFactory,
  BrokerKind,
  BrokerSession,
  Credentials,
  SessionStatus,
} from "../brokers/port";
import { type AccountRow, credentialsOf, setAccountStatus } from "../db/accounts";
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import type { AccountId } from "../domain/ids";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import type { CredentialSealer } from "../secrets/sealer";

type EventListener = (accountId: string, event: BrokerEvent) => void;

interface Entry {
  session: BrokerSession;
  starting: Promise<void>;
  failedAt?: number;
  error?: string;
  /** The broker refused the login itself: never retried in the background. */
  refused?: boolean;
  /** Background retries of a start the broker's absence failed. */
  retry?: NodeJS.Timeout;
  retries: number;
  /** A retry running now (the session said `ready`, or the timer fired). */
  retrying?: Promise<void>;
  unsubscribe: () => void;
  /** When the session stopped being ready, for the "restored after" figure. */
  lostAt?: number;
  /** Only a session that was ready can be lost. */
  wasReady?: boolean;
}

/** A refused start is tried again on the next use after this pause, never sooner. */
const RETRY_AFTER_MS = 30_000;
/** Background retries of an unreachable broker: 1 s, doubling, at most 30 s apart (backoff.ts). */
const BACKGROUND_RETRY_STEPS = [1_000];

export interface SessionInfo {
  accountId: string;
  name: string;
  broker: BrokerKind;
  environment: string;
  status: SessionStatus;
}

/** Which accounts this relay may hold a session for (issue 16: account ownership across relays). */
export interface SessionOwnership {
  owns(accountId: string): boolean;
  /** Claims an account nobody holds; throws (NotOwner) when another relay holds it. */
  ensure(accountId: string): Promise<void>;
}

export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  private ownership: SessionOwnership | undefined;
  private readonly creating = new Map<string, Promise<Entry>>();
  private readonly listeners = new Set<EventListener>();
  private readonly factories = new Map<BrokerKind, BrokerFactory>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly sealer: CredentialSealer,
    private readonly directory: Directory,
    factories: BrokerFactory[],
    private readonly bus?: EventBus,
  ) {
    for (const f of factories) for (const k of f.kinds) this.factories.set(k, f);
  }

  /** From now on, a session is opened only for an account this relay holds. */
  useOwnership(ownership: SessionOwnership): void {
    this.ownership = ownership;
  }

  factory(kind: BrokerKind): BrokerFactory | undefined {
    return this.factories.get(kind);
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  peek(accountId: string): BrokerSession | undefined {
    return this.entries.get(accountId)?.session;
  }

  /** The account's started session; starts it (cold) if it was not pre-warmed. */
  async session(accountId: string): Promise<BrokerSession> {
    let entry = this.entries.get(accountId);
    // A session retrying in the background is kept: a new one would only start the same retries over.
    if (
      entry?.failedAt !== undefined &&
      entry.retry === undefined &&
      entry.retrying === undefined &&
      Date.now() - entry.failedAt > RETRY_AFTER_MS
    ) {
      await this.remove(accountId);
      entry = undefined;
    }
    if (!entry) {
      // Concurrent first uses share one creation, so one login never becomes two sessions.
      let creating = this.creating.get(accountId);
      if (!creating) {
        // One login, one session across relays: only the relay holding the account logs in.
        if (this.ownership) await this.ownership.ensure(accountId);
        creating = this.creating.get(accountId);
      }
      if (!creating) {
        creating = this.create(accountId).finally(() => this.creating.delete(accountId));
        this.creating.set(accountId, creating);
      }
      entry = await creating;
    }
    await entry.starting;
    if (entry.error !== undefined) throw new Error(entry.error);
    return entry.session;
  }

  /**
   * Starts sessions for these accounts in parallel; failures are recorded on the account, not thrown. A
   * start that found the broker unreachable goes on in the background until the session is up.
   */
  async warm(accountIds: string[]): Promise<void> {
    await Promise.all(
      accountIds.map((id) =>
        this.session(id).catch(() => {
          const entry = this.entries.get(id);
          if (entry) this.retryLater(id, entry, true);
        }),
      ),
    );
  }

  /** Pre-warms every account an enabled trader uses (of those this relay holds). */
  warmInUse(): Promise<void> {
    const mine = this.directory
      .accountsInUse()
      .map((a) => a.id as string)
      .filter((id) => !this.ownership || this.ownership.owns(id));
    return this.warm(mine);
  }

  /** Accounts in use that this relay holds but has no session for (a trader added on another relay). */
  warmMissing(): Promise<void> {
    const missing = this.directory
      .accountsInUse()
      .map((a) => a.id as string)
      .filter((id) => !this.entries.has(id) && !this.creating.has(id) && this.ownership?.owns(id) !== false);
    return this.warm(missing);
  }

  /** Pre-warms those of these accounts an enabled trader uses (accounts this relay just took over). */
  warmIfInUse(accountIds: string[]): Promise<void> {
    const inUse = new Set(this.directory.accountsInUse().map((a) => a.id as string));
    return this.warm(accountIds.filter((id) => inUse.has(id)));
  }

  /** After credentials or environment change: log in again. */
  async restart(accountId: string): Promise<void> {
    await this.remove(accountId);
    if (this.directory.accountsInUse().some((a) => a.id === accountId)) await this.warm([accountId]);
  }

  async remove(accountId: string): Promise<void> {
    const entry = this.entries.get(accountId);
    if (!entry) return;
    this.entries.delete(accountId);
    if (entry.retry) clearTimeout(entry.retry);
    entry.retry = undefined;
    entry.unsubscribe();
    await entry.session.stop().catch(() => undefined);
  }

  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const [accountId, entry] of this.entries) {
      const account = this.directory.account(accountId);
      const status = entry.session.status();
      out.push({
        accountId,
        name: account?.name ?? "(removed)",
        broker: entry.session.kind,
        environment: account?.environment ?? "demo",
        status: entry.error ? { ...status, state: "error", error: entry.error } : status,
      });
    }
    return out;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.remove(id)));
  }

  private async create(accountId: string): Promise<Entry> {
    const account = this.directory.account(accountId);
    if (!account) throw new Error("the account was removed");
    const factory = this.factories.get(account.broker);
    if (!factory) throw new Error(`broker "${account.broker}" is not available in this relay`);
    const credentials = await this.credentials(account);
    const session = factory.create({
      accountId: account.id as AccountId,
      name: account.name,
      kind: account.broker,
      environment: account.environment,
      credentials,
    });
    const unsubscribe = session.on((event) => {
      if (event.type === "SessionChanged") this.sessionChanged(accountId, event.status);
      for (const l of this.listeners) {
        try {
          l(accountId, event);
        } catch (error) {
          this.logger.error(
            { event: "BrokerEventListenerFailed", accountId, error: String(error) },
            "listener failed",
          );
        }
      }
    });
    const entry: Entry = { session, unsubscribe, starting: Promise.resolve(), retries: 0 };
    this.entries.set(accountId, entry);
    entry.starting = this.start(account, entry);
    return entry;
  }

  private async start(account: AccountRow, entry: Entry): Promise<void> {
    const started = Date.now();
    try {
      await entry.session.start();
      await this.finishStart(account, entry, started);
    } catch (error) {
      await this.startFailed(account, entry, error);
    }
  }

  /** The part of a start the pool owns: the broker's sub-accounts onto the account row. */
  private async finishStart(account: AccountRow, entry: Entry, started: number): Promise<void> {
    const status = entry.session.status();
    if (status.state === "error") throw new Error(status.error ?? "the broker refused the login");
    const subs = await entry.session.brokerAccounts();
    await setAccountStatus(
      this.sql,
      account.id,
      "connected",
      null,
      subs.map((s) => ({ id: s.id, name: s.name })),
    );
    const retries = entry.retries;
    entry.failedAt = undefined;
    entry.error = undefined;
    entry.retries = 0;
    this.logger.info(
      {
        event: "SessionStarted",
        accountId: account.id,
        broker: account.broker,
        ms: Date.now() - started,
        ...(retries > 0 ? { retries } : {}),
      },
      "broker session ready",
    );
  }

  private async startFailed(account: AccountRow, entry: Entry, error: unknown, retry = true): Promise<void> {
    entry.failedAt = Date.now();
    entry.error = (error as Error).message || String(error);
    // Only the session's own word makes a failure a refusal; anything else is the broker out of reach.
    entry.refused = entry.session.status().state === "error";
    await setAccountStatus(this.sql, account.id, "error", entry.error).catch(() => undefined);
    this.logger.warn(
      {
        event: "SessionFailed",
        accountId: account.id,
        broker: account.broker,
        reason: entry.error,
        refused: entry.refused,
      },
      "broker session failed",
    );
    if (retry) this.retryLater(account.id, entry);
  }

  /**
   * Schedules the next background retry of a start the broker's absence failed, for an account in use
   * (`inUse`: the caller knows it is, before the directory does).
   */
  private retryLater(accountId: string, entry: Entry, inUse = false): void {
    if (entry.error === undefined || entry.refused || entry.retry || entry.retrying) return;
    if (this.entries.get(accountId) !== entry) return;
    if (!inUse && !this.directory.accountsInUse().some((a) => a.id === accountId)) return;
    const attempt = entry.retries++;
    const delayMs = backoffDelay(attempt, BACKGROUND_RETRY_STEPS);
    this.logger.debug(
      { event: "SessionRetryScheduled", accountId, attempt: attempt + 1, delayMs },
      "broker session start retried in the background",
    );
    entry.retry = setTimeout(() => {
      entry.retry = undefined;
      void this.retryNow(accountId, entry);
    }, delayMs);
    entry.retry.unref();
  }

  /** Finishes a failed start now: the session is up by itself, or a background retry is due. */
  private retryNow(accountId: string, entry: Entry): Promise<void> {
    if (entry.retrying) return entry.retrying;
    if (entry.retry) clearTimeout(entry.retry);
    entry.retry = undefined;
    const account = this.directory.account(accountId);
    if (!account || this.entries.get(accountId) !== entry || entry.error === undefined || entry.refused)
      return Promise.resolve();
    const started = Date.now();
    const retrying: Promise<void> = (async () => {
      try {
        // A session whose start never got going (it threw early) is started again; others retry alone.
        if (entry.session.status().state === "idle") await entry.session.start();
        await this.finishStart(account, entry, started);
      } catch (error) {
        await this.startFailed(account, entry, error, false);
      }
    })().finally(() => {
      if (entry.retrying === retrying) entry.retrying = undefined;
      this.retryLater(accountId, entry);
    });
    entry.retrying = retrying;
    entry.starting = retrying;
    return retrying;
  }

  /** A ready session going down is "lost"; coming back after that is "restored". Both are reported. */
  private sessionChanged(accountId: string, status: SessionStatus): void {
    const entry = this.entries.get(accountId);
    if (!entry) return;
    // A session whose start failed for want of the broker is up by itself: finish the start now.
    if (status.state === "ready" && entry.error !== undefined && !entry.refused)
      void this.retryNow(accountId, entry);
    if (!this.bus) return;
    const account = this.directory.account(accountId);
    const base = {
      at: new Date(),
      accountId,
      accountName: account?.name ?? accountId,
      broker: entry.session.kind,
    };
    if (status.state === "ready") {
      if (entry.lostAt !== undefined) {
        this.bus.emit({ type: "SessionRestored", ...base, downMs: Date.now() - entry.lostAt });
        entry.lostAt = undefined;
      }
      entry.wasReady = true;
    } else if (
      entry.wasReady &&
      entry.lostAt === undefined &&
      (status.state === "down" || status.state === "reconnecting" || status.state === "error")
    ) {
      entry.lostAt = Date.now();
      this.bus.emit({ type: "SessionLost", ...base, reason: status.error ?? status.state });
    }
  }

  private async credentials(account: AccountRow): Promise<Credentials> {
    const sealed = await credentialsOf(this.sql, account.id);
    if (!sealed) throw new Error("the account was removed");
    return this.sealer.open(account.id, sealed);
  }
}
