/**
 * One real PostgreSQL for the whole test run (embedded, durability off for speed), with a migrated template
 * database. Each test file clones its own database from the template in milliseconds (see db.ts).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { connect } from "../../src/db/client";
import { EmbeddedDatabase } from "../../src/db/embedded";
import { migrate } from "../../src/db/migrate";
import { createLogger } from "../../src/log";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = createLogger({ level: "warn" });
  const dataDir = join(process.cwd(), ".test-data", `pg-${process.pid}`);
  const db = new EmbeddedDatabase({ dataDir, logger, durable: false, maxConnections: 400 });
  await db.start();
  const admin = connect(db.urlFor("postgres"), logger, { max: 1 });
  await admin.unsafe("create database relay_template");
  await admin.end();
  const template = connect(db.urlFor("relay_template"), logger, { max: 1 });
  await migrate(template, logger);
  await template.end();
  project.provide("pgUrl", db.urlFor("postgres"));
  project.provide("pgTemplate", "relay_template");
  return async () => {
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
