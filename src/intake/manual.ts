/**
 * Manual trades (issue 15): a person's buy, sell or close from the console or POST /api/manual-trades
 * becomes a signal like a webhook's (source "manual"), committed by the same accept_signal with one
 * execution per chosen trader, then handed to the dispatcher: the executor and the planner decide what
 * each trader sends, so filters, loss limits, the kill switch and MAX_ORDER_CONTRACTS apply alike. There
 * is no other order path here.
 *
 * Idempotent: the caller's `requestId` fixes the signal id and its alert id, so the same request again (a
 * double click, a retried POST) finds the signal it made and sends nothing more. The same requestId with
 * a different trade is refused (409).
 *
 * @example
 *   const r = await manual.place({ requestId, recorderId, action: "buy", ticker: "MNQ1!", quantity: 1 }, "admin");
 *   // r.outcome === "accepted", r.signalId, r.traders: [{traderId, accountId, executionId}]
 */
import { createHash } from "node:crypto";
import { audit } from "../db/audit";
import type { Sql } from "../db/client";
import { acceptSignal } from "../db/signals";
import type { Directory } from "../directory";
import type { ExecutionJob } from "../dispatch/executor";
import { symbolProblem } from "../domain/contract";
import { type Dec, toStr } from "../domain/decimal";
import { asAccountId, asExecutionId, asRecorderId, asSignalId, asTraderId } from "../domain/ids";
import { type Action, canonicalJson, normalizeSignal, parseQuantity, signalToJson } from "../domain/signal";
import { RelayError } from "../errors";
import type { Logger } from "../log";

export interface ManualTradeRequest {
  /** The caller's idempotency key: the same key is the same trade. */
  requestId: string;
  recorderId: string;
  action: Action;
  ticker: string;
  /** Contracts before each trader's multiplier; unset: the recorder's quantity (as for an alert). */
  quantity?: number;
  /** A reference price (paper fills at it); orders are market orders. */
  price?: Dec;
  /** Only these traders of the recorder; unset: every enabled trader, with its multiplier. */
  traderIds?: string[];
}

export interface ManualTradeResult {
  outcome: "accepted" | "duplicate";
  signalId: string;
  traders: { traderId: string; accountId: string; executionId: string }[];
}

export interface ManualTradeDeps {
  sql: Sql;
  logger: Logger;
  directory: Directory;
  maxOrderContracts: number;
  instanceId: string;
  leaseMs: number;
  dispatch: (jobs: ExecutionJob[]) => void;
  now?: () => Date;
}

