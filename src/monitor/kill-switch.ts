/**
 * The kill switch's durable state (relay_state "kill_switch"): whether new entries are stopped, by whom
 * and why, and the last "flatten everything" (its sequence number makes that flatten's client order ids,
 * so a restart resumes it without doubling anything). Every use is audited and emitted as KillSwitchUsed.
 */
import { audit } from "../db/audit";
import type { Sql } from "../db/client";
import { readState, writeState } from "../db/relay-state";
import type { EventBus } from "../events";

export const KILL_SWITCH_KEY = "kill_switch";

export interface KillSwitchState {
  stopped: boolean;
  /** ISO time of the last change. */
  since: string | null;
  actor: string | null;
  reason: string | null;
  flatten: {
    seq: number;
    requestedAt: string;
    accountIds: string[];
    done: boolean;
    /** Accounts read flat so far, by whichever relay holds each (issue 16): done when all are. */
    flat?: string[];
  } | null;
  /**
   * Bumped by every write (each a locked read-modify-write): a reload whose answer arrives after a newer
   * write was seen here is older than what this relay knows, and is not taken.
   */
  rev?: number;
}

const INITIAL: KillSwitchState = { stopped: false, since: null, actor: null, reason: null, flatten: null };

export class KillSwitch {
  private state: KillSwitchState = INITIAL;

  constructor(
    private readonly sql: Sql,
    private readonly bus: EventBus,
    private readonly now: () => Date,
  ) {}

  get current(): KillSwitchState {
    return this.state;
  }

  /** Loads (or reloads, to see another relay's change) the stored state. */
  async load(): Promise<KillSwitchState> {
    const stored = await readState<Partial<KillSwitchState>>(this.sql, KILL_SWITCH_KEY);
    return this.take({ ...INITIAL, ...stored });
  }

  async stop(actor: string, reason: string | null): Promise<KillSwitchState> {
    return this.change("stop", actor, reason, () => ({ stopped: true }));
  }

  async resume(actor: string, reason: string | null): Promise<KillSwitchState> {
    return this.change("resume", actor, reason, () => ({ stopped: false }));
  }

  /** Stops entries and records a new flatten of these accounts; the caller runs it. */
  async beginFlatten(actor: string, reason: string | null, accountIds: string[]): Promise<KillSwitchState> {
    return this.change("flatten", actor, reason, (previous) => ({
      stopped: true,
      flatten: {
        seq: (previous.flatten?.seq ?? 0) + 1,
        requestedAt: this.now().toISOString(),
        accountIds,
        done: false,
      },
    }));
  }

  /** Keeps the newer of what is known here and `next` (answers to reloads can arrive out of order). */
  private take(next: KillSwitchState): KillSwitchState {
    if ((next.rev ?? 0) >= (this.state.rev ?? 0)) this.state = next;
    return this.state;
  }

  /**
   * These accounts read flat for flatten `seq`; the flatten is done once every account of it is. Several
   * relays each flatten the accounts they hold, so the update is one locked read-modify-write.
   */
  async accountsFlat(seq: number, accountIds: string[]): Promise<void> {
    await this.update((stored) => {
      const f = stored.flatten;
      if (!f || f.seq !== seq) return undefined;
      const flat = [...new Set([...(f.flat ?? []), ...accountIds])];
      const done = f.accountIds.every((id) => flat.includes(id));
      return { ...stored, flatten: { ...f, flat, done } };
    }, false);
  }

  /**
   * The one way the state is written: read under a row lock, changed by `next` (undefined: left as it is),
   * written with `rev` bumped; `announce` wakes every relay on `relay_kill` at commit. Two relays writing
   * at once (a resume here, accounts marked flat there) each see the other's write; neither is lost.
   * Returns the state as this write left it.
   */
  private async update(
    next: (stored: KillSwitchState) => KillSwitchState | undefined,
    announce: boolean,
  ): Promise<KillSwitchState> {
    const state = (await this.sql.begin(async (tx) => {
      const [row] = await tx`select value from relay_state where key = ${KILL_SWITCH_KEY} for update`;
      const stored = { ...INITIAL, ...((row?.value as Partial<KillSwitchState> | undefined) ?? {}) };
      const changed = next(stored);
      if (!changed) return stored;
      const written: KillSwitchState = { ...changed, rev: (stored.rev ?? 0) + 1 };
      await writeState(tx as unknown as Sql, KILL_SWITCH_KEY, written);
      // Every relay on the database honours it at commit, and flattens the accounts it holds.
      if (announce) await tx`select pg_notify('relay_kill', ${String(written.flatten?.seq ?? 0)})`;
      return written;
    })) as KillSwitchState;
    this.take(state);
    return state;
  }

  private async change(
    action: "stop" | "flatten" | "resume",
    actor: string,
    reason: string | null,
    patch: (previous: KillSwitchState) => Partial<KillSwitchState>,
  ): Promise<KillSwitchState> {
    const at = this.now();
    const state = await this.update(
      (previous) => ({
        ...previous,
        ...patch(previous),
        since: at.toISOString(),
        actor,
        reason,
      }),
      true,
    );
    const detail =
      action === "resume"
        ? "new entries allowed again"
        : action === "stop"
          ? "new entries stopped everywhere"
          : `new entries stopped; flattening ${state.flatten?.accountIds.length ?? 0} account(s)`;
    await audit(this.sql, actor, `emergency.${action}`, null, {
      reason,
      ...(action === "flatten" ? { seq: state.flatten?.seq, accounts: state.flatten?.accountIds } : {}),
    });
    this.bus.emit({
      type: "KillSwitchUsed",
      at,
      action,
      actor,
      detail: reason ? `${detail}: ${reason}` : detail,
    });
    return state;
  }
}
