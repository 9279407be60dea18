/** POST /api/accounts/:id/connect: testing a login's connection, bounded, in the broker's words. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;
beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
});
afterAll(async () => {
  await t?.stop();
  await db?.drop();
});

interface Account {
  id: string;
  brokerAccounts: { id: string; name: string }[];
  session: { state: string; error: string | null } | null;
  status: string;
  statusMessage: string | null;
}

describe("POST /api/accounts/:id/connect", () => {
  it("AC01 a paper login answers ready with its sub-account, after a restart of the pool too", async () => {
    const made = await t.api<Account>("POST", "/api/accounts", { name: "AC01", broker: "paper" });
    await t.relay.services.pool.remove(made.body.id);
    const r = await t.api<Account>("POST", `/api/accounts/${made.body.id}/connect`);
    expect(r.status).toBe(200);
    expect(r.body.session?.state).toBe("ready");
    expect(r.body.brokerAccounts.map((b) => b.name)).toEqual(["AC01 (paper)"]);
    expect(JSON.stringify(r.body)).not.toContain("credentials");
  });

  it("AC02 a login whose broker cannot be reached answers, within its bound, not ready and says why", async () => {
    const made = await t.api<Account>("POST", "/api/accounts", {
      name: "AC02",
      broker: "projectx",
      credentials: {
        userName: "ac02",
        apiKey: "AC02-key",
        firmHost: "http://127.0.0.1:9",
        firmRtcHost: "http://127.0.0.1:9",
      },
    });
    expect(made.status).toBe(201);
    const r = await t.api<Account>("POST", `/api/accounts/${made.body.id}/connect`);
    expect(r.status).toBe(200);
    expect(r.body.session?.state).not.toBe("ready");
    expect(r.body.session?.error).toContain("ECONNREFUSED");
    expect(JSON.stringify(r.body)).not.toContain("AC02-key");
  });

  it("AC03 an unknown login is 404; without the token 401", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await t.api("POST", `/api/accounts/${unknown}/connect`)).status).toBe(404);
    expect((await t.api("POST", `/api/accounts/${unknown}/connect`, undefined, "wrong-token")).status).toBe(
      401,
    );
  });
});
