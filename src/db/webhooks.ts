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
  /** Requests this row stands for: 1, or every request an aggregate row counts. */
  requests: number;
  /** Aggregate rows only: requests of one source address, minute, outcome and reply, counted together. */
  aggregate?: {
    minute: Date;
    lastReceivedAt: Date | null;
    totalBytes: number;
    tokenPrefixes: string[];
  };
}

export async function listWebhooks(
  sql: Sql,
  q: { limit: number; before?: string; outcome?: string; recorderId?: string; signalId?: string },
): Promise<WebhookListItem[]> {
  const rows = await sql`
    select id, received_at, recorder_id, token_prefix, source_ip, content_type, body, body_bytes, outcome, http_status,
           error, signal_id, age_ms, requests, aggregate_minute, last_received_at, total_bytes, token_prefixes
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
    requests: r.requests as number,
    ...(r.aggregate_minute
      ? {
          aggregate: {
            minute: r.aggregate_minute as Date,
            lastReceivedAt: r.last_received_at as Date | null,
            totalBytes: Number(r.total_bytes ?? 0),
            tokenPrefixes: (r.token_prefixes as string[] | null) ?? [],
          },
        }
      : {}),
  }));
}

/**
 * Requests of one source address, minute, outcome and reply counted into one row (an unknown-token flood):
 * the row is created by the first batch and added to by the next ones, by every relay on the database.
 */
export interface WebhookAggregate {
  minute: Date;
  sourceIp: string | null;
  outcome: WebhookOutcome;
  httpStatus: number;
  error: string;
  requests: number;
  totalBytes: number;
  /** The largest single body among them (body_bytes of the row). */
  maxBytes: number;
  firstAt: Date;
  lastAt: Date;
  tokenPrefixes: string[];
}

/** Most token prefixes one aggregate row keeps. */
export const AGGREGATE_PREFIXES = 20;

/** Adds a batch to the aggregate rows (one statement); returns the keys of rows this batch created. */
export async function recordWebhookAggregates(
  sql: Sql,
  rows: WebhookAggregate[],
): Promise<{ sourceIp: string | null; outcome: string; httpStatus: number }[]> {
  if (rows.length === 0) return [];
  const json = rows.map((r) => ({
    minute: r.minute.toISOString(),
    source_ip: r.sourceIp,
    outcome: r.outcome,
    http_status: r.httpStatus,
    error: r.error,
    requests: r.requests,
    total_bytes: r.totalBytes,
    max_bytes: r.maxBytes,
    first_at: r.firstAt.toISOString(),
    last_at: r.lastAt.toISOString(),
    token_prefixes: r.tokenPrefixes.slice(0, AGGREGATE_PREFIXES),
  }));
  const created = await sql`
    insert into webhooks as w (received_at, source_ip, headers, body, body_bytes, outcome, http_status, error,
                               requests, aggregate_minute, last_received_at, total_bytes, token_prefixes)
    select r.first_at, r.source_ip, '{}', null, r.max_bytes, r.outcome, r.http_status, r.error,
           r.requests, r.minute, r.last_at, r.total_bytes, r.token_prefixes
      from jsonb_to_recordset(${sql.json(json as never)}) as r(
             minute timestamptz, source_ip text, outcome text, http_status integer, error text, requests integer,
             total_bytes bigint, max_bytes integer, first_at timestamptz, last_at timestamptz, token_prefixes text[])
     order by r.minute, r.source_ip, r.outcome, r.http_status
    on conflict (aggregate_minute, (coalesce(source_ip, '')), outcome, http_status) where aggregate_minute is not null
    do update set requests = w.requests + excluded.requests,
                  total_bytes = w.total_bytes + excluded.total_bytes,
                  body_bytes = greatest(w.body_bytes, excluded.body_bytes),
                  last_received_at = greatest(w.last_received_at, excluded.last_received_at),
                  token_prefixes = case
                    when cardinality(w.token_prefixes) >= ${AGGREGATE_PREFIXES} then w.token_prefixes
                    else array(select distinct p from unnest(w.token_prefixes || excluded.token_prefixes) p
                                order by p limit ${AGGREGATE_PREFIXES}) end
    returning (xmax = 0) as created, source_ip, outcome, http_status`;
  return created
    .filter((r) => r.created === true)
    .map((r) => ({
      sourceIp: r.source_ip as string | null,
      outcome: r.outcome as string,
      httpStatus: r.http_status as number,
    }));
}

/**
 * Estimated bytes one row costs beyond its own columns (pg_column_size): tuple header, line pointer and its
 * entries in the table's indexes. Row sizes below are estimates made of the two.
 */
export const WEBHOOK_ROW_OVERHEAD_BYTES = 100;

/** The raw log's footprint on disk: heap, TOAST and indexes (space freed by deletes is reused, not returned). */
export async function webhookLogDiskBytes(sql: Sql): Promise<number> {
  const [row] = await sql`select pg_total_relation_size('webhooks')::bigint as n`;
  return Number(row?.n ?? 0);
}

/** Estimated bytes of the rows after `afterId`, and the newest id: what the log grew by since a measure. */
export async function webhookBytesAfter(
  sql: Sql,
  afterId: string,
): Promise<{ bytes: number; maxId: string }> {
  const [row] = await sql`
    select coalesce(sum(pg_column_size(w.*) + ${WEBHOOK_ROW_OVERHEAD_BYTES}), 0)::bigint as bytes,
           coalesce(max(id), ${afterId}::bigint) as max_id
      from webhooks w where id > ${afterId}`;
  return { bytes: Number(row?.bytes ?? 0), maxId: String(row?.max_id ?? afterId) };
}

export interface WebhookLogMeasure {
  /** Estimated bytes of every row. */
  totalBytes: number;
  /** Of which rows of accepted signals (never pruned for size, only for age). */
  keptBytes: number;
  maxId: string;
  /**
   * The newest prunable row that does not fit in `targetBytes` once the kept rows are counted: deleting the
   * prunable rows up to it brings the estimate under the target. Null when everything fits.
   */
  cutoffId: string | null;
}

/** Measures the raw log row by row (one scan) and finds where it must be cut to fit `targetBytes`. */
export async function measureWebhookLog(sql: Sql, targetBytes: number): Promise<WebhookLogMeasure> {
  const [row] = await sql`
    with sized as materialized (
      select id, outcome = 'accepted' as kept, pg_column_size(w.*)::bigint + ${WEBHOOK_ROW_OVERHEAD_BYTES} as bytes
        from webhooks w
    ), totals as (
      select coalesce(sum(bytes), 0) as total, coalesce(sum(bytes) filter (where kept), 0) as kept,
             coalesce(max(id), 0) as max_id
        from sized
    )
    select t.total::bigint as total, t.kept::bigint as kept, t.max_id,
           (select x.id from (select id, sum(bytes) over (order by id desc) as newer from sized where not kept) x
             where x.newer > ${targetBytes}::bigint - t.kept order by x.id desc limit 1) as cutoff
      from totals t`;
  return {
    totalBytes: Number(row?.total ?? 0),
    keptBytes: Number(row?.kept ?? 0),
    maxId: String(row?.max_id ?? "0"),
    cutoffId: row?.cutoff === null || row?.cutoff === undefined ? null : String(row.cutoff),
  };
}

/**
 * Deletes up to `limit` rows received before `before`, oldest first. Rows of accepted signals go too: their
 * signal stays and its webhook reference becomes null (foreign key `on delete set null`).
 */
export async function deleteWebhooksReceivedBefore(
  sql: Sql,
  before: Date,
  limit: number,
): Promise<{ deleted: number; accepted: number; bytes: number }> {
  const rows = await sql`
    with doomed as (
      select id from webhooks where received_at < ${before} order by received_at limit ${limit}
    )
    delete from webhooks w using doomed d where w.id = d.id
    returning w.outcome, pg_column_size(w.*) + ${WEBHOOK_ROW_OVERHEAD_BYTES} as bytes`;
  return {
    deleted: rows.length,
    accepted: rows.filter((r) => r.outcome === "accepted").length,
    bytes: rows.reduce((n, r) => n + Number(r.bytes), 0),
  };
}

/**
 * Deletes up to `limit` prunable rows (all but accepted signals') with `afterId` < id <= `upToId`, oldest
 * first; returns how many, the last id deleted (where the next batch starts) and their estimated bytes.
 */
export async function deleteWebhooksUpTo(
  sql: Sql,
  afterId: string,
  upToId: string,
  limit: number,
): Promise<{ deleted: number; lastId: string | null; bytes: number }> {
  const rows = await sql`
    with doomed as (
      select id from webhooks
       where id > ${afterId} and id <= ${upToId} and outcome <> 'accepted'
       order by id limit ${limit}
    )
    delete from webhooks w using doomed d where w.id = d.id
    returning w.id, pg_column_size(w.*) + ${WEBHOOK_ROW_OVERHEAD_BYTES} as bytes`;
  let last: bigint | null = null;
  for (const r of rows) {
    const id = BigInt(r.id as string);
    if (last === null || id > last) last = id;
  }
  return {
    deleted: rows.length,
    lastId: last === null ? null : String(last),
    bytes: rows.reduce((n, r) => n + Number(r.bytes), 0),
  };
}
