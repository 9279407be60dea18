/**
 * End to end across brokers: one recorder with followers on Tradovate, ProjectX and paper at once, a real
 * relay with Tradovate and ProjectX pointed at their simulators by environment. One entry webhook gives
 * each follower its entry and its exits on its own broker; one exit webhook leaves all three flat with
 * their exits cancelled. Each simulator's records prove what reached it, and nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx";
import { TradovateSim } from "../../src/sim/tradovate";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

type Order = {
  clientOrderId: string;
  leg: string;
  side: string;
  type: string;
  qty: number;
  price: string | null;
  stopPrice: string | null;
  status: string;
  brokerOrderId: string | null;
  filledQty: number;
  fillPrice: string | null;
};
type Execution = {
  traderId: string;
  account: { broker: string };
  status: string;
  decision: string;
  error: string | null;
  orders: Order[];
};

let db: TestDatabase;
let tv: TradovateSim;
let px: ProjectXSim;
let t: TestRelay;
let pxAccount: number;
let tvAccount: number;

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  px = new ProjectXSim({ hubPingMs: 500 });
  await Promise.all([tv.start(), px.start()]);
  const tvUser = tv.addUser({
    name: "e2e-trader",
    password: "e2e-password-1",
    accounts: [{ name: "DEMO55501", balance: dec(50_000) }],
  });
  const pxUser = px.addUser({
    userName: "e2e-trader",
    apiKey: "e2e-px-key-0001",
    accounts: [{ name: "PRAC-E2E", balance: 50_000, autoOco: false }],
  });
  tvAccount = tvUser.accounts[0]?.id ?? 0;
  pxAccount = pxUser.accounts[0]?.id ?? 0;
  tv.setPrice(tv.front("MNQ"), dec("21000"));
  px.setPrice("MNQ", dec("21000"));
  t = await startTestRelay({
    url: db.url,
    env: {
      TRADOVATE_DEMO_URL: tv.restUrl,
      TRADOVATE_LIVE_URL: tv.restUrl,
      TRADOVATE_MD_URL: tv.mdUrl,
      PROJECTX_API_URL: px.apiUrl,
      PROJECTX_RTC_URL: px.rtcUrl,
    },
    logLevel: "info",
  });
});

afterAll(async () => {
  await t?.stop();
  await Promise.all([tv?.stop(), px?.stop()]);
  await db?.drop();
});

async function account(body: Record<string, unknown>): Promise<string> {
  const res = await t.api<{ id: string; status: string }>("POST", "/api/accounts", body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status, JSON.stringify(res.body)).toBe("connected");
  return res.body.id;
}

async function settled(signalId: string): Promise<Execution[]> {
  return waitFor(
    async () => {
      const res = await t.api<{ executions: Execution[] }>("GET", `/api/signals/${signalId}`);
      const ex = res.body.executions;
      return ex.length === 3 && ex.every((e) => !["pending", "running"].includes(e.status)) ? ex : undefined;
    },
    `the executions of signal ${signalId}`,
    30_000,
  );
}

/** An exit at rest: acknowledged, and maybe already reported working by the broker's events. */
const resting = expect.stringMatching(/^(accepted|working)$/);
const byLeg = (e: Execution) => Object.fromEntries(e.orders.map((o) => [o.leg, o]));
const pxOrder = (tag: string) => px.orders(pxAccount).find((o) => o.customTag === tag);
const tvOrder = (clOrdId: string) => tv.venue.orderByClientId(clOrdId);

