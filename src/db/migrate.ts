/**
 * Applies the numbered plain-SQL migrations in sql/ (000001.sql, 000002.sql, ...), each in its own
 * transaction. A transaction-scoped advisory lock plus a re-check of the applied list inside it makes two
 * relays starting at once safe: the second waits, then sees the migration done and skips it.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log";
import type { Sql } from "./client";

const LOCK_KEY = 7_316_001; // arbitrary, stable: "relay migrations"
export const SQL_DIR = join(import.meta.dirname, "..", "..", "sql");

export async function migrate(sql: Sql, logger: Logger, dir = SQL_DIR): Promise<number> {
  await sql`
    create table if not exists migrations (
      id integer primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`.catch(async (error) => {
    // Two first starts race on the create; the loser simply finds the table there.
    if ((error as { code?: string }).code !== "23505") throw error;
  });
  const files = (await readdir(dir)).filter((f) => /^\d{6}\.sql$/.test(f)).sort();
  let applied = 0;
  for (const file of files) {
    const id = Number(file.slice(0, 6));
    const text = await readFile(join(dir, file), "utf8");
    const did = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
      const [done] = await tx`select 1 from migrations where id = ${id}`;
      if (done) return false;
      await tx.unsafe(text);
      await tx`insert into migrations (id, name) values (${id}, ${file})`;
      return true;
    });
    if (did) {
      applied++;
      logger.info({ event: "MigrationApplied", migration: file });
    }
  }
  return applied;
}
