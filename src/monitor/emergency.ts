/**
 * The kill switch's actions. Stop: no new entries anywhere (the monitor's gate reads the switch). Flatten:
 * stop, then every account in use is liquidated by its broker (position and working orders together, so a
 * position is never left open without its stop), with the same bounded retries as a breach and resumed
 * after a restart. Resume: entries allowed again (breaches of the day stay in force).
 */
import type { Directory } from "../directory";
import type { Logger } from "../log";
import { flattenAccount } from "./flatten-account";
import type { FlattenContext } from "./flatten-context";
import { FlattenJob } from "./job";
import type { KillSwitch, KillSwitchState } from "./kill-switch";

export interface EmergencyDeps {
  ctx: FlattenContext;
  kill: KillSwitch;
  directory: Directory;
  logger: Logger;
  subAccountsOf(accountId: string): string[];
  /** Accounts with an open position in the relay's book or at the broker. */
  accountsHolding(): string[];
  /** Whether this relay holds the account's session (issue 16); unset: it holds every account. */
  owns?: (accountId: string) => boolean;
  retryDelaysMs?: number[];
}

export interface AccountFlattenReport {
  accountId: string;
  accountName: string;
  state: string;
  attempts: number;
  error: string | null;
}

export interface FlattenReport {
  killSwitch: KillSwitchState;
  accounts: AccountFlattenReport[];
}

export class Emergency {
  private jobs = new Map<string, FlattenJob>();
  private seq: number | undefined;

  constructor(private readonly d: EmergencyDeps) {}

  stop(actor: string, reason: string | null): Promise<KillSwitchState> {
    return this.d.kill.stop(actor, reason);
  }

  resume(actor: string, reason: string | null): Promise<KillSwitchState> {
    return this.d.kill.resume(actor, reason);
  }

  /** Stops entries and flattens every account in use; waits up to `waitMs` for the brokers to read flat. */
  async flatten(actor: string, reason: string | null, waitMs = 20_000): Promise<FlattenReport> {
    const accountIds = [
      ...new Set([
        ...this.d.directory.accountsInUse().map((a) => a.id as string),
        ...this.d.accountsHolding(),
      ]),
    ];
    const state = await this.d.kill.beginFlatten(actor, reason, accountIds);
    const seq = state.flatten?.seq ?? 0;
    // The other relays flatten theirs (woken by NOTIFY relay_kill); this one, the accounts it holds.
    this.run(
      seq,
      accountIds.filter((id) => this.holds(id)),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.jobs.values()].map((j) => j.settled())),
      new Promise((r) => {
        timer = setTimeout(r, waitMs);
      }),
    ]);
    clearTimeout(timer);
    return { killSwitch: this.d.kill.current, accounts: this.report() };
  }

  /** At start: a flatten that had not finished before the restart goes on (same ids, nothing doubled). */
  resumePending(): void {
    const f = this.d.kill.current.flatten;
    if (!f || f.done) return;
    const flat = new Set(f.flat ?? []);
    const mine = f.accountIds.filter((id) => !flat.has(id) && this.holds(id));
    if (this.seq !== f.seq) this.run(f.seq, mine);
    else for (const id of mine) if (!this.jobs.has(id)) this.add(f.seq, id);
  }

  /** Only the relay holding an account's session flattens it (issue 16); default: this one holds all. */
  private holds(accountId: string): boolean {
    return this.d.owns?.(accountId) ?? true;
  }

  onSessionReady(accountId: string): void {
    const job = this.jobs.get(accountId);
    if (job && (job.state === "waiting" || job.state === "stuck")) job.kick("sessionReady");
  }

  report(): AccountFlattenReport[] {
    const mine = [...this.jobs.entries()].map(([accountId, job]) => ({
      accountId,
      accountName: this.d.directory.account(accountId)?.name ?? accountId,
      state: job.state as string,
      attempts: job.attempts,
      error: job.error,
    }));
    // Accounts another relay holds: flattened there (issue 16), flat once it says so.
    const f = this.d.kill.current.flatten;
    const flat = new Set(f?.flat ?? []);
    const elsewhere = (f && f.seq === this.seq ? f.accountIds : [])
      .filter((id) => !this.jobs.has(id))
      .map((accountId) => ({
        accountId,
        accountName: this.d.directory.account(accountId)?.name ?? accountId,
        state: flat.has(accountId) ? "flat" : "on_another_relay",
        attempts: 0,
        error: null,
      }));
    return [...mine, ...elsewhere];
  }

  async stopJobs(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.stop()));
  }

  private run(seq: number, accountIds: string[]): void {
    for (const job of this.jobs.values()) void job.stop();
    this.seq = seq;
    this.jobs = new Map();
    for (const accountId of accountIds) this.add(seq, accountId);
    if (accountIds.length === 0) void this.d.kill.accountsFlat(seq, []).catch(() => undefined);
  }

  private add(seq: number, accountId: string): void {
    const job: FlattenJob = new FlattenJob(
      `kill:${seq}:${accountId}`,
      {
        attempt: () =>
          flattenAccount(
            this.d.ctx,
            accountId,
            this.d.subAccountsOf(accountId),
            `kill:${seq}`,
            "kill switch",
          ),
        changed: async (s) => {
          this.d.logger.warn({ event: "KillSwitchFlatten", accountId, state: s, attempts: job.attempts });
          if (s === "flat") await this.d.kill.accountsFlat(seq, [accountId]);
        },
      },
      this.d.logger,
      this.d.retryDelaysMs,
    );
    this.jobs.set(accountId, job);
    job.kick("start");
  }
}
