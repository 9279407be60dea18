/**
 * Issue 14 entry filters, exit units and risk sizing, end to end: a webhook through the real relay to the
 * Tradovate and ProjectX simulators, and what the broker itself holds afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dec, dec, toStr } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

type Exec = { status: string; decision: string; reason: string; error: string | null };

interface Follower {
  token: string;
  traderId: string;
  /** The broker's own net position in MNQ. */
  net(): number;
  /** The broker's working orders in MNQ: [type, side, qty, price or stop price]. */
  working(): [string, string, number, string][];
}

interface Broker {
  name: "tradovate" | "projectx";
  follower(settings: Record<string, unknown>): Promise<Follower>;
  price(p: string): void;
}

let db: TestDatabase;
let tv: TradovateSim;
let px: ProjectXSim;
let t: TestRelay;
let users = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  px = new ProjectXSim({ hubPingMs: 500 });
  await Promise.all([tv.start(), px.start()]);
  t = await startTestRelay({
    url: db.url,
    env: {
      TRADOVATE_DEMO_URL: tv.restUrl,
      TRADOVATE_LIVE_URL: tv.restUrl,
      TRADOVATE_MD_URL: tv.mdUrl,
      PROJECTX_API_URL: px.apiUrl,
      PROJECTX_RTC_URL: px.rtcUrl.replace(/^ws/, "http"),
    },
  });
});
afterAll(async () => {
  await t.stop();
  await Promise.all([tv.stop(), px.stop()]);
  await db.drop();
});

const BALANCE = 50_000;

async function link(accountId: string, settings: Record<string, unknown>) {
  const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `filters ${users}`,
    quantity: 1,
    ...settings,
  });
  expect(rec.status, JSON.stringify(rec.body)).toBe(201);
  const tr = await t.api<{ id: string }>("POST", "/api/traders", { recorderId: rec.body.id, accountId });
  expect(tr.status, JSON.stringify(tr.body)).toBe(201);
  return { token: rec.body.webhookToken, traderId: tr.body.id };
}

const working = (
  orders: { status: string; type: string; side: string; qty: number; price?: Dec; stopPrice?: Dec }[],
) =>
  orders
    .filter((o) => o.status === "working")
    .map((o): [string, string, number, string] => [
      o.type,
      o.side,
      o.qty,
      toStr((o.type === "limit" ? o.price : o.stopPrice) ?? dec(0)),
    ])
    .sort();

const brokers: Broker[] = [
  {
    name: "tradovate",
    price: (p) => tv.setPrice(tv.front("MNQ"), dec(p)),
    async follower(settings) {
      const name = `flt${users++}`;
      const ids = tv.addUser({
        name,
        password: "pw",
        accounts: [{ name: `D${name}`, balance: dec(BALANCE) }],
      });
      const account = String(ids.accounts[0]?.id);
      const acc = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
        name: `tv ${name}`,
        broker: "tradovate",
        credentials: { username: name, password: "pw", appId: "Relay", deviceId: `d-${name}` },
      });
      expect(acc.body.status).toBe("connected");
      const l = await link(acc.body.id, settings);
      return {
        ...l,
        net: () => tv.venue.position(account, tv.front("MNQ"))?.netPos ?? 0,
        working: () => working(tv.venue.listOrders(account)),
      };
    },
  },
  {
    name: "projectx",
    price: (p) => px.setPrice("MNQ", dec(p)),
    async follower(settings) {
      const name = `pxf${users++}`;
      const { accounts } = px.addUser({
        userName: name,
        apiKey: `key-${name}`,
        accounts: [{ name: `PRAC-${name}`, balance: BALANCE }],
      });
      const account = String(accounts[0]?.id);
      const acc = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
        name: `px ${name}`,
        broker: "projectx",
        environment: "demo",
        credentials: { userName: name, apiKey: `key-${name}` },
      });
      expect(acc.body.status, JSON.stringify(acc.body)).toBe("connected");
      const l = await link(acc.body.id, settings);
      return {
        ...l,
        net: () => px.venue.position(account, px.contractId("MNQ"))?.netPos ?? 0,
        working: () => working(px.venue.listOrders(account)),
      };
    },
  },
];

