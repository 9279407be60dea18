/** A fresh database per test file, cloned from the migrated template. */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { connect, type Sql } from "../../src/db/client";
import { createLogger } from "../../src/log";

export interface TestDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const logger = createLogger({ level: "silent" });
  const base = inject("pgUrl");
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = connect(base, logger, { max: 1 });
  await admin.unsafe(`create database ${name} template ${inject("pgTemplate")}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  const sql = connect(url, logger, { max: 10 });
  return {
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const a = connect(base, logger, { max: 1 });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
