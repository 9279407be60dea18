/**
 * Prop-firm rules on the Tradovate wire, through the real relay: md quotes and the broker's cash and
 * position events drive the floor; breaches go through the monitor's flatten (one liquidateposition).
 * The monitor's clock is the real one plus an offset the last scenario moves past the 17:00 roll.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { asBrokerAccountId, asClientOrderId } from "../../src/domain/ids";
import { nextBoundary } from "../../src/domain/trading-day";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { eventsOf, type MonitoredRelay, settled, startMonitoredRelay } from "../monitor/harness";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let sim: TradovateSim;
let m: MonitoredRelay;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);
/** Moves the monitor's clock 5 s past the next 17:00 Chicago roll. */
const pastNextRoll = () => {
  const roll = nextBoundary(now(), { roll: "17:00", timeZone: "America/Chicago" });
  offsetMs = roll.getTime() + 5_000 - Date.now();
};
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new TradovateSim();
  await sim.start();
  const rest = `http://127.0.0.1:${sim.port}/v1`;
  env = {
    TRADOVATE_DEMO_URL: rest,
    TRADOVATE_LIVE_URL: rest,
    TRADOVATE_MD_URL: `ws://127.0.0.1:${sim.port}/md/v1/websocket`,
  };
  m = await startMonitoredRelay({ url: db.url, logLevel: "info", env, monitor: { now } });
});
afterAll(async () => {
  await m.stop();
  await sim.stop();
  await db.drop();
});

interface PropView {
  brokerAccountId: string;
  balance: string | null;
  equity: string | null;
  highWater: string | null;
  floor: string | null;
  drawdownLeft: string | null;
  lossLeft: string | null;
  profitTargetLeft: string | null;
  contractsInUse: number;
  settled: boolean;
  breaches: { rule: string; action: string; message: string; state: string }[];
}

interface Setup {
  accountId: string;
  brokerAccountId: string;
  traderId: string;
  token: string;
}

/** A Tradovate login with one sub-account, its prop rules, and one trader on it. */
async function setup(name: string, propRules: Record<string, unknown>[]): Promise<Setup> {
  const { accounts } = sim.addUser({
    name,
    password: `pw-${name}`,
    accounts: [{ name: `APEX-${name}`, balance: dec(50_000) }],
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
      deviceId: `d-${name}`,
    },
  });
  expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
  const patched = await m.t.api<{ propRules: unknown[] }>("PATCH", `/api/accounts/${account.body.id}`, {
    propRules,
  });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  expect(patched.body.propRules).toHaveLength(propRules.length);
  const recorder = await m.t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `TV ${name}`,
    quantity: 1,
  });
  const trader = await m.t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: recorder.body.id,
    accountId: account.body.id,
  });
  expect(trader.status, JSON.stringify(trader.body)).toBe(201);
  return {
    accountId: account.body.id,
    brokerAccountId: String(accounts[0]?.id),
    traderId: trader.body.id,
    token: recorder.body.webhookToken,
  };
}

async function signal(token: string, body: Record<string, unknown>) {
  // A unique alert id each: the same body twice within the dedup window is otherwise one signal.
  const res = await m.t.webhook(token, JSON.stringify({ id: randomUUID(), ...body }));
  expect(res.status).toBe(202);
  return (await settled(m.t, res.body.signalId as string))[0];
}

async function propView(s: Setup): Promise<PropView | undefined> {
  const a = (await m.loss()).accounts.find((x) => x.accountId === s.accountId) as unknown as
    | { prop: PropView[] }
    | undefined;
  return a?.prop.find((p) => p.brokerAccountId === s.brokerAccountId);
}

/** Waits until the rules have evaluated a settled figure matching `ok`. */
async function until(s: Setup, ok: (v: PropView) => boolean, what: string): Promise<PropView> {
  return waitFor(async () => {
    const v = await propView(s);
    return v?.settled && ok(v) ? v : undefined;
  }, what);
}

