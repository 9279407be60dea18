/**
 * Signal intake for POST /webhook/:token. Every request is written to the raw webhook log with its outcome.
 * A valid signal is acknowledged only after it is committed together with one execution per enabled
 * trader; the reply waits for that commit and for nothing else (dispatch starts after it).
 *
 * Replies: 202 accepted, 200 duplicate, 422 stale | invalid | disabled, 404 unknown token, 403 address not
 * allowed, 413 too large, 429 rate limited, 503 not recorded (TradingView re-sends only then).
 */
import { randomUUID } from "node:crypto";
import type { Sql } from "../db/client";
import type { RecorderRow } from "../db/recorders";
import { type AcceptResult, guardResend } from "../db/signals";
import { type RawWebhook, recordRejectedWebhook, type WebhookOutcome } from "../db/webhooks";
import type { Directory } from "../directory";
import type { ExecutionJob } from "../dispatch/executor";
import { symbolProblem } from "../domain/contract";
import { toStr } from "../domain/decimal";
import { asAccountId, asExecutionId, asRecorderId, asSignalId, asTraderId } from "../domain/ids";
import {
  fingerprint,
  normalizeSignal,
  runsWhateverItsAge,
  type Signal,
  signalAgeMs,
  signalToJson,
} from "../domain/signal";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import { storable } from "./body";
import { type AddressSet, clientAddress } from "./client-ip";
import { type GroupCommitStats, GroupCommitter } from "./group-commit";
import type { RateLimiter } from "./rate-limit";
import type { WebhookSource } from "./source";
import type { UnknownTokens } from "./unknown-tokens";

export interface IntakeReply {
  status: number;
  body: Record<string, unknown>;
}

export interface IntakeDeps {
  sql: Sql;
  logger: Logger;
  directory: Directory;
  limiter: RateLimiter;
  allowlist: AddressSet | undefined;
  trustedProxies: AddressSet;
  maxBytes: number;
  /** MAX_ORDER_CONTRACTS: an alert whose quantity is above it is refused (422) before anything is committed. */
  maxOrderContracts: number;
  instanceId: string;
  leaseMs: number;
  /** Signals of a recorder accepted here whose executions have not all started (the dispatcher's backlog). */
  backlog?: (recorderId: string) => number;
  /** RECORDER_MAX_PENDING_SIGNALS: entries beyond this backlog are refused (exits never are). */
  maxPendingSignals?: number;
  /** WEBHOOK_COMMIT_TIMEOUT_MS: past it, 503 while the commit goes on (0 or unset: wait for it). */
  commitTimeoutMs?: number;
  dispatch: (jobs: ExecutionJob[]) => void;
  now?: () => Date;
  counters?: Map<string, number>;
  metrics?: Metrics;
  /** Requests no recorder owns: limited per source address, counted in aggregate rows past it. */
  unknownTokens?: UnknownTokens;
  /** Group commit (src/intake/group-commit.ts): batches in flight at once, and the most alerts in one. */
  commitConcurrency?: number;
  commitBatchMax?: number;
}

const KEPT_HEADERS = ["content-type", "content-length", "user-agent", "x-forwarded-for"];

/**
 * A busy or blinking database may need a moment: a rejection's raw-log write is retried with growing
 * pauses for about ten seconds, long after its reply (which waits for it only REJECTION_LOG_WAIT_MS).
 */
const REJECTION_LOG_RETRY_MS = [100, 400, 1_200, 3_000, 6_000];