describe("one recorder, three brokers", () => {
  it("M01 one webhook: each follower's entry and exits on its own broker; one exit flattens all three", async () => {
    const recorder = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "NQ to three brokers",
      quantity: 1,
      takeProfit: [{ ticks: 20, trimPercent: 100 }],
      stopLossTicks: 16,
    });
    expect(recorder.status).toBe(201);
    const accounts = {
      tradovate: await account({
        name: "Tradovate follower",
        broker: "tradovate",
        environment: "demo",
        credentials: {
          username: "e2e-trader",
          password: "e2e-password-1",
          appId: "Relay",
          appVersion: "1.0",
        },
      }),
      projectx: await account({
        name: "Topstep follower",
        broker: "projectx",
        environment: "demo",
        credentials: { userName: "e2e-trader", apiKey: "e2e-px-key-0001" },
      }),
      paper: await account({ name: "Paper follower", broker: "paper", environment: "demo" }),
    };
    const multiplier = { tradovate: 1, projectx: 2, paper: 3 } as const;
    const traders: Record<string, keyof typeof accounts> = {};
    for (const broker of ["tradovate", "projectx", "paper"] as const) {
      const trader = await t.api<{ id: string }>("POST", "/api/traders", {
        recorderId: recorder.body.id,
        accountId: accounts[broker],
        multiplier: multiplier[broker],
      });
      expect(trader.status, JSON.stringify(trader.body)).toBe(201);
      traders[trader.body.id] = broker;
    }
    await waitFor(async () => {
      const status = await t.api<{ sessions: { state: string }[] }>("GET", "/api/status");
      return status.body.sessions.filter((s) => s.state === "ready").length === 3 ? true : undefined;
    }, "three sessions ready");

    // Entry: each broker fills at its own market (all at 21000 here) and the exits come from that fill.
    const entry = await t.webhook(
      recorder.body.webhookToken,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
    );
    expect(entry.status).toBe(202);
    expect(entry.body.traders).toBe(3);
    const opened = await settled(String(entry.body.signalId));
    const legs: Record<string, Record<string, Order>> = {};
    for (const e of opened) {
      const broker = traders[e.traderId] ?? "";
      expect(e.account.broker).toBe(broker);
      expect(e, JSON.stringify(e)).toMatchObject({ status: "done", decision: "opened", error: null });
      const qty = multiplier[broker as keyof typeof multiplier];
      const leg = byLeg(e);
      expect(leg.entry).toMatchObject({ status: "filled", qty, filledQty: qty, fillPrice: "21000" });
      expect(leg.tp1).toMatchObject({ side: "sell", type: "limit", price: "21005", qty, status: resting });
      expect(leg.sl1).toMatchObject({ side: "sell", type: "stop", stopPrice: "20996", qty, status: resting });
      legs[broker] = leg;
    }
    const tvLegs = legs.tradovate ?? {};
    const pxLegs = legs.projectx ?? {};

    // Tradovate's records: a market entry, a native OCO pair, automated, each client order id once.
    const tvName = tv.front("MNQ");
    expect(tv.venue.position(String(tvAccount), tvName)?.netPos).toBe(1);
    const tvOrders = tv.orders();
    expect(tvOrders.map((o) => [o.role, o.orderType, o.clOrdId])).toEqual([
      ["order", "Market", tvLegs.entry?.clientOrderId],
      ["oco", "Limit", tvLegs.tp1?.clientOrderId],
      ["oco", "Stop", tvLegs.sl1?.clientOrderId],
    ]);
    expect(tvOrders.every((o) => o.isAutomated)).toBe(true);
    expect(tvOrder(tvLegs.tp1?.clientOrderId ?? "")).toMatchObject({
      status: "working",
      price: dec("21005"),
    });
    expect(tvOrder(tvLegs.sl1?.clientOrderId ?? "")).toMatchObject({
      status: "working",
      stopPrice: dec("20996"),
    });

    // ProjectX's records: the entry and two plain exits (OCO linked by the adapter), each tagged once.
    expect(px.positions(pxAccount)).toMatchObject([{ type: 1, size: 2, averagePrice: 21000 }]);
    expect(pxOrder(pxLegs.entry?.clientOrderId ?? "")).toMatchObject({ status: 2, type: 2, size: 2 });
    expect(pxOrder(pxLegs.tp1?.clientOrderId ?? "")).toMatchObject({ status: 1, type: 1, limitPrice: 21005 });
    expect(pxOrder(pxLegs.sl1?.clientOrderId ?? "")).toMatchObject({ status: 1, type: 4, stopPrice: 20996 });
    expect(px.recorder.placements.filter((p) => p.success)).toHaveLength(3);

    // Paper: the relay's own book of the paper trader.
    const paperTrader = Object.keys(traders).find((id) => traders[id] === "paper") ?? "";
    const paperView = await t.api<{ positions: { netQty: number; avgPrice: string }[] }>(
      "GET",
      `/api/traders/${paperTrader}`,
    );
    expect(paperView.body.positions).toMatchObject([{ netQty: 3, avgPrice: "21000" }]);

    // Exit: every follower's exits are cancelled and its quantity closed at its own broker.
    tv.setPrice(tvName, dec("21002"));
    px.setPrice("MNQ", dec("21002"));
    const exit = await t.webhook(
      recorder.body.webhookToken,
      JSON.stringify({ ticker: "MNQ1!", action: "exit", price: "21002" }),
    );
    expect(exit.status).toBe(202);
    const closed = await settled(String(exit.body.signalId));
    for (const e of closed) {
      expect(e, JSON.stringify(e)).toMatchObject({ status: "done", error: null });
      const broker = traders[e.traderId] ?? "";
      const qty = multiplier[broker as keyof typeof multiplier];
      const close = e.orders.find((o) => o.side === "sell" && o.type === "market");
      expect(close, JSON.stringify(e.orders)).toMatchObject({ status: "filled", qty, fillPrice: "21002" });
    }

    expect(tv.venue.position(String(tvAccount), tvName)?.netPos ?? 0).toBe(0);
    await waitFor(
      () => tvOrder(tvLegs.tp1?.clientOrderId ?? "")?.status === "cancelled",
      "the Tradovate target cancelled",
    );
    expect(tvOrder(tvLegs.sl1?.clientOrderId ?? "")?.status).toBe("cancelled");
    expect(px.positions(pxAccount)).toEqual([]);
    await waitFor(
      () => pxOrder(pxLegs.tp1?.clientOrderId ?? "")?.status === 3,
      "the ProjectX target cancelled",
    );
    expect(pxOrder(pxLegs.sl1?.clientOrderId ?? "")?.status).toBe(3);
    const paperAfter = await t.api<{ positions: unknown[] }>("GET", `/api/traders/${paperTrader}`);
    expect(paperAfter.body.positions).toEqual([]);

    // Nothing reached any broker twice.
    expect(tv.duplicateClOrdIds()).toEqual([]);
    expect(px.duplicateCustomTags()).toEqual([]);
    expect(tv.orders().every((o) => o.isAutomated && o.clOrdId)).toBe(true);
  });
});
