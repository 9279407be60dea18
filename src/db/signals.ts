/** Accepted signals: the one-round-trip accept function and the reads behind /api/signals. */
import type { Sql } from "./client";
import type { RawWebhook } from "./webhooks";

export interface AcceptedExecution {
  id: string;
  traderId: string;
  accountId: string;
  /** This relay holds the account: it runs the execution (else its holder is woken to claim it). */
  local: boolean;
}

export type AcceptResult =
  | { outcome: "accepted"; signalId: string; webhookId: string; executions: AcceptedExecution[] }
  | { outcome: "duplicate"; signalId: string; webhookId: string };

/** What accept_signal takes: one alert, its raw request and where its executions are leased. */
export interface AcceptInput {
  signalId: string;
  recorderId: string;
  webhook: RawWebhook;
  alertId: string | undefined;
  fingerprint: string;
  dedupWindowMs: number;
  signal: {
    action: string;
    ticker: string;
    quantity?: string;
    price?: string;
    time?: string;
    ageMs?: number;
    payload: unknown;
  };
  instanceId: string;
  leaseMs: number;
  /** The signal of an earlier attempt of this alert that was answered 503 (a re-send names it). */
  resendOf?: string;
  /** A commit later than this after arrival was answered 503: it guards itself against re-sends. */
  slowAfterMs?: number;
  resendGuardMs?: number;
  /** Only these traders of the recorder get an execution (a manual trade); unset: every enabled one. */
  traderIds?: readonly string[];
  /** Where the signal came from (signals.source); unset: a webhook. */
  source?: "webhook" | "manual";
}

/** accept_signal's p_webhook. */
export function webhookJson(w: RawWebhook): Record<string, unknown> {
  return {
    token_prefix: w.tokenPrefix,
    source_ip: w.sourceIp,
    content_type: w.contentType,
    headers: w.headers,
    body: w.body,
    body_bytes: w.bodyBytes,
  };
}

/** accept_signal's p_signal. */
export function signalJson(s: AcceptInput["signal"]): Record<string, unknown> {
  return {
    action: s.action,
    ticker: s.ticker,
    quantity: s.quantity ?? null,
    price: s.price ?? null,
    time: s.time ?? null,
    age_ms: s.ageMs ?? null,
    payload: s.payload,
  };
}

/** accept_signal's jsonb result, typed. */
export function toAcceptResult(result: Record<string, unknown>): AcceptResult {
  if (result.outcome === "duplicate") {
    return { outcome: "duplicate", signalId: String(result.signalId), webhookId: String(result.webhookId) };
  }
  return {
    outcome: "accepted",
    signalId: String(result.signalId),
    webhookId: String(result.webhookId),
    executions: (result.executions as AcceptedExecution[]) ?? [],
  };
}

/** One alert committed in its own transaction (one round trip). Many at once: src/db/accept-batch.ts. */
export async function acceptSignal(sql: Sql, a: AcceptInput): Promise<AcceptResult> {
  const w = a.webhook;
  const [row] = await sql`
    select accept_signal(
      ${a.signalId}, ${a.recorderId}, ${w.receivedAt},
      ${sql.json(webhookJson(w) as never)},
      ${a.alertId ?? null}, ${a.fingerprint}, ${a.dedupWindowMs},
      ${sql.json(signalJson(a.signal) as never)},
      ${a.instanceId}, ${a.leaseMs}, ${a.resendOf ?? null}::uuid, ${a.slowAfterMs ?? null}::integer,
      ${a.resendGuardMs ?? 30_000}::integer,
      ${a.traderIds ? [...a.traderIds] : null}::uuid[], ${a.source ?? "webhook"}
    ) as result`;
  return toAcceptResult(row?.result as Record<string, unknown>);
}

export interface SignalRow {
  id: string;
  recorderId: string;
  recorderName: string;
  receivedAt: Date;
  committedAt: Date;
  alertId: string | null;
  action: string;
  ticker: string;
  quantity: string | null;
  price: string | null;
  signalTime: Date | null;
  ageMs: number | null;
  payload: Record<string, unknown>;
  counts: Record<string, number>;
  /** "webhook", "leader" for a leader's fill (issue 14), or "manual" for a manual trade (issue 15). */
  source: string;
}

function toSignal(r: Record<string, unknown>): SignalRow {
  return {
    id: r.id as string,
    recorderId: r.recorder_id as string,
    recorderName: r.recorder_name as string,
    receivedAt: r.received_at as Date,
    committedAt: r.committed_at as Date,
    alertId: r.alert_id as string | null,
    action: r.action as string,
    ticker: r.ticker as string,
    quantity: r.quantity as string | null,
    price: r.price as string | null,
    signalTime: r.signal_time as Date | null,
    ageMs: r.age_ms === null ? null : Number(r.age_ms),
    payload: r.payload as Record<string, unknown>,
    counts: (r.counts as Record<string, number>) ?? {},
    source: (r.source as string) ?? "webhook",
  };
}

const SELECT = `
  select s.id, s.recorder_id, r.name as recorder_name, s.received_at, s.committed_at, s.alert_id, s.action, s.ticker,
         s.quantity, s.price, s.signal_time, s.age_ms, s.payload, s.source,
         (select coalesce(jsonb_object_agg(status, n), '{}') from
            (select status, count(*)::int n from executions e where e.signal_id = s.id group by status) c) as counts
    from signals s join recorders r on r.id = s.recorder_id`;

export async function listSignals(
  sql: Sql,
  q: { limit: number; before?: string; recorderId?: string },
): Promise<SignalRow[]> {
  const rows = await sql.unsafe(
    `${SELECT}
      where ($1::uuid is null or s.seq < (select seq from signals where id = $1::uuid))
        and ($2::uuid is null or s.recorder_id = $2)
      order by s.seq desc limit $3`,
    [q.before ?? null, q.recorderId ?? null, q.limit],
  );
  return rows.map((r) => toSignal(r as Record<string, unknown>));
}

export async function getSignal(sql: Sql, id: string): Promise<SignalRow | undefined> {
  const rows = await sql.unsafe(`${SELECT} where s.id = $1`, [id]);
  return rows[0] ? toSignal(rows[0] as Record<string, unknown>) : undefined;
}

/**
 * Marks a signal as summarized when none of its executions is still open; true for exactly one caller,
 * however many executions finish at the same moment.
 */
export async function claimSignalSummary(sql: Sql, signalId: string): Promise<boolean> {
  const rows = await sql`
    update signals set summarized_at = now()
     where id = ${signalId} and summarized_at is null
       and not exists (select 1 from executions where signal_id = ${signalId} and status in ('pending', 'running', 'waiting_for_broker'))
    returning id`;
  return rows.length > 0;
}

/**
 * An attempt answered 503 that committed afterwards: until `until`, an identical alert is a duplicate of
 * it (called once the late commit is known to have landed).
 */
export async function guardResend(
  sql: Sql,
  g: { recorderId: string; fingerprint: string; signalId: string; until: Date },
): Promise<void> {
  await sql`
    update signal_fingerprints set resend_until = ${g.until}
     where recorder_id = ${g.recorderId} and fingerprint = ${g.fingerprint} and signal_id = ${g.signalId}`;
}