async function withRetry<T>(
  work: () => Promise<T>,
  delays: number[],
  onFailure: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (const [attempt, delay] of delays.entries()) {
    try {
      return await work();
    } catch (error) {
      onFailure(error, attempt + 1);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return work();
}

/** TradingView re-sends a 5xx'd alert 5 s apart, up to three times: identical alerts this soon are re-sends. */
const RESEND_GUARD_MS = 30_000;
const RESENDS_KEPT = 10_000;

/** How long a rejection's reply waits for its raw-log row. */
const REJECTION_LOG_WAIT_MS = 2_000;

/** A sender's clock may run a little ahead of ours; beyond this, the time is wrong (usually not UTC). */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

function describeDuration(ms: number): string {
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} minutes`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} hours`;
  return `${Math.round(ms / 86_400_000)} days`;
}

export class Intake {
  /**
   * Per-recorder arrival order: commits run concurrently (so Postgres can group them), but the signals'
   * executions are handed to dispatch in the order the alerts arrived.
   */
  private readonly gates = new Map<string, Promise<void>>();

  /** Alerts answered 503 for a slow commit, by recorder and fingerprint: their re-sends name them. */
  private readonly resends = new Map<string, { signalId: string; until: number }>();

  /** Raw-log writes of rejections still being tried after their reply went out. */
  private readonly logWrites = new Set<Promise<void>>();

  /** Alerts arriving together are committed together, each answered after its batch's COMMIT. */
  private readonly committer: GroupCommitter;

  constructor(private readonly d: IntakeDeps) {
    this.committer = new GroupCommitter(d.sql, d.logger, {
      concurrency: d.commitConcurrency ?? 1,
      maxBatch: d.commitBatchMax ?? 64,
      // A batch that has outlived every caller's reply frees its slot for the alerts behind it.
      releaseAfterMs: d.commitTimeoutMs || 2_000,
      ...(d.metrics ? { onBatch: (n: number) => d.metrics?.commitBatch.observe(n) } : {}),
    });
  }

  /** Batches committed so far and their sizes (benchmarks, tests). */
  commitStats(): GroupCommitStats {
    return this.committer.stats();
  }

  /** Waits (bounded) for rejections' raw-log writes still in progress: shutdown, before the pool closes. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.logWrites.size === 0) return;
    await Promise.race([
      Promise.allSettled([...this.logWrites]),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }

  async handle(token: string, request: WebhookSource, peer: string | undefined): Promise<IntakeReply> {
    const receivedAt = this.d.now?.() ?? new Date();
    const sourceIp = clientAddress(peer, request.header("x-forwarded-for"), this.d.trustedProxies) ?? null;
    const raw: RawWebhook = {
      receivedAt,
      recorderId: null,
      tokenPrefix: storable(token.slice(0, 4), 8),
      sourceIp,
      contentType: storable(request.header("content-type") ?? "", 256) || null,
      headers: keptHeaders(request),
      body: null,
      bodyBytes: 0,
    };

    const body = await request.body(this.d.maxBytes);
    raw.bodyBytes = body.bytes;
    if (!body.ok && body.cut) {
      return this.reject(raw, "incomplete", 400, "The request ended before its body was complete.");
    }
    if (!body.ok) {
      return this.reject(raw, "too_large", 413, `The alert message is larger than ${this.d.maxBytes} bytes.`);
    }
    raw.body = storable(body.text);

    if (this.d.allowlist && (!sourceIp || !this.d.allowlist.has(sourceIp))) {
      return this.reject(raw, "forbidden", 403, "This address may not send alerts to this relay.");
    }
    const recorder = this.d.directory.recorderByToken(token);
    if (!recorder)
      return this.reject(
        raw,
        "unknown_token",
        404,
        "Unknown webhook URL: check the token in the alert's webhook URL.",
      );
    raw.recorderId = recorder.id;
    raw.tokenPrefix = null;
    if (!this.d.limiter.take(recorder.id)) {
      return this.reject(raw, "rate_limited", 429, "Too many alerts for this webhook URL; slow down.");
    }
    if (!recorder.enabled) {
      return this.reject(
        raw,
        "disabled",
        422,
        "This recorder is disabled: the alert was recorded and not executed.",
      );
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return this.reject(
        raw,
        "invalid",
        422,
        'The alert message is not valid JSON, e.g. {"ticker":"MNQ1!","action":"buy"}.',
      );
    }
    const normalized = normalizeSignal(parsed, { maxQuantity: this.d.maxOrderContracts });
    if (!normalized.ok) return this.reject(raw, "invalid", 422, normalized.message);
    const signal = normalized.signal;
    const unknownSymbol = this.symbolProblem(recorder, signal);
    if (unknownSymbol) return this.reject(raw, "invalid", 422, unknownSymbol);

    const ageMs = signalAgeMs(signal, receivedAt);
    if (ageMs !== undefined && ageMs < -FUTURE_TOLERANCE_MS) {
      return this.reject(
        raw,
        "invalid",
        422,
        `The alert's "time" is ${describeDuration(-ageMs)} in the future: it must be UTC (TradingView's {{timenow}} is).`,
      );
    }
    const maxAgeMs = recorder.settings.maxSignalAgeSeconds * 1000;
    // Only what may open or add is refused as stale: a late exit still closes (its age is reported).
    if (ageMs !== undefined && ageMs > maxAgeMs && !runsWhateverItsAge(signal)) {
      return this.reject(
        raw,
        "stale",
        422,
        `The alert is ${(ageMs / 1000).toFixed(1)} s old (its "time" against the relay's clock); the limit is ${recorder.settings.maxSignalAgeSeconds} s. Recorded, not executed.`,
        ageMs,
      );
    }
    // A recorder sending faster than its traders can trade: refused now, not executed minutes late.
    const backlog = this.d.backlog?.(recorder.id) ?? 0;
    if (this.d.maxPendingSignals && backlog >= this.d.maxPendingSignals && !runsWhateverItsAge(signal)) {
      return this.reject(
        raw,
        "rate_limited",
        429,
        `This recorder already has ${backlog} signals waiting to be executed; the alert was refused so it cannot execute late. Exits are still taken. Send alerts less often, or raise RECORDER_MAX_PENDING_SIGNALS.`,
      );
    }
    const previous = this.gates.get(recorder.id) ?? Promise.resolve();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    this.gates.set(recorder.id, gate);
    void gate.then(() => {
      if (this.gates.get(recorder.id) === gate) this.gates.delete(recorder.id);
    });
    const { reply, settled } = await this.accept(recorder, raw, signal, ageMs, (jobs) => {
      // Dispatch after every earlier alert of this recorder has been dispatched (or refused).
      void previous.then(() => {
        if (jobs.length) this.d.dispatch(jobs);
        open();
      });
    });
    // A commit answered 503 for slowness may still land: later alerts of the recorder wait for it.
    void settled.finally(() => void previous.then(open));
    return reply;
  }

  /**
   * Commits the signal, answering within WEBHOOK_COMMIT_TIMEOUT_MS: past it, 503 (TradingView re-sends)
   * while the commit goes on; if it lands, the signal executes, and the re-sends are its duplicates.
   */
  private async accept(
    recorder: RecorderRow,
    raw: RawWebhook,
    signal: Signal,
    ageMs: number | undefined,
    dispatchInOrder: (jobs: ExecutionJob[]) => void,
  ): Promise<{ reply: IntakeReply; settled: Promise<unknown> }> {
    const signalId = randomUUID();
    const print = fingerprint(signal);
    const key = `${recorder.id}|${print}`;
    const earlier = this.resends.get(key);
    const resendOf = earlier && earlier.until > raw.receivedAt.getTime() ? earlier.signalId : undefined;
    const work = this.commit(recorder, raw, signal, ageMs, dispatchInOrder, signalId, print, resendOf);
    const limit = this.d.commitTimeoutMs;
    if (!limit) return { reply: await work, settled: work };
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), limit);
    });
    const first = await Promise.race([work, slow]);
    clearTimeout(timer);
    if (first) return { reply: first, settled: work };

    const log = this.d.logger.child({ signalId, recorderId: recorder.id });
    const until = raw.receivedAt.getTime() + RESEND_GUARD_MS;
    // Re-sends reaching this relay name the attempt; ones reaching another find the guard in the database.
    this.rememberResend(key, resendOf ?? signalId, until);
    void work
      .then(async (late) => {
        log.warn(
          { event: "SignalCommittedLate", status: late.status, outcome: late.body.status },
          "the commit landed after the 503: the signal stands, TradingView's re-sends are its duplicates",
        );
        if (late.status === 202)
          await guardResend(this.d.sql, {
            recorderId: recorder.id,
            fingerprint: print,
            signalId,
            until: new Date(until),
          });
      })
      .catch((error) =>
        log.warn(
          { event: "ResendGuardNotStored", error: String(error) },
          "could not store the re-send guard",
        ),
      );
    this.count("commit_timeout");
    log.warn(
      { event: "SignalCommitSlow", limitMs: limit },
      "the database did not commit in time; answered 503",
    );
    return {
      reply: {
        status: 503,
        body: {
          status: "error",
          error: {
            code: "not_recorded",
            message: "The signal could not be recorded in time (the database is slow); please resend.",
          },
        },
      },
      settled: work,
    };
  }

  private rememberResend(key: string, signalId: string, until: number): void {
    const now = Date.now();
    if (this.resends.size >= RESENDS_KEPT)
      for (const [k, v] of this.resends)
        if (v.until < now || this.resends.size >= RESENDS_KEPT) this.resends.delete(k);
    this.resends.set(key, { signalId, until });
  }

  private async commit(
    recorder: RecorderRow,
    raw: RawWebhook,
    signal: Signal,
    ageMs: number | undefined,
    dispatchInOrder: (jobs: ExecutionJob[]) => void,
    signalId: string,
    print: string,
    resendOf: string | undefined,
  ): Promise<IntakeReply> {
    // A child logger per alert would cost more than the commit's own JavaScript: the lines carry the ids.
    const about = { signalId, recorderId: recorder.id };
    const log = this.d.logger;
    let result: AcceptResult;
    try {
      result = await this.committer.accept({
        signalId,
        recorderId: recorder.id,
        webhook: raw,
        alertId: signal.alertId,
        fingerprint: print,
        ...(resendOf ? { resendOf } : {}),
        ...(this.d.commitTimeoutMs ? { slowAfterMs: Math.max(0, this.d.commitTimeoutMs - 200) } : {}),
        resendGuardMs: RESEND_GUARD_MS,
        dedupWindowMs: recorder.settings.dedupWindowMs,
        signal: {
          action: signal.action,
          ticker: signal.ticker,
          ...(signal.quantity !== undefined ? { quantity: toStr(signal.quantity) } : {}),
          ...(signal.price !== undefined ? { price: toStr(signal.price) } : {}),
          ...(signal.time ? { time: signal.time.toISOString() } : {}),
          ...(ageMs !== undefined ? { ageMs: Math.round(ageMs) } : {}),
          payload: signalToJson(signal),
        },
        instanceId: this.d.instanceId,
        leaseMs: this.d.leaseMs,
      });
    } catch (error) {
      if (await this.committedAnyway(signalId)) {
        log.warn(
          { ...about, event: "SignalAcceptedAfterError", error: String(error) },
          "commit succeeded despite a connection error",
        );
        return this.accepted(signalId, 0);
      }
      this.count("not_recorded");
      log.error(
        { ...about, event: "SignalNotRecorded", error: String(error) },
        "could not record the signal",
      );
      return {
        status: 503,
        body: {
          status: "error",
          error: { code: "not_recorded", message: "The signal could not be recorded; please resend." },
        },
      };
    }
    this.d.metrics?.stage("committed", raw.receivedAt);
    if (result.outcome === "duplicate") {
      this.count("duplicate");
      log.info({ ...about, event: "SignalDuplicate", duplicateOf: result.signalId }, "duplicate signal");
      return { status: 200, body: { status: "duplicate", signalId: result.signalId } };
    }
    log.info(
      {
        ...about,
        event: "SignalAccepted",
        // The intake's own share of a signal's latency (the benchmark's breakdown reads it).
        committedAfterMs: Date.now() - raw.receivedAt.getTime(),
        traders: result.executions.length,
        action: signal.action,
        ticker: signal.ticker,
      },
      "signal accepted",
    );
    // Executions of accounts another relay holds are its to run (woken by accept_signal's NOTIFY).
    dispatchInOrder(
      result.executions
        .filter((e) => e.local)
        .map((e) => ({
          executionId: asExecutionId(e.id),
          signalId: asSignalId(signalId),
          traderId: asTraderId(e.traderId),
          accountId: asAccountId(e.accountId),
          recorderId: asRecorderId(recorder.id),
          receivedAt: raw.receivedAt,
          signal,
          resume: false,
        })),
    );
    return this.accepted(signalId, result.executions.length);
  }

  private accepted(signalId: string, traders: number): IntakeReply {
    this.count("accepted");
    return { status: 202, body: { status: "accepted", signalId, traders } };
  }

  /** After an error mid-commit, the signal may still have been committed: look before saying 503. */
  private async committedAnyway(signalId: string): Promise<boolean> {
    try {
      const check = this.d.sql`select 1 from signals where id = ${signalId}`;
      const timeout = new Promise<never>((_, no) => setTimeout(() => no(new Error("timeout")), 1000).unref());
      const rows = await Promise.race([check, timeout]);
      return rows.length > 0;
    } catch {
      return false;
    }
  }

  private async reject(
    raw: RawWebhook,
    outcome: WebhookOutcome,
    status: number,
    message: string,
    ageMs?: number,
  ): Promise<IntakeReply> {
    // No recorder owns it (unknown token, or refused before the lookup): its body is cut to a prefix and,
    // past its address's limit, it is counted into an aggregate row instead of a row of its own.
    const counted =
      raw.recorderId === null ? this.d.unknownTokens?.admit(raw, outcome, status, message) : undefined;
    if (counted) {
      this.count(outcome);
      const { written } = counted;
      this.logWrites.add(written);
      void written.finally(() => this.logWrites.delete(written));
      await Promise.race([written, new Promise((r) => setTimeout(r, REJECTION_LOG_WAIT_MS).unref())]);
      return counted.reply;
    }
    this.count(outcome);
    // The reply waits for the log write up to a bound; the write itself keeps trying after we answer.
    const write: Promise<void> = withRetry(
      () =>
        recordRejectedWebhook(
          this.d.sql,
          raw,
          outcome,
          status,
          message,
          ageMs === undefined ? undefined : Math.round(ageMs),
        ),
      REJECTION_LOG_RETRY_MS,
      (error, attempt) =>
        this.d.logger.warn(
          { event: "WebhookLogRetried", outcome, attempt, error: String(error) },
          "the raw webhook log write failed; trying again",
        ),
    )
      .then(() => undefined)
      .catch((error) => {
        // The reply stands even if the log write fails: a rejected alert must not become a 5xx re-send.
        this.d.logger.error(
          { event: "WebhookNotLogged", outcome, error: String(error) },
          "could not write the raw webhook log",
        );
      })
      .finally(() => this.logWrites.delete(write));
    this.logWrites.add(write);
    await Promise.race([write, new Promise((r) => setTimeout(r, REJECTION_LOG_WAIT_MS).unref())]);
    this.d.logger.info(
      { event: "WebhookRejected", outcome, recorderId: raw.recorderId, sourceIp: raw.sourceIp },
      message,
    );
    const statusWord =
      outcome === "stale" || outcome === "invalid" || outcome === "disabled" ? outcome : "rejected";
    return { status, body: { status: statusWord, error: { code: outcome, message } } };
  }

  /**
   * The symbol this recorder's traders would trade, checked against the contract catalogue before
   * anything is committed (stock tickers only where a Webull trader follows the recorder).
   */
  private symbolProblem(recorder: RecorderRow, signal: Signal): string | undefined {
    const traders = this.d.directory.tradersOf(recorder.id).filter((t) => t.enabled);
    // Every trader trades its own override: the alert's ticker is not what reaches a broker.
    if (traders.length > 0 && traders.every((t) => t.overrides.ticker)) return undefined;
    const equities = traders.some((t) => this.d.directory.account(t.accountId)?.broker === "webull");
    return symbolProblem(recorder.settings.ticker ?? signal.ticker, {
      equities,
      ...(this.d.now ? { now: this.d.now() } : {}),
    });
  }

  private count(outcome: string): void {
    const c = this.d.counters;
    if (c) c.set(outcome, (c.get(outcome) ?? 0) + 1);
    this.d.metrics?.webhooks.inc({ outcome });
  }
}

function keptHeaders(request: WebhookSource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const v = request.header(name);
    if (v !== null) out[name] = storable(v, 256);
  }
  return out;
}
