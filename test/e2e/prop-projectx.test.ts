/**
 * Prop-firm rules on the ProjectX wire (simulator: REST + SignalR hubs), through the real relay: hub
 * quotes, GatewayUserAccount balances (net of the gateway's fees) and positions drive the floor; a breach
 * is one Position/closeContract. The monitor's clock is the real one plus an offset X02 moves past the roll.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { add, type Dec, dec, sub, toStr } from "../../src/domain/decimal";
import { asBrokerAccountId, asClientOrderId } from "../../src/domain/ids";
import { nextBoundary } from "../../src/domain/trading-day";
import { breachMessage } from "../../src/monitor/prop-text";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { eventsOf, type MonitoredRelay, settled, startMonitoredRelay } from "../monitor/harness";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let sim: ProjectXSim;
let m: MonitoredRelay;
let env: Record<string, string>;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);
const pastNextRoll = () => {
  const roll = nextBoundary(now(), { roll: "17:00", timeZone: "America/Chicago" });
  offsetMs = roll.getTime() + 5_000 - Date.now();
};

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new ProjectXSim({ hubPingMs: 500 });
  await sim.start();
  env = { PROJECTX_API_URL: sim.apiUrl, PROJECTX_RTC_URL: sim.rtcUrl.replace(/^ws/, "http") };
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
  profitTargetLeft: string | null;
  contractsInUse: number;
  settled: boolean;
  breaches: { rule: string; action: string; message: string; state: string }[];
}

interface Setup {
  accountId: string;
  pxAccountId: number;
  traderId: string;
  token: string;
}

async function setup(name: string, propRules: Record<string, unknown>[]): Promise<Setup> {
  const { accounts } = sim.addUser({
    userName: name,
    apiKey: `key-${name}`,
    accounts: [{ name: `TOPSTEP-${name}`, balance: 50_000 }],
  });
  const account = await m.t.api<{ id: string; status: string }>("POST", "/api/accounts", {
    name: `TopstepX ${name}`,
    broker: "projectx",
    environment: "demo",
    credentials: { userName: name, apiKey: `key-${name}` },
  });
  expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
  const patched = await m.t.api("PATCH", `/api/accounts/${account.body.id}`, { propRules });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  const recorder = await m.t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `PX ${name}`,
    quantity: 1,
  });
  const trader = await m.t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: recorder.body.id,
    accountId: account.body.id,
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
  const res = await m.t.webhook(token, JSON.stringify({ id: randomUUID(), ...body }));
  expect(res.status).toBe(202);
  return (await settled(m.t, res.body.signalId as string))[0];
}

async function until(s: Setup, ok: (v: PropView) => boolean, what: string): Promise<PropView> {
  return waitFor(async () => {
    const a = (await m.loss()).accounts.find((x) => x.accountId === s.accountId) as unknown as
      | { prop: PropView[] }
      | undefined;
    const v = a?.prop.find((p) => p.brokerAccountId === String(s.pxAccountId));
    return v?.settled && ok(v) ? v : undefined;
  }, what);
}

const str = (d: Dec) => toStr(d);

describe("prop rules on ProjectX", () => {
  it("X01 intraday trailing drawdown: one closeContract on the quote that reaches the floor, traders disabled", async () => {
    const s = await setup("px01", [
      { startingBalance: 50_000, trailingDrawdown: { mode: "intraday", amount: 100 } },
    ]);
    sim.setPrice("MNQ", dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    // The gateway's balance is net of its fees: every figure below is relative to it.
    const flat = await until(s, (x) => x.equity !== null && x.contractsInUse === 1, "the position priced");
    const e0 = dec(flat.equity ?? "0");
    sim.setPrice("MNQ", dec("21020")); // +40 open
    let v = await until(s, (x) => x.equity === str(add(e0, dec(40))), "+40");
    expect(v).toMatchObject({ highWater: str(add(e0, dec(40))), floor: str(sub(e0, dec(60))) });
    sim.setPrice("MNQ", dec("20971")); // -58 from e0: two dollars above the floor
    v = await until(s, (x) => x.equity === str(sub(e0, dec(58))), "-58");
    expect(v).toMatchObject({ drawdownLeft: "2", breaches: [] });
    const closesBefore = sim.recorder.closes.length;

    sim.setPrice("MNQ", dec("20970")); // the floor
    const done = await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.accountId === s.accountId),
      "flattened",
    );
    expect(done).toMatchObject({ rule: "trailingDrawdown", attempts: 1 });
    const floor = sub(e0, dec(60));
    const detected = eventsOf(m.events, "BreachDetected").find((e) => e.accountId === s.accountId);
    expect(detected?.message).toBe(breachMessage("trailingDrawdown", "fail", floor, floor));
    expect(sim.recorder.closes.slice(closesBefore)).toHaveLength(1);
    expect(sim.positions(s.pxAccountId)).toEqual([]);
    await waitFor(
      () => (m.t.relay.services.directory.trader(s.traderId)?.enabled === false ? true : undefined),
      "the trader disabled",
    );
    await waitFor(async () => {
      const [r] = await m.t
        .sql`select traders_disabled_at from prop_breaches where account_id = ${s.accountId}`;
      return r?.traders_disabled_at ? true : undefined;
    }, "the disabling stored");
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
    expect(sim.duplicateCustomTags()).toEqual([]);
  });

  it("X02 profit target locks entries; max contracts counts a working order", async () => {
    const s = await setup("px02", [{ dailyProfitTarget: { amount: 30 }, maxContracts: 2 }]);
    sim.setPrice("MES", dec("6000"));
    const session = await m.t.relay.services.pool.session(s.accountId);
    const spec = await session.contract("MES1!");
    const limit = await session.placeOrder({
      clientOrderId: asClientOrderId("other-tool-px02"),
      brokerAccountId: asBrokerAccountId(String(s.pxAccountId)),
      contract: spec,
      side: "sell",
      qty: 1,
      type: "limit",
      price: dec("6100"),
    });
    expect(limit.kind).toBe("accepted");
    await until(s, (x) => x.contractsInUse === 1, "the working sell limit counted");
    const refused = await signal(s.token, { ticker: "MES1!", action: "sell", quantity: 2, price: "6000" });
    expect(refused?.reason).toBe(
      `entry refused: max contracts 2: 1 open or working, this sell of 2 ${spec.name} would make 3`,
    );
    // A buy is not more exposure than the working sell: max(|1|, |1 - 1|) = 1.
    expect((await signal(s.token, { ticker: "MES1!", action: "buy", price: "6000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice("MES", dec("6007")); // +35 open, less the entry's fee: past the 30 target
    const v = await until(s, (x) => x.breaches.length > 0, "the profit target");
    expect(v.breaches[0]).toMatchObject({ rule: "dailyProfitTarget", action: "pause", state: "paused" });
    expect(v.profitTargetLeft).toBe("0");
    expect(sim.positions(s.pxAccountId)).toHaveLength(1); // a pause never flattens
    expect((await signal(s.token, { ticker: "MES1!", action: "exit", price: "6007" }))?.decision).toBe(
      "closed",
    );
    const blocked = await signal(s.token, { ticker: "MES1!", action: "buy", price: "6007" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toMatch(/^entry refused: daily profit target: the day's P&L /);
  });

  it("X03 eod floor moves at the roll only, from the gateway's balance, and survives a restart", async () => {
    const s = await setup("px03", [
      { riskPreset: "topstep-50k", trailingDrawdown: { amount: 100, lock: 50 }, dailyLossLimit: null },
    ]);
    sim.setPrice("MNQ", dec("21000"));
    expect((await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" }))?.decision).toBe(
      "opened",
    );
    sim.setPrice("MNQ", dec("21040"));
    await until(s, (x) => x.contractsInUse === 1 && x.drawdownLeft !== null, "priced");
    expect((await signal(s.token, { ticker: "MNQ1!", action: "exit", price: "21040" }))?.decision).toBe(
      "closed",
    );
    let v = await until(s, (x) => x.contractsInUse === 0 && dec(x.balance ?? "0") > dec(50_000), "flat");
    expect(v).toMatchObject({ highWater: "50000", floor: "49900" });
    const balance = dec(v.balance ?? "0"); // +80 less fees

    pastNextRoll();
    await m.monitor.tick();
    v = await until(s, (x) => x.highWater === str(balance), "the end-of-day high");
    expect(v.floor).toBe(str(sub(balance, dec(100))));

    await m.stop();
    m = await startMonitoredRelay({ url: db.url, logLevel: "info", env, monitor: { now } });
    v = await until(s, (x) => x.balance === str(balance), "the restarted relay");
    expect(v).toMatchObject({ highWater: str(balance), floor: str(sub(balance, dec(100))) });
  });
});
