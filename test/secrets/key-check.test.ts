/**
 * A wrong CREDENTIALS_KEY stops the relay at start with a message naming the variable, instead of starting
 * healthy and failing every execution later (issue 13).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { connect } from "../../src/db/client";
import { createLogger } from "../../src/log";
import { buildRelay } from "../../src/runtime";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { ADMIN_TOKEN, startTestRelay } from "../support/relay";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const WRONG = "ff".repeat(32);

async function startWith(keyHex: string): Promise<void> {
  const logger = createLogger({ level: "silent" });
  const sql = connect(db.url, logger, { max: 4 });
  const relay = buildRelay({
    config: loadConfig({ DATABASE_URL: db.url, CREDENTIALS_KEY: keyHex, RELAY_ADMIN_TOKEN: ADMIN_TOKEN }),
    sql,
    logger,
    credentialsKey: Buffer.from(keyHex, "hex"),
    processMetrics: false,
    warmTimeoutMs: 1_000,
  });
  try {
    await relay.start();
    await relay.stop(1_000);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe("the credentials key", () => {
  it("K01 a relay started with another CREDENTIALS_KEY than the one that sealed the credentials refuses to start", async () => {
    const t = await startTestRelay({ url: db.url });
    const acc = await t.api("POST", "/api/accounts", { name: "paper", broker: "paper" });
    expect(acc.status).toBe(201);
    await t.stop();
    await expect(startWith(WRONG)).rejects.toThrow(
      /CREDENTIALS_KEY is not the key the broker credentials in this database were sealed with/,
    );
  });

  it("K02 the check value alone catches a wrong key, even with every account deleted", async () => {
    await db.sql`update accounts set deleted_at = now()`;
    await expect(startWith(WRONG)).rejects.toThrow(/CREDENTIALS_KEY/);
    // The right key still starts.
    const t = await startTestRelay({ url: db.url });
    await t.stop();
  });
});
