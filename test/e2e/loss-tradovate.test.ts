/**
 * The loss monitor on the Tradovate wire (simulator behind a cuttable TCP proxy): md quotes drive the
 * P&L, a breach is one `order/liquidateposition` (the broker cancels the exits with the position: the
 * relay never cancels a stop first), a refused liquidation is retried until flat, a breach during an
 * outage is flattened when the session is back, and a trader sharing its sub-account is closed with its
 * own market order before its own stop is cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { asBrokerAccountId } from "../../src/domain/ids";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { bookedQty, eventsOf, type MonitoredRelay, settled, startMonitoredRelay } from "../monitor/harness";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { TcpProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let sim: TradovateSim;
let proxy: TcpProxy;
let m: MonitoredRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new TradovateSim();
  await sim.start();
  proxy = new TcpProxy("127.0.0.1", sim.port);
  const port = await proxy.start();
  const rest = `http://127.0.0.1:${port}/v1`;
  m = await startMonitoredRelay({
    url: db.url,
    logLevel: "info",
    env: {
      TRADOVATE_DEMO_URL: rest,
      TRADOVATE_LIVE_URL: rest,
      TRADOVATE_MD_URL: `ws://127.0.0.1:${port}/md/v1/websocket`,
    },
  });
});
afterAll(async () => {
  await m.stop();
  await proxy.stop();
  await sim.stop();
  await db.drop();
});

/** A Tradovate login in the simulator and its relay account. */
async function login(name: string): Promise<{ accountId: string; brokerAccountId: string }> {
  const { accounts } = sim.addUser({
    name,
    password: `pw-${name}`,
    accounts: [{ name: `DEMO-${name}`, balance: dec(50_000) }],
  });
  const account = await m.t.api<{ id: string; status: string }>("POST", "/api/accounts", {
    name: `Tradovate ${name}`,
    broker: "tradovate",
    environment: "demo",
    credentials: {
      username: name,
      password: `pw-${name}`,
      appId: "Relay",
      appVersion: "1.0",
      deviceId: `dev-${name}`,
    },
  });
  expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
  return { accountId: account.body.id, brokerAccountId: String(accounts[0]?.id) };
}

async function trader(accountId: string, o: { maxDailyLoss?: number; settings?: Record<string, unknown> }) {
  const recorder = await m.t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `TV ${Math.random().toString(36).slice(2, 8)}`,
    quantity: 1,
    ...o.settings,
  });
  const t = await m.t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: recorder.body.id,
    accountId,
    ...(o.maxDailyLoss !== undefined ? { maxDailyLoss: o.maxDailyLoss } : {}),
  });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
  return { traderId: t.body.id, token: recorder.body.webhookToken, recorderId: recorder.body.id };
}

async function signal(token: string, body: Record<string, unknown>) {
  const res = await m.t.webhook(token, JSON.stringify(body));
  expect(res.status).toBe(202);
  return (await settled(m.t, res.body.signalId as string))[0];
}

/** Moves the simulator's market and waits until the monitor has priced the trader at it. */
async function quote(root: string, price: string, traderId: string): Promise<void> {
  sim.setPrice(sim.front(root), dec(price));
  await waitFor(async () => {
    const view = (await m.loss()).traders.find((t) => t.traderId === traderId);
    return view?.positions.some((p) => p.lastPrice === price) || view?.breach ? true : undefined;
  }, `the monitor to see ${root} at ${price}`);
}

const liquidations = () => sim.requests({ endpoint: "order/liquidateposition" });