let alertId = 0;
/** Posts an alert; resolves with its signal id once accepted (its execution may still be queued). */
async function post(token: string, body: Record<string, unknown>): Promise<string> {
  const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", id: `f${alertId++}`, ...body }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.signalId as string;
}

async function send(token: string, body: Record<string, unknown>): Promise<Exec> {
  return settle(await post(token, body));
}

async function settle(signalId: string): Promise<Exec> {
  const [e] = await waitFor(async () => {
    const r = await t.api<{ executions: Exec[] }>("GET", `/api/signals/${signalId}`);
    const ex = r.body.executions;
    return ex.length === 1 && !["pending", "running"].includes(ex[0]?.status ?? "") ? ex : undefined;
  }, "the execution to finish");
  return e as Exec;
}

/** The broker's position settles through fills and events; wait for it rather than read it once. */
async function brokerNet(f: Follower, want: number): Promise<void> {
  await waitFor(async () => (f.net() === want ? true : undefined), `the broker to hold ${want}`);
}

describe.each(brokers)("$name", (b) => {
  beforeAll(() => b.price("20000"));

  it("E01 cooldown: the second entry inside the cooldown is refused; the exit between them went", async () => {
    const f = await b.follower({ cooldownSeconds: 3600 });
    expect((await send(f.token, { action: "buy" })).decision).toBe("opened");
    await brokerNet(f, 1);
    expect((await send(f.token, { action: "exit" })).decision).toBe("closed");
    await brokerNet(f, 0);
    const second = await send(f.token, { action: "buy" });
    expect(second).toMatchObject({ status: "ignored", decision: "skipped_cooldown" });
    expect(second.reason).toMatch(
      /^entry refused: cooldown: the last entry was \d+ s ago \(cooldown 3600 s\)$/,
    );
    expect(f.net()).toBe(0);
  });

  it("E02 max entries per trading day: the third entry of the day is refused", async () => {
    const f = await b.follower({ maxEntriesPerDay: 2 });
    for (let i = 0; i < 2; i++) {
      expect((await send(f.token, { action: "buy" })).decision).toBe("opened");
      await brokerNet(f, 1);
      expect((await send(f.token, { action: "exit" })).decision).toBe("closed");
      await brokerNet(f, 0);
    }
    const third = await send(f.token, { action: "buy" });
    expect(third).toMatchObject({ decision: "skipped_max_entries" });
    expect(third.reason).toBe("entry refused: 2 entries already this trading day (max 2)");
    expect(f.net()).toBe(0);
  });

  it("E03 every Nth add: with addEvery 2 the 2nd and 4th same-direction signals add, the others are skipped", async () => {
    const f = await b.follower({ avgDown: true, addEvery: 2 });
    expect((await send(f.token, { action: "buy" })).decision).toBe("opened");
    await brokerNet(f, 1);
    // A burst: all four are queued before the first runs, and each counts only the ones before it.
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await post(f.token, { action: "buy" }));
    const decisions = [];
    for (const id of ids) decisions.push((await settle(id)).decision);
    expect(decisions).toEqual(["skipped_add_every", "added", "skipped_add_every", "added"]);
    await brokerNet(f, 3);
  });

  it("E04 long only: a sell while flat is refused, a sell while long closes the long and never opens a short", async () => {
    const f = await b.follower({ direction: "long" });
    expect((await send(f.token, { action: "sell" })).decision).toBe("skipped_direction");
    expect(f.net()).toBe(0);
    expect((await send(f.token, { action: "buy" })).decision).toBe("opened");
    await brokerNet(f, 1);
    const sell = await send(f.token, { action: "sell" });
    expect(sell.decision).toBe("closed");
    expect(sell.reason).toMatch(/new entry refused: this follower trades long only/);
    await brokerNet(f, 0);
  });

  it("E05 inverse: a buy opens a short, a sell reverses it to long, an exit flattens", async () => {
    const f = await b.follower({ inverse: true });
    expect((await send(f.token, { action: "buy" })).decision).toBe("opened");
    await brokerNet(f, -1);
    expect((await send(f.token, { action: "sell" })).decision).toBe("reversed");
    await brokerNet(f, 1);
    expect((await send(f.token, { action: "exit" })).decision).toBe("closed");
    await brokerNet(f, 0);
  });

  it("E06 risk sizing from the broker's balance: 0.1% of $50,000 over a 20-tick MNQ stop ($10) is 5 contracts", async () => {
    const f = await b.follower({ riskPercent: 0.1, stopLossTicks: 20 });
    const e = await send(f.token, { action: "buy", quantity: 1 });
    expect(e.decision).toBe("opened");
    expect(e.reason).toMatch(
      /^opened long 5 \(risk \$50 \(0\.1% of the balance \$50000\) \/ \$10 a contract/,
    );
    await brokerNet(f, 5);
    await waitFor(async () => (f.working().length === 1 ? true : undefined), "the stop to work");
    expect(f.working()).toEqual([["stop", "sell", 5, "19995"]]);
  });

  it("E07 per-alert risk_dollars beats the recorder's quantity: $30 over a $10 stop is 3 contracts", async () => {
    const f = await b.follower({ quantity: 1, stopLossTicks: 20 });
    const e = await send(f.token, { action: "buy", risk_dollars: "30" });
    expect(e.decision).toBe("opened");
    await brokerNet(f, 3);
  });

  it("E08 a take-profit of $10 and a stop of $6 per contract land 5 and 3 points from the fill", async () => {
    const f = await b.follower({ takeProfit: [{ dollars: 10, trimPercent: 100 }], stopLoss: { dollars: 6 } });
    b.price("20000.25");
    expect((await send(f.token, { action: "buy" })).decision).toBe("opened");
    await brokerNet(f, 1);
    await waitFor(async () => (f.working().length === 2 ? true : undefined), "both exits to work");
    expect(f.working()).toEqual([
      ["limit", "sell", 1, "20005.25"],
      ["stop", "sell", 1, "19997.25"],
    ]);
    b.price("20000");
  });
});

