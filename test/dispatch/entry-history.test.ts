/**
 * The entry filters' history as the executor reads it from the database (src/dispatch/plan-inputs.ts,
 * src/db/entry-history.ts), on the paper broker with the relay's clock moved by hand: the cooldown runs
 * between signal arrivals, and the day's entries start again at the trading-day roll (17:00 Chicago).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;
let clock = new Date("2026-11-19T22:40:00Z"); // Thursday 16:40 in Chicago (CST)
const at = (iso: string) => {
  clock = new Date(iso);
};

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, now: () => clock });
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

let alertId = 0;
async function send(token: string, action: string): Promise<{ decision: string; reason: string }> {
  const body = { ticker: "MNQ1!", action, price: "20000", id: `h${alertId++}` };
  const res = await t.webhook(token, JSON.stringify(body));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const [e] = await waitFor(async () => {
    const r = await t.api<{ executions: { status: string; decision: string; reason: string }[] }>(
      "GET",
      `/api/signals/${res.body.signalId}`,
    );
    const ex = r.body.executions;
    return ex.length === 1 && !["pending", "running"].includes(ex[0]?.status ?? "") ? ex : undefined;
  }, "the execution to finish");
  return e as { decision: string; reason: string };
}

describe("entry history from the database", () => {
  it("H01 the cooldown runs from the last entry's signal arrival on the relay's clock", async () => {
    const { token } = await paperSetup(t, {
      multipliers: [1],
      settings: { quantity: 1, cooldownSeconds: 60 },
    });
    at("2026-11-19T22:40:00Z");
    expect((await send(token, "buy")).decision).toBe("opened");
    at("2026-11-19T22:40:10Z");
    expect((await send(token, "exit")).decision).toBe("closed");
    at("2026-11-19T22:40:30Z");
    const refused = await send(token, "buy");
    expect(refused.decision).toBe("skipped_cooldown");
    expect(refused.reason).toBe("entry refused: cooldown: the last entry was 30 s ago (cooldown 60 s)");
    // A refused entry is not an entry: the cooldown still runs from 22:40:00.
    at("2026-11-19T22:41:00Z");
    expect((await send(token, "buy")).decision).toBe("opened");
  });

  it("H02 max entries per trading day start again at the 17:00 Chicago roll, not at midnight", async () => {
    const { token } = await paperSetup(t, {
      multipliers: [1],
      settings: { quantity: 1, maxEntriesPerDay: 1 },
    });
    at("2026-11-19T22:50:00Z"); // 16:50, Thursday's trading day
    expect((await send(token, "buy")).decision).toBe("opened");
    expect((await send(token, "exit")).decision).toBe("closed");
    at("2026-11-19T22:59:00Z");
    expect((await send(token, "buy")).decision).toBe("skipped_max_entries");
    at("2026-11-19T23:01:00Z"); // 17:01: Friday's trading day
    expect((await send(token, "buy")).decision).toBe("opened");
    at("2026-11-20T05:30:00Z"); // past midnight in Chicago, still Friday's trading day
    expect((await send(token, "exit")).decision).toBe("closed");
    expect((await send(token, "buy")).decision).toBe("skipped_max_entries");
  });
});