describe("loss monitor on Tradovate", () => {
  it("T01 md quotes through the limit: one liquidateposition, exits cancelled by the broker, trader blocked", async () => {
    const { accountId, brokerAccountId } = await login("t01");
    const s = await trader(accountId, {
      maxDailyLoss: 30,
      settings: { takeProfit: [{ ticks: 100, trimPercent: 100 }], stopLossTicks: 100 },
    });
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    const session = await m.t.relay.services.pool.session(accountId);
    expect(await session.workingOrders(asBrokerAccountId(brokerAccountId))).toHaveLength(2);
    const cancelsBefore = sim.requests({ endpoint: "order/cancelorder" }).length;

    await quote("MNQ", "20995", s.traderId); // -10
    expect(liquidations()).toHaveLength(0);
    sim.setPrice(sim.front("MNQ"), dec("20985")); // -30: the limit
    await waitFor(() => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === s.traderId), "flat");

    expect(liquidations()).toHaveLength(1);
    expect(liquidations()[0]?.body).toMatchObject({ accountId: Number(brokerAccountId), admin: false });
    // The relay cancelled nothing itself: the broker took the exits down together with the position.
    expect(sim.requests({ endpoint: "order/cancelorder" })).toHaveLength(cancelsBefore);
    const exits = sim.orders().filter((o) => o.role === "oco" && o.accountId === Number(brokerAccountId));
    expect(exits.map((o) => sim.orderStatus(o.orderId))).toEqual(["Canceled", "Canceled"]);
    expect(await session.positions(asBrokerAccountId(brokerAccountId))).toEqual([]);
    expect(await bookedQty(m.t, s.traderId)).toBe(0);
    const view = (await m.loss()).traders.find((t) => t.traderId === s.traderId);
    expect(view).toMatchObject({ realized: "-30", total: "-30", breach: { state: "flat", attempts: 1 } });

    const blocked = await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "20985" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toMatch(/daily loss limit 30 hit at \d\d:\d\d \(P&L -30\.00\)/);
    sim.setPrice(sim.front("MNQ"), dec("20950"));
    sim.setPrice(sim.front("MNQ"), dec("20900"));
    await quote("MNQ", "20890", s.traderId);
    expect(liquidations()).toHaveLength(1); // never a second flatten for one breach
    expect(sim.duplicateClOrdIds()).toEqual([]);
  });

  it("T02 a liquidation the broker refuses once is retried until the broker reads flat", async () => {
    const { accountId, brokerAccountId } = await login("t02");
    const s = await trader(accountId, { maxDailyLoss: 50 });
    sim.setPrice(sim.front("MES"), dec("6000"));
    await signal(s.token, { ticker: "MES1!", action: "buy", price: "6000" });
    await quote("MES", "5999", s.traderId);
    const before = liquidations().length;
    sim.rejectNext("order/liquidateposition", {
      failureReason: "UnknownReason",
      failureText: "Risk system busy",
    });
    sim.setPrice(sim.front("MES"), dec("5990")); // -50
    const flat = await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === s.traderId),
      "flat after the retry",
    );
    expect(flat.attempts).toBe(2);
    const sent = liquidations().slice(before);
    expect(sent).toHaveLength(2);
    expect(sent.every((r) => (r.body as { accountId: number }).accountId === Number(brokerAccountId))).toBe(
      true,
    );
    const session = await m.t.relay.services.pool.session(accountId);
    expect(await session.positions(asBrokerAccountId(brokerAccountId))).toEqual([]);
    expect(await bookedQty(m.t, s.traderId)).toBe(0);
    const rows = await m.t.sql`
      select leg, status, reason from broker_orders where trader_id = ${s.traderId} and leg like 'fl%' order by id`;
    expect(rows.map((r) => [r.leg, r.status])).toEqual([
      ["fl1", "rejected"],
      ["fl2", "filled"],
    ]);
    expect(rows[0]?.reason).toMatch(/Risk system busy/);
    const [breach] = await m.t.sql`select status, attempts from breaches where trader_id = ${s.traderId}`;
    expect(breach).toMatchObject({ status: "flat", attempts: 2 });
  });

  it("T03 a breach during a broker outage is flattened as soon as the session is back", async () => {
    const { accountId, brokerAccountId } = await login("t03");
    const s = await trader(accountId, { maxDailyLoss: 100 });
    sim.setPrice(sim.front("M2K"), dec("2200"));
    await signal(s.token, { ticker: "M2K1!", action: "buy", price: "2200" });
    await quote("M2K", "2192", s.traderId); // -40, inside the limit
    const before = liquidations().length;

    proxy.cut();
    const session = await m.t.relay.services.pool.session(accountId);
    await waitFor(() => session.status().state !== "ready", "the session to notice the outage");
    const patched = await m.t.api("PATCH", `/api/traders/${s.traderId}`, { maxDailyLoss: 30 });
    expect(patched.status).toBe(200);
    const waiting = await waitFor(async () => {
      const v = (await m.loss()).traders.find((t) => t.traderId === s.traderId);
      return v?.breach?.state === "waiting" ? v : undefined;
    }, "the breach to wait for the session");
    expect(waiting.breach?.reason).toMatch(/daily loss limit 30/);
    expect(liquidations().length).toBe(before);

    proxy.restore();
    await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === s.traderId),
      "flat once the session is back",
      30_000,
    );
    expect(liquidations().length - before).toBe(1);
    expect(await session.positions(asBrokerAccountId(brokerAccountId))).toEqual([]);
    expect(await bookedQty(m.t, s.traderId)).toBe(0);
  });

  it("T04 a trader sharing its sub-account is closed at market first, its own stop cancelled after", async () => {
    const { accountId, brokerAccountId } = await login("t04");
    const a = await trader(accountId, { maxDailyLoss: 10, settings: { stopLossTicks: 100 } });
    const b = await trader(accountId, { settings: { stopLossTicks: 100 } });
    sim.setPrice(sim.front("MYM"), dec("45000"));
    await signal(a.token, { ticker: "MYM1!", action: "buy", price: "45000" });
    await signal(b.token, { ticker: "MYM1!", action: "buy", price: "45000" });
    const seqBefore = sim.requests().at(-1)?.seq ?? 0;
    const liquidationsBefore = liquidations().length;
    sim.setPrice(sim.front("MYM"), dec("44980")); // MYM $0.5 a point: -10 each
    await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === a.traderId),
      "a flat",
    );

    expect(liquidations().length).toBe(liquidationsBefore); // a liquidation would have closed b too
    const after = sim.requests().filter((r) => r.seq > seqBefore);
    const close = after.find(
      (r) =>
        r.endpoint === "order/placeorder" &&
        String((r.body as { clOrdId?: string }).clOrdId).endsWith("-fl1"),
    );
    const cancels = after.filter((r) => r.endpoint === "order/cancelorder");
    expect(close).toBeDefined();
    expect(cancels).toHaveLength(1);
    expect(cancels[0]?.seq).toBeGreaterThan(close?.seq ?? Number.POSITIVE_INFINITY);
    expect(await bookedQty(m.t, a.traderId)).toBe(0);
    expect(await bookedQty(m.t, b.traderId)).toBe(1);
    const session = await m.t.relay.services.pool.session(accountId);
    const positions = await session.positions(asBrokerAccountId(brokerAccountId));
    expect(positions.map((p) => p.netPos)).toEqual([1]);
    const working = await session.workingOrders(asBrokerAccountId(brokerAccountId));
    expect(working).toHaveLength(1); // b's stop
    expect(working[0]?.type).toBe("stop");
    expect(m.monitor.gate({ traderId: b.traderId, accountId })).toBeUndefined();
    expect(sim.duplicateClOrdIds()).toEqual([]);
  });
});