/** The signal id a requestId names: a UUID (version 8, name-based) from its hash. */
export function manualSignalId(requestId: string): string {
  const h = createHash("sha256").update(`manual-trade:${requestId.toLowerCase()}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const manualAlertId = (requestId: string) => `manual:${requestId.toLowerCase()}`;

export class ManualTrades {
  constructor(private readonly d: ManualTradeDeps) {}

  async place(r: ManualTradeRequest, actor: string): Promise<ManualTradeResult> {
    const signalId = manualSignalId(r.requestId);
    const alertId = manualAlertId(r.requestId);
    // What the request asks for; the same requestId must ask for the same thing.
    const print = createHash("sha256")
      .update(
        canonicalJson({
          requestId: r.requestId.toLowerCase(),
          recorderId: r.recorderId.toLowerCase(),
          action: r.action,
          ticker: r.ticker.trim().toUpperCase(),
          quantity: r.quantity,
          price: r.price === undefined ? undefined : toStr(r.price),
          traderIds: r.traderIds?.map((id) => id.toLowerCase()).sort(),
        }),
      )
      .digest("hex")
      .slice(0, 32);
    const earlier = await this.earlier(signalId, print);
    if (earlier) return earlier;

    const recorder = this.d.directory.recorder(r.recorderId);
    if (!recorder) throw new RelayError("unprocessable", "recorderId: no such recorder.");
    if (!recorder.enabled)
      throw new RelayError(
        "unprocessable",
        "recorderId: the recorder is disabled; enable it to trade through it.",
      );
    const followers = this.d.directory.tradersOf(recorder.id);
    for (const id of r.traderIds ?? []) {
      const t = followers.find((x) => x.id.toLowerCase() === id.toLowerCase());
      if (!t) throw new RelayError("unprocessable", `traderIds: trader ${id} does not follow this recorder.`);
      if (!t.enabled) throw new RelayError("unprocessable", `traderIds: trader ${id} is disabled.`);
    }
    const chosen = followers.filter(
      (t) => t.enabled && (!r.traderIds || r.traderIds.some((id) => id.toLowerCase() === t.id.toLowerCase())),
    );
    if (chosen.length === 0)
      throw new RelayError("unprocessable", "recorderId: the recorder has no enabled trader to trade for.");

    if (r.quantity !== undefined) {
      const q = parseQuantity(r.quantity, this.d.maxOrderContracts);
      if (!q.ok) throw new RelayError("invalid_request", `quantity: ${q.message}`);
    }
    const normalized = normalizeSignal(
      {
        ticker: r.ticker,
        action: r.action,
        id: alertId,
        ...(r.quantity !== undefined ? { quantity: r.quantity } : {}),
        ...(r.price !== undefined ? { price: toStr(r.price) } : {}),
      },
      { maxQuantity: this.d.maxOrderContracts },
    );
    if (!normalized.ok) throw new RelayError("invalid_request", normalized.message);
    const signal = normalized.signal;
    const overridden = chosen.every((t) => t.overrides.ticker);
    const equities = chosen.some((t) => this.d.directory.account(t.accountId)?.broker === "webull");
    const unknown = overridden
      ? undefined
      : symbolProblem(recorder.settings.ticker ?? signal.ticker, {
          equities,
          ...(this.d.now ? { now: this.d.now() } : {}),
        });
    if (unknown) throw new RelayError("invalid_request", `ticker: ${unknown}`);

    const receivedAt = this.d.now?.() ?? new Date();
    const body = JSON.stringify({ ...r, price: r.price === undefined ? undefined : toStr(r.price) });
    let result: Awaited<ReturnType<typeof acceptSignal>>;
    try {
      result = await acceptSignal(this.d.sql, {
        signalId,
        recorderId: recorder.id,
        webhook: {
          receivedAt,
          recorderId: recorder.id,
          tokenPrefix: null,
          sourceIp: null,
          contentType: "manual",
          headers: { source: "manual", actor },
          body,
          bodyBytes: Buffer.byteLength(body),
        },
        alertId,
        fingerprint: print,
        dedupWindowMs: 0,
        signal: {
          action: signal.action,
          ticker: signal.ticker,
          ...(signal.quantity !== undefined ? { quantity: toStr(signal.quantity) } : {}),
          ...(signal.price !== undefined ? { price: toStr(signal.price) } : {}),
          payload: signalToJson(signal),
        },
        instanceId: this.d.instanceId,
        leaseMs: this.d.leaseMs,
        traderIds: chosen.map((t) => t.id),
        source: "manual",
      });
    } catch (error) {
      // The same requestId committed at the same moment (another recorder's, or a race): look again.
      const raced = await this.earlier(signalId, print);
      if (raced) return raced;
      throw error;
    }
    if (result.outcome === "duplicate") {
      const raced = await this.earlier(signalId, print);
      if (raced) return raced;
      throw new RelayError("conflict", "requestId: this request was already used for another trade.");
    }
    const log = this.d.logger.child({ signalId, recorderId: recorder.id });
    log.info(
      { event: "ManualTradeAccepted", actor, action: signal.action, traders: result.executions.length },
      "manual trade accepted",
    );
    await audit(this.d.sql, actor, "trade.manual", signalId, {
      recorderId: recorder.id,
      action: signal.action,
      ticker: signal.ticker,
      quantity: r.quantity ?? null,
      traderIds: result.executions.map((x) => x.traderId),
    }).catch((error) =>
      log.warn({ event: "AuditNotRecorded", error: String(error) }, "could not audit the manual trade"),
    );
    this.d.dispatch(
      result.executions
        .filter((x) => x.local)
        .map((x) => ({
          executionId: asExecutionId(x.id),
          signalId: asSignalId(signalId),
          traderId: asTraderId(x.traderId),
          accountId: asAccountId(x.accountId),
          recorderId: asRecorderId(recorder.id),
          receivedAt,
          signal,
          resume: false,
        })),
    );
    return {
      outcome: "accepted",
      signalId,
      traders: result.executions.map((x) => ({
        traderId: x.traderId,
        accountId: x.accountId,
        executionId: x.id,
      })),
    };
  }

  /** The signal this requestId already made, if any; a different trade under the same id is a conflict. */
  private async earlier(signalId: string, print: string): Promise<ManualTradeResult | undefined> {
    const [row] = await this.d.sql`select fingerprint, source from signals where id = ${signalId}`;
    if (!row) return undefined;
    if (row.source !== "manual" || row.fingerprint !== print)
      throw new RelayError("conflict", "requestId: this request id was already used for a different trade.");
    const executions = await this.d.sql`
      select id, trader_id, account_id from executions where signal_id = ${signalId} order by created_at, id`;
    return {
      outcome: "duplicate",
      signalId,
      traders: executions.map((x) => ({
        traderId: x.trader_id as string,
        accountId: x.account_id as string,
        executionId: x.id as string,
      })),
    };
  }
}
