/**
 * A database that stalls (issue 13): the webhook answers 503 once WEBHOOK_COMMIT_TIMEOUT_MS passes instead
 * of making TradingView wait past its 3 s; a commit that lands afterwards still executes, and TradingView's
 * re-sends of that alert are its duplicates, on this relay or another one, never a second signal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DbProxy, viaProxy } from "../../scripts/faults/db-proxy";
import { connect } from "../../src/db/client";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe("a stalled database", () => {
  it("W01 answers 503 in time; the late commit executes; re-sends on this relay and another are duplicates", async () => {
    const proxy = new DbProxy(new URL(db.url).hostname, Number(new URL(db.url).port));
    await proxy.start();
    const sql = connect(viaProxy(db.url, proxy.port), createLogger({ level: "silent" }), { max: 6 });
    const a = await startTestRelay({ url: db.url, sql, env: { WEBHOOK_COMMIT_TIMEOUT_MS: "400" } });
    const b = await startTestRelay({ url: db.url, env: { INSTANCE_ID: "test-relay-b" } });
    try {
      const { token } = await paperSetup(a, {
        multipliers: [1],
        // A dedup window too short to catch the re-sends by itself.
        settings: { quantity: 1, dedupWindowMs: 50 },
        recorderName: "stalled",
      });
      await b.relay.services.directory.refresh();
      const body = JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" });
      const signals = async () =>
        (
          await db.sql`select count(*)::int as n from signals s join recorders r on r.id = s.recorder_id where r.webhook_token = ${token}`
        )[0]?.n as number;

      proxy.freeze();
      const first = await a.webhook(token, body);
      expect(first.status).toBe(503);
      expect(first.body).toMatchObject({ error: { code: "not_recorded" } });
      // A re-send while the database is still stalled: 503 again, and it will not be a second signal.
      const again = await a.webhook(token, body);
      expect(again.status).toBe(503);
      proxy.thaw();

      await waitFor(async () => ((await signals()) === 1 ? true : undefined), "the late commit");
      const [late] =
        await db.sql`select s.id from signals s join recorders r on r.id = s.recorder_id where r.webhook_token = ${token}`;
      await waitFor(async () => {
        const [e] = await db.sql`select status from executions where signal_id = ${late?.id as string}`;
        return e?.status === "done" ? true : undefined;
      }, "the late signal to execute");

      await new Promise((r) => setTimeout(r, 200));
      const resend = await a.webhook(token, body);
      expect(resend).toMatchObject({ status: 200, body: { status: "duplicate", signalId: late?.id } });
      // Another relay (TradingView's re-send may reach any) knows it from the database.
      await waitFor(async () => {
        const [g] =
          await db.sql`select resend_until from signal_fingerprints where signal_id = ${late?.id as string}`;
        return g?.resend_until ? true : undefined;
      }, "the re-send guard");
      const elsewhere = await b.webhook(token, body);
      expect(elsewhere).toMatchObject({ status: 200, body: { status: "duplicate", signalId: late?.id } });
      expect(await signals()).toBe(1);
      expect(a.logs.some((l) => l.includes('"event":"SignalCommittedLate"'))).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
      await sql.end({ timeout: 1 });
      await proxy.stop();
    }
  });
});
