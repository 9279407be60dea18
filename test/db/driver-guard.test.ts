/**
 * postgres.js 3.4.x can throw from a timer when a connection dies under a pending write, killing the
 * process (porsager/postgres#1208). scripts/patch-postgres.mjs (postinstall) guards it; this proves the
 * installed driver carries the guard and that the failure now arrives as a catchable error.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/client";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const guarded = (outcome: string) => outcome.includes("write CONNECTION_CLOSED");

describe("postgres.js guard", () => {
  it("G01 the installed driver carries the nextWrite and type look-up guards (both builds)", () => {
    let root = dirname(createRequire(import.meta.url).resolve("postgres"));
    while (!root.endsWith("postgres")) root = dirname(root);
    for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
      const text = readFileSync(join(root, file), "utf8");
      expect(text).toContain("relay: guard nextWrite against a closed socket");
      // A connection cut during its array-type look-up (reconnects in an outage) is no unhandled rejection.
      expect(text).toContain("return fetchArrayTypes().catch(() => {})");
    }
  });

  it("G02 a query on a connection whose backend just died fails, it does not crash the process", async () => {
    // Whether the driver learns of the death from the read side (ECONNRESET) or only at the pending write
    // (the guarded path) is a race; each attempt kills a fresh backend until the guarded path has been hit.
    const uncaught: unknown[] = [];
    const record = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", record);
    const logger = createLogger({ level: "silent" });
    const killer = connect(db.url, logger, { max: 1 });
    const outcomes: string[] = [];
    try {
      for (let attempt = 0; attempt < 30 && !outcomes.some(guarded); attempt++) {
        const sql = connect(db.url, logger, { max: 1 });
        try {
          const reserved = await sql.reserve();
          const [row] = await reserved`select pg_backend_pid() as pid`;
          await killer`select pg_terminate_backend(${row?.pid as number})`;
          const outcome = await Promise.race([
            reserved`select 1`.then(
              () => "answered",
              (e: unknown) => `failed: ${String(e)}`,
            ),
            new Promise<string>((r) => setTimeout(() => r("no answer in 5 s"), 5_000)),
          ]);
          outcomes.push(outcome);
          reserved.release();
        } finally {
          await sql.end({ timeout: 1 });
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(uncaught).toEqual([]);
      expect(outcomes.every((o) => o.startsWith("failed: "))).toBe(true);
      expect(outcomes.some(guarded), outcomes.join("; ")).toBe(true);
    } finally {
      process.off("uncaughtException", record);
      await killer.end({ timeout: 1 });
    }
  });
});
