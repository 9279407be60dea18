/** Signal sources. Settings are stored complete (defaults applied) and re-validated on every read. */
import type { RecorderId } from "../domain/ids";
import { type RecorderSettings, recorderSettingsSchema } from "../domain/settings";
import type { Sql } from "./client";

export interface RecorderRow {
  id: RecorderId;
  name: string;
  webhookToken: string;
  settings: RecorderSettings;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = "id, name, webhook_token, settings, enabled, created_at, updated_at";

function toRow(r: Record<string, unknown>): RecorderRow {
  return {
    id: r.id as RecorderId,
    name: r.name as string,
    webhookToken: r.webhook_token as string,
    settings: recorderSettingsSchema.parse(r.settings),
    enabled: r.enabled as boolean,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
}

export async function insertRecorder(
  sql: Sql,
  r: { name: string; webhookToken: string; settings: RecorderSettings; enabled: boolean },
): Promise<RecorderRow> {
  const [row] = await sql`
    insert into recorders (name, webhook_token, settings, enabled)
    values (${r.name}, ${r.webhookToken}, ${sql.json(r.settings as never)}, ${r.enabled})
    returning ${sql.unsafe(COLUMNS)}`;
  return toRow(row as Record<string, unknown>);
}

export async function listRecorders(sql: Sql): Promise<RecorderRow[]> {
  const rows =
    await sql`select ${sql.unsafe(COLUMNS)} from recorders where deleted_at is null order by created_at`;
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

export async function getRecorder(sql: Sql, id: string): Promise<RecorderRow | undefined> {
  const [row] =
    await sql`select ${sql.unsafe(COLUMNS)} from recorders where id = ${id} and deleted_at is null`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

export async function updateRecorder(
  sql: Sql,
  id: string,
  change: { name?: string; settings?: RecorderSettings; enabled?: boolean },
): Promise<RecorderRow | undefined> {
  const [row] = await sql`
    update recorders set name = coalesce(${change.name ?? null}, name),
           settings = coalesce(${change.settings ? sql.json(change.settings as never) : null}::jsonb, settings),
           enabled = coalesce(${change.enabled ?? null}, enabled), updated_at = now()
     where id = ${id} and deleted_at is null
    returning ${sql.unsafe(COLUMNS)}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

export async function softDeleteRecorder(sql: Sql, id: string): Promise<boolean> {
  const rows =
    await sql`update recorders set deleted_at = now() where id = ${id} and deleted_at is null returning id`;
  return rows.length > 0;
}

export async function rotateRecorderToken(sql: Sql, id: string, token: string): Promise<void> {
  await sql`update recorders set webhook_token = ${token}, updated_at = now() where id = ${id} and deleted_at is null`;
}
