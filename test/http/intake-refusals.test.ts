/**
 * Refused at intake, before anything is committed (issue 13): a ticker no broker here trades and a time
 * that does not exist get a 422 saying why, instead of being accepted and failing later.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;
let token: string;
beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
  ({ token } = await paperSetup(t, {
    multipliers: [1],
    settings: { quantity: 1 },
    recorderName: "refusals",
  }));
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

const counts = async () =>
  (
    await db.sql`select (select count(*) from signals)::int as signals, (select count(*) from executions)::int as executions`
  )[0];

describe("intake refusals", () => {
  it("I01 an unknown ticker is refused with 422 and the reason; nothing is committed", async () => {
    const before = await counts();
    for (const ticker of ["XYZ1!", "FOO", "ABCZ6", "CME_MINI:ABC1!"]) {
      const res = await t.webhook(token, JSON.stringify({ ticker, action: "buy", price: "21000" }));
      expect(res.status, ticker).toBe(422);
      expect(res.body).toMatchObject({ status: "invalid", error: { code: "invalid" } });
      expect((res.body.error as { message: string }).message).toMatch(
        /Unknown ticker .*not a futures product/,
      );
    }
    expect(await counts()).toEqual(before);
    const [logged] =
      await db.sql`select count(*)::int as n from webhooks where outcome = 'invalid' and body like '%XYZ1!%'`;
    expect(logged?.n).toBe(1);
    for (const ticker of ["MNQ1!", "CME_MINI:MNQ1!", "ESZ6", "CL1!", "6E1!"]) {
      const res = await t.webhook(token, JSON.stringify({ ticker, action: "cancel", id: `ok-${ticker}` }));
      expect(res.status, ticker).toBe(202);
    }
  });

  it("I02 an impossible date is refused; a real one passes", async () => {
    for (const time of [
      "2026-02-30T10:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-04-31",
      "2026-01-01T24:00:00Z",
    ]) {
      const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "exit", time }));
      expect(res.status, time).toBe(422);
      expect((res.body.error as { message: string }).message).toMatch(/not a real ISO-8601 time/);
    }
    const ok = await t.webhook(
      token,
      JSON.stringify({ ticker: "MNQ1!", action: "exit", time: new Date().toISOString(), id: "real-time" }),
    );
    expect(ok.status).toBe(202);
  });

  it("I03 the recorder's ticker setting is what is checked, when it has one", async () => {
    const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "override",
      ticker: "MES1!",
    });
    const res = await t.webhook(
      rec.body.webhookToken,
      JSON.stringify({ ticker: "NOTREAL", action: "cancel" }),
    );
    expect(res.status).toBe(202);
  });
});
