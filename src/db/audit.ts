/** Audit trail of administrative actions (who, what, on what). */
import type { Sql } from "./client";

export async function audit(
  sql: Sql,
  actor: string,
  action: string,
  subject: string | null,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await sql`insert into audit (actor, action, subject, detail) values (${actor}, ${action}, ${subject}, ${sql.json(detail as never)})`;
}

export async function listAudit(sql: Sql, limit: number): Promise<Record<string, unknown>[]> {
  const rows =
    await sql`select id, at, actor, action, subject, detail from audit order by id desc limit ${limit}`;
  return rows.map((r) => ({ ...r, id: String(r.id) }));
}
