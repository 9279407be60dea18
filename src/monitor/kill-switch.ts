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
  flatten: { seq: number; requestedAt: string; accountIds: string[]; done: boolean } | null;
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
    this.state = { ...INITIAL, ...stored };
    return this.state;
  }

  async stop(actor: string, reason: string | null): Promise<KillSwitchState> {
    return this.change("stop", actor, reason, { stopped: true });
  }

  async resume(actor: string, reason: string | null): Promise<KillSwitchState> {
    return this.change("resume", actor, reason, { stopped: false });
  }

  /** Stops entries and records a new flatten of these accounts; the caller runs it. */
  async beginFlatten(actor: string, reason: string | null, accountIds: string[]): Promise<KillSwitchState> {
    await this.load();
    const seq = (this.state.flatten?.seq ?? 0) + 1;
    return this.change("flatten", actor, reason, {
      stopped: true,
      flatten: { seq, requestedAt: this.now().toISOString(), accountIds, done: false },
    });
  }

  async flattenDone(seq: number): Promise<void> {
    await this.load();
    if (this.state.flatten?.seq !== seq) return;
    this.state = { ...this.state, flatten: { ...this.state.flatten, done: true } };
    await writeState(this.sql, KILL_SWITCH_KEY, this.state);
  }

  private async change(
    action: "stop" | "flatten" | "resume",
    actor: string,
    reason: string | null,
    patch: Partial<KillSwitchState>,
  ): Promise<KillSwitchState> {
    const at = this.now();
    const previous = await this.load();
    this.state = { ...previous, ...patch, since: at.toISOString(), actor, reason };
    await writeState(this.sql, KILL_SWITCH_KEY, this.state);
    const detail =
      action === "resume"
        ? "new entries allowed again"
        : action === "stop"
          ? "new entries stopped everywhere"
          : `new entries stopped; flattening ${this.state.flatten?.accountIds.length ?? 0} account(s)`;
    await audit(this.sql, actor, `emergency.${action}`, null, {
      reason,
      ...(action === "flatten"
        ? { seq: this.state.flatten?.seq, accounts: this.state.flatten?.accountIds }
        : {}),
    });
    this.bus.emit({
      type: "KillSwitchUsed",
      at,
      action,
      actor,
      detail: reason ? `${detail}: ${reason}` : detail,
    });
    return this.state;
  }
}