const liquidations = (brokerAccountId: string) =>
  sim
    .requests({ endpoint: "order/liquidateposition" })
    .filter((r) => (r.body as { accountId: number }).accountId === Number(brokerAccountId));

describe("prop rules on Tradovate", () => {
  it("W01 intraday trailing drawdown: flattened on the quote that reaches the floor, traders disabled, re-enabled by hand", async () => {
    const s = await setup("w01", [
      { startingBalance: 50_000, trailingDrawdown: { mode: "intraday", amount: 100 } },
    ]);
    await until(s, (v) => v.floor === "49900", "the starting floor");
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice(sim.front("MNQ"), dec("21020")); // +40 open: the high-water mark follows the quote
    let v = await until(s, (x) => x.equity === "50040", "equity 50040");
    expect(v).toMatchObject({ highWater: "50040", floor: "49940", drawdownLeft: "100" });
    sim.setPrice(sim.front("MNQ"), dec("20971")); // 49942: two dollars above the floor
    v = await until(s, (x) => x.equity === "49942", "equity 49942");
    expect(v).toMatchObject({ highWater: "50040", floor: "49940", drawdownLeft: "2", breaches: [] });
    expect(liquidations(s.brokerAccountId)).toHaveLength(0);
    expect(eventsOf(m.events, "BreachDetected").filter((e) => e.accountId === s.accountId)).toHaveLength(0);

    sim.setPrice(sim.front("MNQ"), dec("20970")); // 49940: the floor
    const flat = await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.accountId === s.accountId),
      "the sub-account flattened",
    );
    expect(flat).toMatchObject({ scope: "account", rule: "trailingDrawdown", attempts: 1 });
    const detected = eventsOf(m.events, "BreachDetected").find((e) => e.accountId === s.accountId);
    expect(detected?.message).toBe(
      "trailing drawdown: balance 49,940 reached the floor 49,940; account flattened and its traders disabled",
    );
    expect(detected).toMatchObject({ pnl: "49940", limit: "49940" });
    expect(liquidations(s.brokerAccountId)).toHaveLength(1);
    const session = await m.t.relay.services.pool.session(s.accountId);
    expect(await session.positions(asBrokerAccountId(s.brokerAccountId))).toEqual([]);
    await waitFor(async () => {
      const t = await m.t.api<{ enabled: boolean }>("GET", `/api/traders/${s.traderId}`);
      return t.body.enabled === false ? true : undefined;
    }, "the trader disabled");
    const row = await waitFor(async () => {
      const [r] = await m.t.sql`
        select status, action, traders_disabled_at from prop_breaches where account_id = ${s.accountId}`;
      return r?.traders_disabled_at ? r : undefined;
    }, "the disabling stored");
    expect(row).toMatchObject({ status: "flat", action: "fail" });
    // A disabled trader gets no execution at all: the signal is accepted and fans out to nobody.
    const res = await m.t.webhook(s.token, JSON.stringify({ ticker: "MNQ1!", action: "buy", id: "w01-off" }));
    expect(res.status).toBe(202);
    const off = await m.t.api<{ executions: unknown[] }>("GET", `/api/signals/${res.body.signalId}`);
    expect(off.body.executions).toEqual([]);

    // Re-enabled by hand: the trader trades again (the breach is not fired twice the same day).
    expect((await m.t.api("PATCH", `/api/traders/${s.traderId}`, { enabled: true })).status).toBe(200);
    await waitFor(
      () => (m.t.relay.services.directory.trader(s.traderId)?.enabled ? true : undefined),
      "enabled",
    );
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "20970" }))?.decision).toBe(
      "opened",
    );
    expect((await signal(s.token, { ticker: "MNQ1!", action: "exit", price: "20970" }))?.decision).toBe(
      "closed",
    );
    expect(liquidations(s.brokerAccountId)).toHaveLength(1);
    expect(sim.duplicateClOrdIds()).toEqual([]);
  });

  it("W02 pause: the floor reached refuses entries for the day, keeps the position and the trader enabled", async () => {
    const s = await setup("w02", [
      { startingBalance: 50_000, trailingDrawdown: { mode: "intraday", amount: 50, action: "pause" } },
    ]);
    sim.setPrice(sim.front("MES"), dec("6000"));
    expect((await signal(s.token, { ticker: "MES1!", action: "buy", price: "6000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice(sim.front("MES"), dec("5990")); // MES $5 a point: -50, the floor 49,950
    const v = await until(s, (x) => x.breaches.length > 0, "the pause");
    expect(v.breaches[0]).toMatchObject({
      rule: "trailingDrawdown",
      action: "pause",
      state: "paused",
      message:
        "trailing drawdown: balance 49,950 reached the floor 49,950; new entries refused for the rest of the trading day",
    });
    expect(liquidations(s.brokerAccountId)).toHaveLength(0);
    const session = await m.t.relay.services.pool.session(s.accountId);
    expect((await session.positions(asBrokerAccountId(s.brokerAccountId))).map((p) => p.netPos)).toEqual([1]);
    expect(m.t.relay.services.directory.trader(s.traderId)?.enabled).toBe(true);
    expect((await signal(s.token, { ticker: "MES1!", action: "exit", price: "5990" }))?.decision).toBe(
      "closed",
    );
    const blocked = await signal(s.token, { ticker: "MES1!", action: "buy", price: "5990" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toBe(`entry refused: ${v.breaches[0]?.message}`);
  });

  it("W03 a daily profit target locks entries without flattening; the next buy is refused with the reason", async () => {
    const s = await setup("w03", [{ dailyProfitTarget: { amount: 40 } }]);
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice(sim.front("MNQ"), dec("21010"));
    let v = await until(s, (x) => x.equity === "50020", "+20");
    expect(v).toMatchObject({ profitTargetLeft: "20", breaches: [] });
    sim.setPrice(sim.front("MNQ"), dec("21020")); // +40: the target
    v = await until(s, (x) => x.breaches.length > 0, "the target");
    expect(v).toMatchObject({ profitTargetLeft: "0" });
    expect(v.breaches[0]?.message).toBe(
      "daily profit target: the day's P&L 40 reached the target 40; new entries refused for the rest of the trading day",
    );
    expect(liquidations(s.brokerAccountId)).toHaveLength(0);
    expect((await signal(s.token, { ticker: "MNQ1!", action: "exit", price: "21020" }))?.decision).toBe(
      "closed",
    );
    const blocked = await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21020" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toMatch(/^entry refused: daily profit target: the day's P&L 40/);
  });

  it("W04 max contracts counts a working entry order placed by another tool", async () => {
    const s = await setup("w04", [{ maxContracts: 2 }]);
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    const session = await m.t.relay.services.pool.session(s.accountId);
    const spec = await session.contract("MNQ1!");
    const limit = await session.placeOrder({
      clientOrderId: asClientOrderId("other-tool-limit-1"),
      brokerAccountId: asBrokerAccountId(s.brokerAccountId),
      contract: spec,
      side: "buy",
      qty: 1,
      type: "limit",
      price: dec("20000"),
    });
    expect(limit.kind).toBe("accepted");
    await until(s, (x) => x.contractsInUse === 1, "the working limit counted");
    const refused = await signal(s.token, { ticker: "MNQ1!", action: "buy", quantity: 2, price: "21000" });
    expect(refused?.decision).toBe("blocked_risk");
    expect(refused?.reason).toBe(
      `entry refused: max contracts 2: 1 open or working, this buy of 2 ${spec.name} would make 3`,
    );
    expect(
      (await signal(s.token, { ticker: "MNQ1!", action: "buy", quantity: 1, price: "21000" }))?.decision,
    ).toBe("opened");
    await until(s, (x) => x.contractsInUse === 2, "one open and one working");
    const more = await signal(s.token, { ticker: "MNQ1!", action: "sell", quantity: 1, price: "21000" });
    expect(more?.decision).toBe("reversed"); // close 1, then sell 1: still 2 at most
    expect((await signal(s.token, { ticker: "MNQ1!", action: "exit", price: "21000" }))?.decision).toBe(
      "closed",
    );
  });

  it("W06 a sub-account's daily loss limit flattens once (action flatten) and refuses entries, traders kept enabled", async () => {
    const s = await setup("w06", [{ dailyLossLimit: { amount: 30 } }]);
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice(sim.front("MNQ"), dec("20990"));
    const v = await until(s, (x) => x.equity === "49980", "-20");
    expect(v.lossLeft).toBe("10");
    const account = (await m.loss()).accounts.find((a) => a.accountId === s.accountId) as unknown as {
      lossLeft: string | null;
    };
    expect(account.lossLeft).toBe("10"); // the least left anywhere on the login
    sim.setPrice(sim.front("MNQ"), dec("20985")); // -30
    const flat = await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.accountId === s.accountId),
      "flattened",
    );
    expect(flat).toMatchObject({ rule: "dailyLossLimit", attempts: 1 });
    expect(flat.message).toBe(
      "daily loss limit: the day's P&L -30 reached -30; account flattened and new entries refused for the rest of the trading day",
    );
    expect(liquidations(s.brokerAccountId)).toHaveLength(1);
    expect(m.t.relay.services.directory.trader(s.traderId)?.enabled).toBe(true);
    const blocked = await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "20985" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toBe(`entry refused: ${flat.message}`);
  });

  it("W05 eod: the floor moves only at the day roll, locks at start + lock, and a restart keeps it", async () => {
    const s = await setup("w05", [
      { startingBalance: 50_000, trailingDrawdown: { mode: "eod", amount: 100, lock: 50 } },
    ]);
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice(sim.front("MNQ"), dec("21040")); // +80 open
    await until(s, (x) => x.equity === "50080", "+80");
    expect((await signal(s.token, { ticker: "MNQ1!", action: "exit", price: "21040" }))?.decision).toBe(
      "closed",
    );
    let v = await until(
      s,
      (x) => x.balance === "50080" && x.equity === "50080",
      "the balance after the exit",
    );
    expect(v).toMatchObject({ highWater: "50000", floor: "49900" }); // intraday highs do not move it

    pastNextRoll();
    await m.monitor.tick();
    v = await until(s, (x) => x.highWater === "50080", "the end-of-day high");
    expect(v).toMatchObject({ floor: "49980", drawdownLeft: "100" });
    const [row] = await m.t.sql`
      select high_water::text, floor::text from prop_trail where account_id = ${s.accountId}`;
    expect(row).toMatchObject({ high_water: "50080", floor: "49980" });

    await m.stop();
    m = await startMonitoredRelay({ url: db.url, logLevel: "info", env, monitor: { now } });
    v = await until(s, (x) => x.balance === "50080", "the restarted relay's figures");
    expect(v).toMatchObject({ highWater: "50080", floor: "49980" });

    // Another winning day: the next roll stops the floor at the lock, start + 50.
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice(sim.front("MNQ"), dec("21050"));
    await until(s, (x) => x.equity === "50180", "+100 open");
    expect((await signal(s.token, { ticker: "MNQ1!", action: "exit", price: "21050" }))?.decision).toBe(
      "closed",
    );
    await until(s, (x) => x.balance === "50180" && x.equity === "50180", "the balance");
    pastNextRoll();
    await m.monitor.tick();
    v = await until(s, (x) => x.highWater === "50180", "the second end-of-day high");
    expect(v).toMatchObject({ floor: "50050" });
  });
});
