/** Small durable switches shared by every relay on this database. */
import type { Sql } from "./client";

export async function readState<T>(sql: Sql, key: string): Promise<T | undefined> {
  const [row] = await sql`select value from relay_state where key = ${key}`;
  return row ? (row.value as T) : undefined;
}

export async function writeState(sql: Sql, key: string, value: unknown): Promise<void> {
  await sql`
    insert into relay_state (key, value) values (${key}, ${sql.json(value as never)})
    on conflict (key) do update set value = excluded.value, updated_at = now()`;
}