describe("settings through the API", () => {
  it("E10 risk sizing without a stop is refused for a recorder and for a trader's overrides, in words", async () => {
    const bad = await t.api<{ error: { message: string } }>("POST", "/api/recorders", {
      name: "no stop",
      riskDollars: 100,
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/risk sizing divides the risk by the stop's distance/);
    const rec = await t.api<{ id: string }>("POST", "/api/recorders", {
      name: "risk",
      riskDollars: 100,
      stopLoss: { points: 5 },
    });
    expect(rec.status).toBe(201);
    const acc = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: "paper",
      broker: "paper",
      credentials: {},
    });
    const tr = await t.api("POST", "/api/traders", {
      recorderId: rec.body.id,
      accountId: acc.body.id,
      overrides: { stopLossTicks: 0 },
    });
    expect(tr.status).toBe(400);
    expect(JSON.stringify(tr.body)).toMatch(/overrides.riskDollars: risk sizing divides the risk/);
    const ok = await t.api<{ id: string }>("POST", "/api/traders", {
      recorderId: rec.body.id,
      accountId: acc.body.id,
      overrides: { stopLossTicks: 8 },
    });
    expect(ok.status).toBe(201);
    const patched = await t.api("PATCH", `/api/traders/${ok.body.id}`, { overrides: { stopLossTicks: 0 } });
    expect(patched.status).toBe(400);
    const switched = await t.api("PATCH", `/api/recorders/${rec.body.id}`, { stopLossTicks: 10 });
    expect(JSON.stringify(switched.body)).toMatch(/either stopLossTicks or stopLoss/);
    const cleared = await t.api("PATCH", `/api/recorders/${rec.body.id}`, {
      stopLossTicks: 10,
      stopLoss: null,
    });
    expect(cleared.status).toBe(200);
  });
});
