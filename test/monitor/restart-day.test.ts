/**
 * Breach state is durable and belongs to a trading day: a restart keeps the trader blocked (and the kill
 * switch as it was), and the 17:00 Chicago roll, seen through an injected clock, re-enables the trader and
 * reports the day that ended.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";
import { bookedQty, eventsOf, type MonitoredRelay, settled, startMonitoredRelay } from "./harness";

let db: TestDatabase;
let clock = new Date("2026-01-13T16:00:00Z"); // Tuesday 10:00 in Chicago
const now = () => clock;
let m: MonitoredRelay;
let traderId = "";
let accountId = "";
let token = "";

beforeAll(async () => {
  db = await createTestDatabase();
  m = await startMonitoredRelay({ url: db.url, logLevel: "info", monitor: { now } });
});
afterAll(async () => {
  await m.stop();
  await db.drop();
});

async function signal(body: Record<string, unknown>) {
  const res = await m.t.webhook(token, JSON.stringify(body));
  expect(res.status).toBe(202);
  return (await settled(m.t, res.body.signalId as string))[0];
}

describe("breach across restarts and trading days", () => {
  it("R01 a restart keeps the breached trader blocked and the kill switch as it was", async () => {
    const recorder = await m.t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "Restart",
      quantity: 1,
    });
    const account = await m.t.api<{ id: string }>("POST", "/api/accounts", {
      name: "Paper",
      broker: "paper",
    });
    const trader = await m.t.api<{ id: string }>("POST", "/api/traders", {
      recorderId: recorder.body.id,
      accountId: account.body.id,
      maxDailyLoss: "40",
    });
    token = recorder.body.webhookToken;
    traderId = trader.body.id;
    accountId = account.body.id;
    expect((await signal({ ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe("opened");
    await m.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: "20980" });
    await waitFor(() => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === traderId), "flat");
    expect(await bookedQty(m.t, traderId)).toBe(0);
    expect((await m.emergency("/stop", { reason: "restart test" })).status).toBe(200);

    await m.stop();
    m = await startMonitoredRelay({ url: db.url, logLevel: "info", monitor: { now } });

    expect(m.monitor.gate({ traderId, accountId })).toMatch(/^kill switch: new entries stopped/);
    expect((await m.emergency("/resume")).status).toBe(200);
    expect(m.monitor.gate({ traderId, accountId })).toBe("daily loss limit 40 hit at 10:00 (P&L -40.00)");
    const blocked = await signal({ ticker: "MNQ1!", action: "buy", price: "20990" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toBe("entry refused: daily loss limit 40 hit at 10:00 (P&L -40.00)");
    // Today's realized loss came back from the database; the breach is not detected (or flattened) again.
    const view = (await m.loss()).traders.find((t) => t.traderId === traderId);
    expect(view).toMatchObject({ realized: "-40", tradingDay: "2026-01-13", breach: { state: "flat" } });
    expect(eventsOf(m.events, "BreachDetected")).toHaveLength(0);
    const [{ n }] = (await m.t.sql`
      select count(*)::int as n from broker_orders where trader_id = ${traderId} and leg like 'fl%'`) as unknown as [
      { n: number },
    ];
    expect(n).toBe(1);
  });

  it("R02 the 17:00 Chicago roll re-enables the trader and summarizes the day that ended", async () => {
    clock = new Date("2026-01-13T22:59:00Z"); // 16:59: still Tuesday's trading day
    await m.monitor.tick();
    expect(m.monitor.gate({ traderId, accountId })).toMatch(/daily loss limit 40/);
    expect(eventsOf(m.events, "DailySummary")).toHaveLength(0);

    clock = new Date("2026-01-13T23:00:05Z"); // 17:00:05: Wednesday's trading day has begun
    await m.monitor.tick();
    const summary = await waitFor(() => eventsOf(m.events, "DailySummary")[0], "the daily summary");
    expect(summary.tradingDay).toBe("2026-01-13");
    expect(summary.traders.find((t) => t.traderId === traderId)).toMatchObject({
      realizedPnl: "-40",
      trades: 1,
      accountName: "Paper",
      recorderName: "Restart",
    });
    expect(m.monitor.gate({ traderId, accountId })).toBeUndefined();
    const view = (await m.loss()).traders.find((t) => t.traderId === traderId);
    expect(view).toMatchObject({ realized: "0", tradingDay: "2026-01-14", breachedAt: null });
    expect((await signal({ ticker: "MNQ1!", action: "buy", price: "20991" }))?.decision).toBe("opened");
  });
});
