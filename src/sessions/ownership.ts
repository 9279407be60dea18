/**
 * This relay's accounts (issue 16): the accounts whose broker sessions it holds, through leases in
 * `account_owners` renewed every third of ACCOUNT_LEASE_MS. Live relays share the accounts: each claims
 * lapsed or released ones up to its fair share, and one holding more than its share gives idle ones back
 * (sessions closed first, so a login never has two). A relay that dies stops renewing; the others claim its
 * accounts once the lease lapses, run their executions and watch their losses.
 *
 * The cache answers `owns` without a query; a first use of an account nobody holds claims it (`ensure`).
 */

import type { Sql } from "../db/client";
import { askHandover, claimAccount, leaveRelays, ownershipTick, releaseAccounts } from "../db/owners";
import type { Logger } from "../log";

/** The account's session is held by another relay: this one must not log in. */
export class NotOwner extends Error {
  constructor(
    readonly accountId: string,
    readonly holder: string,
  ) {
    super(`this account's broker session runs on relay "${holder}"; it acts for the account there`);
    this.name = "NotOwner";
  }
}

export interface OwnershipDeps {
  sql: Sql;
  logger: Logger;
  relay: string;
  leaseMs: number;
  /** An account this relay may give up now: nothing of it is queued or running here. */
  isIdle: (accountId: string) => boolean;
  /** Accounts newly held: warm their sessions, load their books, claim their executions. */
  gained: (accountIds: string[]) => void;
  /** Accounts to let go of (lost to another relay, or about to be released): close their sessions. */
  letGo: (accountIds: string[]) => Promise<void>;
}

export class AccountOwnership {
  private owned = new Set<string>();
  /** Claimed by `ensure` while a tick was running: a tick that began earlier cannot have seen them. */
  private claimedAt = new Map<string, number>();
  /** Being given back: no new session or execution here, though the database still names this relay. */
  private releasing = new Set<string>();
  /** An admin action here needs these accounts' sessions: not given back meanwhile (count per account). */
  private pinned = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  /** When the last beat renewed the leases. */
  private renewedAt = 0;
  /** Stopping: leases are renewed while executions drain, nothing new is claimed. */
  private draining = false;
  share = 0;
  liveRelays = 1;

  constructor(private readonly d: OwnershipDeps) {}

  get relay(): string {
    return this.d.relay;
  }

  owns(accountId: string): boolean {
    if (!this.owned.has(accountId)) return false;
    // A relay that could not renew for a whole lease may have lost its accounts already: it stops acting
    // on them until the database says again that they are its own.
    // Alone on the database (the usual single relay), no one else can have taken it: a slow beat on a
    // busy machine must not stop a relay from flattening its own accounts.
    if (!this.started || this.liveRelays < 2) return true;
    const renewed = Math.max(this.renewedAt, this.claimedAt.get(accountId) ?? 0);
    return Date.now() - renewed < this.d.leaseMs;
  }

  /**
   * Whether this relay may act for the account now: the cache, else the database (an account claimed in
   * accept_signal's commit, or a renewal the cache has not seen). Only another live holder says no.
   */
  async holds(accountId: string): Promise<boolean> {
    if (this.owns(accountId)) return true;
    try {
      await this.ensure(accountId);
      return true;
    } catch (error) {
      // The database cannot say: the execution's own steps meet the same outage and wait for it.
      return !(error instanceof NotOwner);
    }
  }

  ownedAccounts(): string[] {
    return [...this.owned];
  }

  /** The first beat has run: `owns` answers for this relay. */
  started = false;

  /** The first beat (before sessions are warmed), then one every third of the lease. */
  async start(): Promise<void> {
    await this.tick();
    this.started = true;
    this.timer = setInterval(() => void this.tick(), Math.max(250, Math.floor(this.d.leaseMs / 3)));
    this.timer.unref();
  }

  /** Claims the account for this relay unless another live relay holds it (then NotOwner). */
  async ensure(accountId: string): Promise<void> {
    if (this.owns(accountId)) return;
    if (this.stopped || this.draining || this.releasing.has(accountId))
      throw new NotOwner(accountId, "(none yet: it is being handed to another relay)");
    const holder = await claimAccount(this.d.sql, this.d.relay, accountId, this.d.leaseMs);
    if (holder !== this.d.relay) throw new NotOwner(accountId, holder);
    const at = Date.now();
    this.claimedAt.set(accountId, at);
    if (!this.owned.has(accountId)) {
      this.owned.add(accountId);
      this.d.logger.info(
        { event: "AccountClaimed", accountId, relay: this.d.relay },
        "account claimed on first use",
      );
    }
  }

