/** Drift between brokers and the book, one open row per (account, sub-account, contract, kind). */
import type { Sql } from "./client";

export interface DriftKey {
  accountId: string;
  brokerAccountId: string;
  contract: string;
  kind: string;
}

/** Records a drift; true when it is new (not already open), so it is notified once. */
export async function recordDrift(
  sql: Sql,
  d: DriftKey & { detail: string; fixed: boolean },
): Promise<boolean> {
  const [row] = await sql`
    insert into drift (account_id, broker_account_id, contract, kind, detail, fixed)
    values (${d.accountId}, ${d.brokerAccountId}, ${d.contract}, ${d.kind}, ${d.detail}, ${d.fixed})
    on conflict (account_id, broker_account_id, contract, kind) where resolved_at is null
    do update set last_seen_at = now(), detail = excluded.detail, fixed = drift.fixed or excluded.fixed
    returning (xmax = 0) as inserted`;
  return row?.inserted === true;
}

/**
 * Closes open drifts of an account that the latest pass no longer found. Sub-accounts the pass could not
 * ask (`skipped`) keep theirs open. One-off fixes (a settled order, cancelled orphans) close at once.
 */
export async function resolveDrifts(
  sql: Sql,
  accountId: string,
  seen: DriftKey[],
  skipped: string[] = [],
): Promise<void> {
  const keep = seen.map((d) => `${d.brokerAccountId}|${d.contract}|${d.kind}`);
  await sql`
    update drift set resolved_at = now()
     where account_id = ${accountId} and resolved_at is null
       and not (broker_account_id = any(${skipped}::text[]))
       and not (broker_account_id || '|' || contract || '|' || kind = any(${keep}::text[]))`;
}

export interface DriftRow extends DriftKey {
  id: string;
  detail: string;
  fixed: boolean;
  detectedAt: Date;
  lastSeenAt: Date;
  resolvedAt: Date | null;
}

export async function listDrift(sql: Sql, q: { open?: boolean; limit: number }): Promise<DriftRow[]> {
  const rows = await sql`
    select * from drift where (${q.open ?? false} = false or resolved_at is null)
     order by detected_at desc limit ${q.limit}`;
  return rows.map((r) => ({
    id: String(r.id),
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    kind: r.kind as string,
    detail: r.detail as string,
    fixed: r.fixed as boolean,
    detectedAt: r.detected_at as Date,
    lastSeenAt: r.last_seen_at as Date,
    resolvedAt: r.resolved_at as Date | null,
  }));
}
