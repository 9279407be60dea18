/**
 * Many alerts committed by one statement in one transaction (sql/000016.sql: accept_signals calls
 * accept_signal for each, in order): they share one round trip and one WAL flush. All or nothing: if one
 * item raises, none is committed (src/intake/group-commit.ts then commits them one by one).
 *
 * @example
 *   const [first, second] = await acceptSignals(sql, [a, b]); // same order as given
 */
import type { Sql } from "./client";
import { type AcceptInput, type AcceptResult, signalJson, toAcceptResult, webhookJson } from "./signals";

function item(a: AcceptInput): Record<string, unknown> {
  return {
    signal_id: a.signalId,
    recorder_id: a.recorderId,
    received_at: a.webhook.receivedAt.toISOString(),
    webhook: webhookJson(a.webhook),
    alert_id: a.alertId ?? null,
    fingerprint: a.fingerprint,
    dedup_window_ms: a.dedupWindowMs,
    signal: signalJson(a.signal),
    instance: a.instanceId,
    lease_ms: a.leaseMs,
    resend_of: a.resendOf ?? null,
    slow_after_ms: a.slowAfterMs ?? null,
    resend_guard_ms: a.resendGuardMs ?? 30_000,
    trader_ids: a.traderIds ? [...a.traderIds] : null,
    source: a.source ?? "webhook",
  };
}

export async function acceptSignals(sql: Sql, inputs: readonly AcceptInput[]): Promise<AcceptResult[]> {
  const [row] = await sql`select accept_signals(${sql.json(inputs.map(item) as never)}) as results`;
  const results = row?.results as Record<string, unknown>[] | undefined;
  if (!Array.isArray(results) || results.length !== inputs.length)
    throw new Error(`accept_signals returned ${results?.length ?? "no"} results for ${inputs.length} alerts`);
  return results.map(toAcceptResult);
}