  /**
   * Brings the account's session to this relay for an admin action that needs it (a delete that
   * flattens, reaching a relay that does not hold the account): asks the holder to hand it over
   * (NOTIFY relay_handover; it does once nothing of the account runs there) and claims it once free,
   * then loads its book here as a takeover does. The account stays here until the returned function
   * is called. Throws NotOwner when the holder has not let go within `timeoutMs`.
   */
  async bringHere(accountId: string, timeoutMs = 15_000): Promise<() => void> {
    const deadline = Date.now() + timeoutMs;
    let askedAt = 0;
    let asked = false;
    for (;;) {
      try {
        await this.ensure(accountId);
        break;
      } catch (error) {
        if (!(error instanceof NotOwner) || this.stopped || this.draining || Date.now() > deadline)
          throw error;
        // Asked again now and then: the first ask may have met a busy account, or another relay's beat
        // may have claimed it once free.
        if (Date.now() - askedAt > 2_000) {
          askedAt = Date.now();
          asked = true;
          await askHandover(this.d.sql, accountId, this.d.relay);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.pinned.set(accountId, (this.pinned.get(accountId) ?? 0) + 1);
    if (asked) {
      this.d.logger.info(
        { event: "AccountBroughtHere", accountId, relay: this.d.relay },
        "account handed over for an action here",
      );
      this.d.gained([accountId]);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pinned.get(accountId) ?? 1) - 1;
      if (n > 0) this.pinned.set(accountId, n);
      else this.pinned.delete(accountId);
    };
  }

  /** Another relay asked for the account (an admin action there needs it): given up when idle here. */
  async handOver(accountId: string): Promise<boolean> {
    if (!this.owned.has(accountId) || this.pinned.has(accountId) || this.draining || this.stopped)
      return false;
    if (this.releasing.has(accountId) || !this.d.isIdle(accountId)) return false;
    this.owned.delete(accountId);
    this.claimedAt.delete(accountId);
    this.releasing.add(accountId);
    try {
      await this.d.letGo([accountId]);
      await releaseAccounts(this.d.sql, this.d.relay, [accountId]);
      this.d.logger.info(
        { event: "AccountHandedOver", accountId, relay: this.d.relay },
        "account given to the relay that asked for it",
      );
      return true;
    } catch (error) {
      // Not released: the database still names this relay, so the next beat takes the account up again
      // here (sessions warmed); the asking relay answers 409 once its wait is over.
      this.d.logger.warn(
        { event: "AccountNotHandedOver", accountId, error: String(error) },
        "account kept: it could not be released",
      );
      return false;
    } finally {
      this.releasing.delete(accountId);
    }
  }

  /** One beat now (the timer's, or a test's); concurrent calls share it. */
  tick(): Promise<void> {
    this.ticking ??= this.beat().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** The relay is stopping: go on renewing what it holds (executions drain), claim nothing more. */
  drain(): void {
    this.draining = true;
  }

  /** Stops renewing. Unless abandoned (a crash, in tests), gives every account back and leaves. */
  async stop(abandon = false): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    if (abandon) return;
    const mine = [...this.owned];
    this.owned.clear();
    await releaseAccounts(this.d.sql, this.d.relay, mine);
    await leaveRelays(this.d.sql, this.d.relay);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const began = Date.now();
    let result: Awaited<ReturnType<typeof ownershipTick>>;
    try {
      result = await ownershipTick(this.d.sql, this.d.relay, this.d.leaseMs, !this.draining);
    } catch (error) {
      // The leases run on; a relay that cannot renew for a whole lease loses its accounts to the others.
      this.d.logger.warn(
        { event: "OwnershipTickFailed", error: String(error) },
        "could not renew account leases",
      );
      return;
    }
    this.renewedAt = began;
    if (this.stopped) return;
    this.share = result.share;
    this.liveRelays = result.liveRelays;
    // An account being given back is not this relay's any more, whatever a beat that ran meanwhile read.
    const now = new Set(result.owned.filter((id) => !this.releasing.has(id)));
    for (const [id, at] of this.claimedAt) {
      if (at >= began) now.add(id);
      else this.claimedAt.delete(id);
    }
    const lost = [...this.owned].filter((id) => !now.has(id));
    const gained = [...now].filter((id) => !this.owned.has(id));
    this.owned = now;
    if (lost.length > 0) {
      this.d.logger.warn(
        { event: "AccountsLost", relay: this.d.relay, accounts: lost.length },
        "another relay holds these accounts now: their sessions here are closed",
      );
      await this.d.letGo(lost);
    }
    // The first beat is the relay's start, which warms, loads and resumes everything itself.
    if (gained.length > 0 && !this.draining && this.started) {
      this.d.logger.info(
        { event: "AccountsClaimed", relay: this.d.relay, accounts: gained.length, share: result.share },
        "accounts claimed",
      );
      this.d.gained(gained);
    }
    await this.rebalance();
  }

  /** Over its share (a relay joined): idle accounts are given back, their sessions closed first. */
  private async rebalance(): Promise<void> {
    const excess = this.owned.size - this.share;
    if (excess <= 0 || this.liveRelays < 2 || this.draining) return;
    const idle = [...this.owned].filter((id) => !this.pinned.has(id) && this.d.isIdle(id)).slice(0, excess);
    if (idle.length === 0) return;
    for (const id of idle) {
      this.owned.delete(id);
      this.releasing.add(id);
    }
    try {
      await this.d.letGo(idle);
      await releaseAccounts(this.d.sql, this.d.relay, idle);
      this.d.logger.info(
        { event: "AccountsReleased", relay: this.d.relay, accounts: idle.length, share: this.share },
        "accounts given back for another relay to hold",
      );
    } catch (error) {
      // Not released: the database still names this relay, so the next beat takes them up again here.
      this.d.logger.warn(
        { event: "AccountsNotReleased", error: String(error) },
        "accounts kept: they could not be released",
      );
    } finally {
      for (const id of idle) this.releasing.delete(id);
    }
  }
}
