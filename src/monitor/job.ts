/**
 * Runs the flatten of one breach (or one kill-switch flatten of an account) through the state machine in
 * machine.ts: one round of bounded attempts with back-off while the broker refuses, then `stuck` until
 * the session is ready again; `waiting` while the session is down. At most one round runs at a time, so
 * one breach is one flatten, never a loop.
 */
import type { Logger } from "../log";
import type { AttemptResult } from "./flatten-context";
import { type FlattenInput, type FlattenState, transition } from "./machine";

export interface JobHooks {
  /** One attempt; `n` counts attempts over the job's whole life. */
  attempt(n: number): Promise<AttemptResult>;
  /** Told about every state change (persist it, emit events). Errors are logged, never thrown. */
  changed(state: FlattenState, info: { attempts: number; error: string | null }): Promise<void> | void;
}

/** Pauses between attempts of one round; its length is the number of attempts per round. */
export const DEFAULT_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];
/** A flat job re-opened by a late fill is flattened again at most this many times. */
const MAX_REOPENS = 3;

export class FlattenJob {
  private current: FlattenState = "detected";
  private attemptsMade: number;
  private lastError: string | null = null;
  private running: Promise<void> | undefined;
  private stopped = false;
  private reopens = 0;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  /** State changes are saved in order, one after the other. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly key: string,
    private readonly hooks: JobHooks,
    private readonly logger: Logger,
    private readonly delaysMs: number[] = DEFAULT_RETRY_DELAYS_MS,
    attempts = 0,
    initial: FlattenState = "detected",
  ) {
    this.attemptsMade = attempts;
    this.current = initial;
  }

  get state(): FlattenState {
    return this.current;
  }
  get attempts(): number {
    return this.attemptsMade;
  }
  get error(): string | null {
    return this.lastError;
  }

  /** Feeds an input; a round starts when the machine moves into `flattening`. */
  kick(input: Extract<FlattenInput, "start" | "sessionReady" | "reopened">): boolean {
    if (this.stopped || this.running) return false;
    if (input === "reopened" && ++this.reopens > MAX_REOPENS) {
      this.logger.error(
        { event: "FlattenReopenLimit", job: this.key },
        "position re-opened too often; not flattening again",
      );
      return false;
    }
    if (!this.move(input)) return false;
    this.running = this.round().finally(() => {
      this.running = undefined;
    });
    return true;
  }

  /** Resolves when the current round (if any) has ended and its states are saved. */
  async settled(): Promise<void> {
    await this.running;
    await this.saving;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sleeper) {
      clearTimeout(this.sleeper.timer);
      this.sleeper.wake();
    }
    await this.running;
    await this.saving;
  }

  private async round(): Promise<void> {
    for (let i = 0; i <= this.delaysMs.length; i++) {
      if (this.stopped) return;
      if (i === this.delaysMs.length) {
        this.move("exhausted");
        this.logger.error(
          { event: "FlattenStuck", job: this.key, attempts: this.attemptsMade, reason: this.lastError },
          "the broker kept refusing the flatten; retried when the session is ready again",
        );
        return;
      }
      this.attemptsMade++;
      let result: AttemptResult;
      try {
        result = await this.hooks.attempt(this.attemptsMade);
      } catch (error) {
        result = { flat: false, reason: error instanceof Error ? error.message : String(error) };
      }
      if (result.flat) {
        this.lastError = null;
        this.move("flat");
        return;
      }
      this.lastError = result.reason;
      this.logger.warn(
        { event: "FlattenAttemptFailed", job: this.key, attempt: this.attemptsMade, reason: result.reason },
        "flatten attempt failed",
      );
      if (result.sessionDown) {
        this.move("sessionDown");
        return;
      }
      this.move("attemptFailed");
      await this.sleep(this.delaysMs[i] ?? 0);
    }
  }

  private move(input: FlattenInput): boolean {
    const next = transition(this.current, input);
    if (!next) return false;
    const changed = next !== this.current || input === "attemptFailed";
    this.current = next;
    if (changed) {
      const info = { attempts: this.attemptsMade, error: this.lastError };
      this.saving = this.saving
        .then(() => this.hooks.changed(next, info))
        .catch((error: unknown) =>
          this.logger.error(
            { event: "FlattenStateNotSaved", job: this.key, error: String(error) },
            "state not saved",
          ),
        );
    }
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleeper = undefined;
        resolve();
      };
      this.sleeper = { timer: setTimeout(wake, ms), wake };
    });
  }
}
