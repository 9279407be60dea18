/**
 * The loss monitor on the ProjectX wire (simulator: REST + SignalR hubs): hub quotes and hub P&L events
 * feed the same monitor. A follower crossing its loss limit is flattened through Position/closeContract
 * once; an account limit is breached by the gateway's own realized P&L (GatewayUserTrade, net of fees)
 * plus the open position, and the account is closed the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { setAccountLossSettings } from "../../src/monitor/index";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { bookedQty, eventsOf, type MonitoredRelay, settled, startMonitoredRelay } from "../monitor/harness";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let sim: ProjectXSim;
let m: MonitoredRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new ProjectXSim({ hubPingMs: 500 });
  await sim.start();
  m = await startMonitoredRelay({
    url: db.url,
    logLevel: "info",
    env: { PROJECTX_API_URL: sim.apiUrl, PROJECTX_RTC_URL: sim.rtcUrl.replace(/^ws/, "http") },
  });
});
afterAll(async () => {
  await m.stop();
  await sim.stop();
  await db.drop();
});

async function follower(name: string, o: { maxDailyLoss?: number; settings?: Record<string, unknown> }) {
  const { accounts } = sim.addUser({
    userName: name,
    apiKey: `key-${name}`,
    accounts: [{ name: `PRAC-${name}`, balance: 50_000 }],
  });
  const account = await m.t.api<{ id: string; status: string }>("POST", "/api/accounts", {
    name: `TopstepX ${name}`,
    broker: "projectx",
    environment: "demo",
    credentials: { userName: name, apiKey: `key-${name}` },
  });
  expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
  const recorder = await m.t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `PX ${name}`,
    quantity: 1,
    ...o.settings,
  });
  const trader = await m.t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: recorder.body.id,
    accountId: account.body.id,
    ...(o.maxDailyLoss !== undefined ? { maxDailyLoss: o.maxDailyLoss } : {}),
  });
  expect(trader.status, JSON.stringify(trader.body)).toBe(201);
  return {
    accountId: account.body.id,
    pxAccountId: accounts[0]?.id ?? 0,
    traderId: trader.body.id,
    token: recorder.body.webhookToken,
  };
}

async function signal(token: string, body: Record<string, unknown>) {
  const res = await m.t.webhook(token, JSON.stringify(body));
  expect(res.status).toBe(202);
  return (await settled(m.t, res.body.signalId as string))[0];
}

async function quote(price: string, traderId: string): Promise<void> {
  sim.setPrice("MNQ", dec(price));
  await waitFor(async () => {
    const view = (await m.loss()).traders.find((t) => t.traderId === traderId);
    return view?.positions.some((p) => p.lastPrice === price) || view?.breach ? true : undefined;
  }, `the monitor to see MNQ at ${price}`);
}

describe("loss monitor on ProjectX", () => {
  it("X01 a follower over its loss limit is flattened through one closeContract and blocked", async () => {
    const f = await follower("x01", { maxDailyLoss: 40, settings: { stopLossTicks: 100 } });
    sim.setPrice("MNQ", dec("21000"));
    expect((await signal(f.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    await quote("20990", f.traderId); // -20
    const closesBefore = sim.recorder.closes.length;
    sim.setPrice("MNQ", dec("20980")); // -40
    await waitFor(() => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === f.traderId), "flat");

    const closes = sim.recorder.closes.slice(closesBefore);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({
      accountId: f.pxAccountId,
      success: true,
      contractId: sim.contractId("MNQ"),
    });
    expect(sim.positions(f.pxAccountId)).toEqual([]);
    expect(sim.orders(f.pxAccountId).filter((o) => o.status === 1)).toEqual([]); // nothing left working
    expect(await bookedQty(m.t, f.traderId)).toBe(0);
    const view = (await m.loss()).traders.find((t) => t.traderId === f.traderId);
    expect(view).toMatchObject({ realized: "-40", breach: { state: "flat", attempts: 1 } });
    expect((await signal(f.token, { ticker: "MNQ1!", action: "buy", price: "20980" }))?.decision).toBe(
      "blocked_risk",
    );
    await quote("20900", f.traderId);
    expect(sim.recorder.closes.length - closesBefore).toBe(1);
    expect(sim.duplicateCustomTags()).toEqual([]);
  });

  it("X02 an account limit breached by the gateway's realized P&L (net of fees) plus the open position", async () => {
    const f = await follower("x02", {});
    await setAccountLossSettings(m.t.sql, f.accountId, { maxDailyLoss: dec(60) });
    await m.t.relay.services.directory.refresh();
    await waitFor(() => m.monitor.accountSettings(f.accountId)?.maxDailyLoss === dec(60), "limit loaded");
    sim.setPrice("MNQ", dec("21000"));
    await signal(f.token, { ticker: "MNQ1!", action: "buy", price: "21000" });
    sim.setPrice("MNQ", dec("20980"));
    expect((await signal(f.token, { ticker: "MNQ1!", action: "exit", price: "20980" }))?.decision).toBe(
      "closed",
    );
    // -40 gross, $0.37 a side in fees: the gateway's own realized figure reaches the monitor.
    await waitFor(async () => {
      const a = (await m.loss()).accounts.find((x) => x.accountId === f.accountId);
      return a?.realized === "-40.74" ? a : undefined;
    }, "the gateway's realized P&L");
    await signal(f.token, { ticker: "MNQ1!", action: "buy", price: "20980" });
    const closesBefore = sim.recorder.closes.length;
    sim.setPrice("MNQ", dec("20975")); // -10 open: -51.11 in all
    await waitFor(async () => {
      const a = (await m.loss()).accounts.find((x) => x.accountId === f.accountId);
      return a?.total === "-51.11" ? a : undefined;
    }, "the account marked to the quote");
    expect(eventsOf(m.events, "BreachDetected").filter((e) => e.accountId === f.accountId)).toHaveLength(0);
    sim.setPrice("MNQ", dec("20970")); // -20 open: -61.11
    const flat = await waitFor(
      () =>
        eventsOf(m.events, "BreachFlattened").find(
          (e) => e.scope === "account" && e.accountId === f.accountId,
        ),
      "the account flattened",
    );
    expect(flat.attempts).toBe(1);
    const detected = eventsOf(m.events, "BreachDetected").find((e) => e.accountId === f.accountId);
    expect(detected).toMatchObject({ scope: "account", limit: "60", pnl: "-61.11" });
    expect(sim.recorder.closes.length - closesBefore).toBe(1);
    expect(sim.positions(f.pxAccountId)).toEqual([]);
    expect(await bookedQty(m.t, f.traderId)).toBe(0);
    expect(m.monitor.gate({ traderId: f.traderId, accountId: f.accountId })).toMatch(
      /^account daily loss limit 60/,
    );
  });
});
