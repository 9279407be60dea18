/** The raw webhook log: every request to /webhook with what we answered. */
import type { Sql } from "./client";

export type WebhookOutcome =
  | "accepted"
  | "duplicate"
  | "stale"
  | "invalid"
  | "unknown_token"
  | "too_large"
  | "rate_limited"
  | "forbidden"
  | "disabled"
  | "incomplete";

export interface RawWebhook {
  receivedAt: Date;
  recorderId: string | null;
  tokenPrefix: string | null;
  sourceIp: string | null;
  contentType: string | null;
  headers: Record<string, string>;
  body: string | null;
  bodyBytes: number;
}

export async function recordRejectedWebhook(
  sql: Sql,
  w: RawWebhook,
  outcome: WebhookOutcome,
  httpStatus: number,
  error: string,
  ageMs?: number,
): Promise<string> {
  const [row] = await sql`
    insert into webhooks (received_at, recorder_id, token_prefix, source_ip, content_type, headers, body, body_bytes,
                          outcome, http_status, error, age_ms)
    values (${w.receivedAt}, ${w.recorderId}, ${w.tokenPrefix}, ${w.sourceIp}, ${w.contentType},
            ${sql.json(w.headers)}, ${w.body}, ${w.bodyBytes}, ${outcome}, ${httpStatus}, ${error}, ${ageMs ?? null})
    returning id`;
  return String(row?.id);
}

export interface WebhookListItem {
  id: string;
  receivedAt: Date;
  recorderId: string | null;
  tokenPrefix: string | null;
  sourceIp: string | null;
  contentType: string | null;
  body: string | null;
  bodyBytes: number;
  outcome: WebhookOutcome;
  httpStatus: number;
  error: string | null;
  signalId: string | null;
  ageMs: number | null;
}

export async function listWebhooks(
  sql: Sql,
  q: { limit: number; before?: string; outcome?: string; recorderId?: string; signalId?: string },
): Promise<WebhookListItem[]> {
  const rows = await sql`
    select id, received_at, recorder_id, token_prefix, source_ip, content_type, body, body_bytes, outcome, http_status,
           error, signal_id, age_ms
      from webhooks
     where (${q.before ?? null}::bigint is null or id < ${q.before ?? null})
       and (${q.outcome ?? null}::text is null or outcome = ${q.outcome ?? null})
       and (${q.recorderId ?? null}::uuid is null or recorder_id = ${q.recorderId ?? null})
       and (${q.signalId ?? null}::uuid is null or signal_id = ${q.signalId ?? null})
     order by id desc limit ${q.limit}`;
  return rows.map((r) => ({
    id: String(r.id),
    receivedAt: r.received_at as Date,
    recorderId: r.recorder_id as string | null,
    tokenPrefix: r.token_prefix as string | null,
    sourceIp: r.source_ip as string | null,
    contentType: r.content_type as string | null,
    body: r.body as string | null,
    bodyBytes: r.body_bytes as number,
    outcome: r.outcome as WebhookOutcome,
    httpStatus: r.http_status as number,
    error: r.error as string | null,
    signalId: r.signal_id as string | null,
    ageMs: r.age_ms === null ? null : Number(r.age_ms),
  }));
}
