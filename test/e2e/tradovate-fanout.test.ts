/**
 * End to end on the Tradovate wire: one webhook -> 20 Tradovate traders on 20 logins in the simulator ->
 * 20 entries with their brackets. Every trading socket was authorized before the webhook arrived (the
 * sessions were pre-warmed), every order carried isAutomated and a client order id, none twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

const N = 20;
let db: TestDatabase;
let sim: TradovateSim;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new TradovateSim();
  await sim.start();
  t = await startTestRelay({
    url: db.url,
    env: { TRADOVATE_DEMO_URL: sim.restUrl, TRADOVATE_LIVE_URL: sim.restUrl, TRADOVATE_MD_URL: sim.mdUrl },
    logLevel: "info",
  });
});
afterAll(async () => {
  await t.stop();
  await sim.stop();
  await db.drop();
});

describe("Tradovate end to end", () => {
  it("E01 one webhook fans out to 20 pre-warmed Tradovate logins with brackets from the real fills", async () => {
    const recorder = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "NQ to 20 logins",
      quantity: 1,
      takeProfit: [{ ticks: 20, trimPercent: 100 }],
      stopLossTicks: 16,
    });
    for (let i = 0; i < N; i++) {
      sim.addUser({
        name: `user${i}`,
        password: `pw-${i}`,
        accounts: [{ name: `DEMO${1000 + i}`, balance: dec(50_000) }],
      });
      const account = await t.api<{ id: string; status: string; brokerAccounts: { id: string }[] }>(
        "POST",
        "/api/accounts",
        {
          name: `Tradovate ${i}`,
          broker: "tradovate",
          environment: "demo",
          credentials: {
            username: `user${i}`,
            password: `pw-${i}`,
            appId: "Relay",
            appVersion: "1.0",
            deviceId: `device-${i}`,
          },
        },
      );
      expect(account.status).toBe(201);
      expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
      const trader = await t.api("POST", "/api/traders", {
        recorderId: recorder.body.id,
        accountId: account.body.id,
        multiplier: 1 + (i % 3),
      });
      expect(trader.status).toBe(201);
    }
    await waitFor(async () => {
      const status = await t.api<{ sessions: { state: string; broker: string }[] }>("GET", "/api/status");
      return status.body.sessions.filter((s) => s.broker === "tradovate" && s.state === "ready").length === N
        ? true
        : undefined;
    }, "all 20 sessions ready");

    const front = sim.front("MNQ");
    sim.setPrice(front, dec("21000"));
    const webhookAt = Date.now();
    const res = await t.webhook(
      recorder.body.webhookToken,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
    );
    expect(res.status).toBe(202);
    expect(res.body.traders).toBe(N);

    type Exec = {
      status: string;
      decision: string;
      error: string | null;
      orders: {
        leg: string;
        status: string;
        qty: number;
        fillPrice: string | null;
        price: string | null;
        stopPrice: string | null;
      }[];
    };
    const executions = await waitFor(
      async () => {
        const s = await t.api<{ executions: Exec[] }>("GET", `/api/signals/${res.body.signalId}`);
        return s.body.executions.length === N && s.body.executions.every((e) => e.status === "done")
          ? s.body.executions
          : undefined;
      },
      "20 executions done",
      30_000,
    );

    for (const [i, e] of executions.entries()) {
      expect(e.decision).toBe("opened");
      expect(e.error).toBeNull();
      const byLeg = Object.fromEntries(e.orders.map((o) => [o.leg, o]));
      expect(byLeg.entry).toMatchObject({ status: "filled", qty: 1 + (i % 3), fillPrice: "21000" });
      expect(byLeg.tp1).toMatchObject({ price: "21005", qty: 1 + (i % 3) });
      expect(byLeg.sl1).toMatchObject({ stopPrice: "20996", qty: 1 + (i % 3) });
    }

    // The simulator's view: 20 entries and 20 OCO pairs, all automated, all with unique client order ids.
    const orders = sim.orders();
    expect(orders.filter((o) => o.role === "order" && o.orderType === "Market")).toHaveLength(N);
    expect(orders.filter((o) => o.role === "oco")).toHaveLength(2 * N);
    expect(orders.every((o) => o.isAutomated && o.clOrdId)).toBe(true);
    expect(sim.duplicateClOrdIds()).toEqual([]);
    // Pre-warmed: every trading socket that carried an order was authorized before the webhook arrived.
    const sockets = sim.connections("trading");
    const used = new Set(
      sim
        .requests({})
        .filter((r) => r.endpoint.startsWith("order/") && r.transport === "ws")
        .map((r) => r.connectionId),
    );
    expect(used.size).toBe(N);
    for (const id of used) {
      const c = sockets.find((s) => s.id === id);
      expect(c?.authorizedAt, `socket ${id}`).toBeDefined();
      expect(c?.authorizedAt as number).toBeLessThan(webhookAt);
    }
    // One login per account: no accesstokenrequest after the webhook, no revoked sessions.
    expect(
      sim.requests({}).filter((r) => r.endpoint === "auth/accesstokenrequest" && r.at > webhookAt),
    ).toHaveLength(0);
    expect(sim.revocations()).toEqual([]);
  });
});
