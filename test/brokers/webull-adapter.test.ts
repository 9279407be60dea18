import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BrokerEvent, BrokerSession, OrderRequest } from "../../src/brokers/port";
import { createWebullFactory } from "../../src/brokers/webull";
import { specFromTable } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, asClientOrderId, type ClientOrderId } from "../../src/domain/ids";
import { WebullSim } from "../../src/sim/webull";
import { memoryLogger, waitUntil } from "../support/webull";

const ACCOUNT = asBrokerAccountId("WB7Q2K9L0M1N");
const SECRET = "adapter-test-secret-9f8e7d";
const PLACE = "/openapi/trade/order/place";
const CANCEL = "/openapi/trade/order/cancel";
const contractSpec = specFromTable("MNQ1!");
if (!contractSpec) throw new Error("MNQ front month missing from the product table");
const MNQ = contractSpec;

let sim: WebullSim;
let session: BrokerSession | undefined;
let events: BrokerEvent[];
let logs: ReturnType<typeof memoryLogger>;
let appKey: string;
let seq = 0;

async function open(options: { secret?: string; timeoutMs?: number } = {}): Promise<BrokerSession> {
  const factory = createWebullFactory({
    logger: logs.logger,
    baseUrl: sim.baseUrl,
    requestTimeoutMs: options.timeoutMs ?? 2_000,
    pollIntervalMs: 50,
  });
  const credentials = { appKey, appSecret: options.secret ?? SECRET, accountId: ACCOUNT };
  expect(factory.validateCredentials(credentials)).toEqual({ ok: true });
  const s = factory.create({
    accountId: asAccountId("acc-1"),
    name: "webull",
    kind: "webull",
    environment: "live",
    credentials,
  });
  s.on((e) => events.push(e));
  session = s;
  await s.start();
  return s;
}

const cid = (leg: string): ClientOrderId => asClientOrderId(`t${seq}-${leg}`);

function order(leg: string, fields: Partial<OrderRequest> = {}): OrderRequest {
  return {
    clientOrderId: cid(leg),
    brokerAccountId: ACCOUNT,
    contract: MNQ,
    side: "buy",
    qty: 1,
    type: "market",
    ...fields,
  };
}

const fills = (id: string) =>
  events.filter(
    (e): e is Extract<BrokerEvent, { type: "OrderFilled" }> =>
      e.type === "OrderFilled" && e.clientOrderId === id,
  );
const simStatus = (id: string) => sim.ordersFor(id)[0]?.order.status;
const simPosition = () => sim.venue.position(ACCOUNT, MNQ.name)?.netPos ?? 0;

beforeEach(async () => {
  seq += 1;
  appKey = `app-${seq}-${Date.now()}`;
  events = [];
  logs = memoryLogger();
  sim = new WebullSim();
  await sim.start();
  sim.addApp({ appKey, appSecret: SECRET, accounts: [{ accountId: ACCOUNT, balance: dec(50_000) }] });
  sim.setPrice(MNQ.name, dec("21000"));
});

afterEach(async () => {
  await session?.stop();
  session = undefined;
  expect(sim.duplicateClientOrderIds()).toEqual([]);
  await sim.stop();
  // Credentials never reach a log line.
  expect(logs.text()).not.toContain(SECRET);
});

describe("Webull adapter against the simulator", () => {
  it("S01 a bad secret gives a clear error and places no order", async () => {
    const s = await open({ secret: "wrong-secret" });
    expect(s.status().state).toBe("error");
    expect(s.status().error).toMatch(/signature/i);
    const outcome = await s.placeOrder(order("entry"));
    expect(outcome).toMatchObject({ kind: "rejected", code: "INVALID_SIGNATURE" });
    expect(outcome.kind === "rejected" && outcome.reason).toMatch(/app secret/);
    expect(sim.orders()).toHaveLength(0);
    expect(logs.text()).not.toContain("wrong-secret");
  });

  it("S02 an order is placed with a signature the simulator verifies", async () => {
    const s = await open();
    expect(s.status()).toMatchObject({ state: "ready", warm: true });
    const outcome = await s.placeOrder(order("entry", { type: "limit", price: dec("20990.25"), qty: 2 }));
    const [placed] = sim.orders();
    expect(outcome).toEqual({ kind: "accepted", brokerOrderId: placed?.orderId, raw: expect.anything() });
    expect(placed).toMatchObject({
      clientOrderId: cid("entry"),
      order: { qty: 2, type: "limit", status: "working" },
    });
    const [request] = sim.requests(PLACE);
    expect(request).toMatchObject({ signatureValid: true, status: 200 });
    expect(request?.body).toMatchObject({
      account_id: ACCOUNT,
      new_orders: [
        {
          combo_type: "NORMAL",
          client_order_id: cid("entry"),
          symbol: MNQ.name,
          instrument_type: "FUTURES",
          order_type: "LIMIT",
          limit_price: "20990.25",
          quantity: "2",
          side: "BUY",
          time_in_force: "GTC",
          entrust_type: "QTY",
        },
      ],
    });
    expect(sim.requests().every((r) => r.signatureValid)).toBe(true);
  });

  it("S03 replace and cancel address the order by client_order_id", async () => {
    const s = await open();
    const placed = await s.placeOrder(order("tp", { side: "sell", type: "limit", price: dec("21010") }));
    if (placed.kind !== "accepted") throw new Error(`not accepted: ${JSON.stringify(placed)}`);
    const modified = await s.modifyOrder(ACCOUNT, placed.brokerOrderId, { price: dec("21012.5") });
    expect(modified).toMatchObject({ kind: "accepted", brokerOrderId: placed.brokerOrderId });
    expect(sim.ordersFor(cid("tp"))[0]?.order.price).toBe(dec("21012.5"));
    expect(sim.requests("/openapi/trade/order/replace")[0]?.body).toMatchObject({
      account_id: ACCOUNT,
      modify_orders: [{ client_order_id: cid("tp"), limit_price: "21012.5" }],
    });
    expect(await s.cancelOrder(ACCOUNT, placed.brokerOrderId)).toEqual({ kind: "cancelled" });
    expect(sim.requests(CANCEL)[0]?.body).toEqual({ account_id: ACCOUNT, client_order_id: cid("tp") });
    expect(simStatus(cid("tp"))).toBe("cancelled");
    const again = await s.cancelOrder(ACCOUNT, placed.brokerOrderId);
    expect(again.kind).toBe("gone");
    const late = await s.modifyOrder(ACCOUNT, placed.brokerOrderId, { price: dec("21015") });
    expect(late.kind).toBe("rejected");
  });

  it("S04 a timeout is unknown, findOrder settles it, and exactly one order exists", async () => {
    const s = await open({ timeoutMs: 300 });
    sim.swallowReplies(PLACE, 1);
    const outcome = await s.placeOrder(order("entry", { type: "limit", price: dec("20995") }));
    expect(outcome.kind).toBe("unknown");
    const found = await s.findOrder(ACCOUNT, cid("entry"));
    expect(found).toMatchObject({ clientOrderId: cid("entry"), status: "working", qty: 1 });
    expect(await s.findOrder(ACCOUNT, cid("never-sent"))).toBeNull();
    // The poller follows the unknown order too.
    await waitUntil(
      () => events.some((e) => e.type === "OrderUpdated" && e.order.clientOrderId === cid("entry")),
      "OrderUpdated for the order whose reply was lost",
    );
    expect(sim.ordersFor(cid("entry"))).toHaveLength(1);
    expect(sim.requests(PLACE)).toHaveLength(1);
  });

  it("S05 polling emits fills, positions and cash once per change", async () => {
    const s = await open();
    await s.subscribeQuotes(MNQ);
    await waitUntil(() => events.some((e) => e.type === "CashChanged"), "initial CashChanged");
    const buy = await s.placeOrder(order("entry", { qty: 2 }));
    expect(buy.kind).toBe("accepted");
    const [fill] = await waitUntil(() => fills(cid("entry")).length > 0 && fills(cid("entry")), "entry fill");
    expect(fill?.fill).toMatchObject({ price: dec("21000"), qty: 2, cumQty: 2, id: expect.any(String) });
    await waitUntil(
      () => events.some((e) => e.type === "PositionChanged" && e.position.netPos === 2),
      "long 2 position",
    );
    sim.setPrice(MNQ.name, dec("21005"));
    await waitUntil(
      () => events.some((e) => e.type === "QuoteReceived" && e.last === dec("21005")),
      "quote from the positions poll",
    );
    await s.placeOrder(order("exit", { side: "sell", qty: 2 }));
    await waitUntil(
      () => events.some((e) => e.type === "PositionChanged" && e.position.netPos === 0),
      "flat position",
    );
    // 5 points x $2 x 2 contracts.
    await waitUntil(
      () =>
        events.some(
          (e) => e.type === "CashChanged" && e.realizedPnl === dec(20) && e.balance === dec(50_020),
        ),
      "CashChanged with the realized P&L",
    );
    // Several more rounds change nothing, so nothing more is emitted.
    const polls = sim.requests("/openapi/trade/order/open").length;
    await waitUntil(() => sim.requests("/openapi/trade/order/open").length >= polls + 4, "four more rounds");
    expect(fills(cid("entry"))).toHaveLength(1);
    expect(fills(cid("exit"))).toHaveLength(1);
    expect(events.filter((e) => e.type === "PositionChanged")).toHaveLength(2);
    expect(events.filter((e) => e.type === "CashChanged")).toHaveLength(2);
    const entryUpdates = events.filter(
      (e) => e.type === "OrderUpdated" && e.order.clientOrderId === cid("entry"),
    );
    expect(entryUpdates.map((e) => e.type === "OrderUpdated" && e.order.status)).toEqual(["filled"]);
  });

  it("S06 flatten cancels the contract's working orders and ends flat", async () => {
    const s = await open();
    await s.placeOrder(order("entry", { qty: 3 }));
    await s.placeOrder(order("tp", { side: "sell", qty: 3, type: "limit", price: dec("21020") }));
    await s.placeOrder(order("sl", { side: "sell", qty: 3, type: "stop", stopPrice: dec("20980") }));
    const other = specFromTable("MES1!");
    if (!other) throw new Error("MES missing");
    sim.setPrice(other.name, dec("6000"));
    await s.placeOrder(order("mes", { contract: other, type: "limit", price: dec("5990") }));
    expect(simPosition()).toBe(3);
    const outcome = await s.flatten(ACCOUNT, MNQ, cid("flat"));
    expect(outcome.kind).toBe("accepted");
    expect(simPosition()).toBe(0);
    expect(simStatus(cid("tp"))).toBe("cancelled");
    expect(simStatus(cid("sl"))).toBe("cancelled");
    // Another contract's order is left alone.
    expect(simStatus(cid("mes"))).toBe("working");
    expect(sim.ordersFor(cid("flat"))[0]?.order).toMatchObject({ side: "sell", qty: 3, type: "market" });
    expect(await s.positions(ACCOUNT)).toEqual([]);
    const again = await s.flatten(ACCOUNT, MNQ, cid("flat2"));
    expect(again).toMatchObject({ kind: "accepted", raw: { alreadyFlat: true } });
  });

  it("S06b a close Webull refuses leaves the stop working: exits are cancelled only after the close", async () => {
    const s = await open();
    await s.placeOrder(order("entry", { qty: 1 }));
    await s.placeOrder(order("sl", { side: "sell", qty: 1, type: "stop", stopPrice: dec("20980") }));
    sim.rejectNext("/openapi/trade/order/place", {
      error_code: "ORDER_REJECTED",
      message: "rejected by risk",
    });
    const outcome = await s.flatten(ACCOUNT, MNQ, cid("flat"));
    expect(outcome.kind).toBe("rejected");
    expect(simStatus(cid("sl"))).toBe("working");
    expect(simPosition()).toBe(1);
  });

  it("S07 cancels are paced to the documented limit: no 429 surfaces as a rejection", async () => {
    const s = await open();
    const ids = ["a", "b", "c"];
    const placed = await Promise.all(
      ids.map((leg, i) => s.placeOrder(order(leg, { type: "limit", price: dec(20_900 + i) }))),
    );
    // One 429 injected as well: the adapter waits and tries again.
    sim.rateLimit(CANCEL, 1);
    const outcomes = await Promise.all(
      placed.map((p) => {
        if (p.kind !== "accepted") throw new Error("place failed");
        return s.cancelOrder(ACCOUNT, p.brokerOrderId);
      }),
    );
    expect(outcomes).toEqual([{ kind: "cancelled" }, { kind: "cancelled" }, { kind: "cancelled" }]);
    for (const leg of ids) expect(simStatus(cid(leg))).toBe("cancelled");
    const statuses = sim.requests(CANCEL).map((r) => r.status);
    // Only the injected 429: the pacing itself never tripped the simulator's 1/s limit.
    expect(statuses.filter((st) => st === 429)).toHaveLength(1);
    expect(statuses.filter((st) => st === 200)).toHaveLength(3);
  });

  it("S08 adapter-managed OCO cancels the survivor when one leg fills", async () => {
    const s = await open();
    await s.placeOrder(order("entry"));
    const [tp, sl] = await s.placeOco(
      order("tp", { side: "sell", type: "limit", price: dec("21010") }),
      order("sl", { side: "sell", type: "stop", stopPrice: dec("20990") }),
    );
    expect(tp.kind).toBe("accepted");
    expect(sl.kind).toBe("accepted");
    // Both legs must be seen working before the fill, as in real life.
    await waitUntil(
      () =>
        events.some(
          (e) =>
            e.type === "OrderUpdated" && e.order.clientOrderId === cid("sl") && e.order.status === "working",
        ),
      "stop leg working",
    );
    sim.setPrice(MNQ.name, dec("21010"));
    await waitUntil(() => simStatus(cid("sl")) === "cancelled", "survivor cancelled");
    expect(simStatus(cid("tp"))).toBe("filled");
    expect(simPosition()).toBe(0);
    // Prices swinging through the old stop now change nothing.
    sim.setPrice(MNQ.name, dec("20980"));
    expect(simPosition()).toBe(0);
    // The adapter logs the cancel after Webull's reply, which can come a moment after the sim records it.
    await waitUntil(
      () => logs.lines().some((l) => l.event === "OcoSurvivorCancelled"),
      "the survivor cancel logged",
    );
  });
});

describe("Webull adapter: OCO edge", () => {
  it("S11 an OCO leg that fills on arrival still cancels its twin", async () => {
    const s = await open();
    await s.placeOrder(order("entry"));
    // A sell limit below the market fills the moment it arrives.
    const [tp, sl] = await s.placeOco(
      order("tp", { side: "sell", type: "limit", price: dec("20995") }),
      order("sl", { side: "sell", type: "stop", stopPrice: dec("20990") }),
    );
    expect([tp.kind, sl.kind]).toEqual(["accepted", "accepted"]);
    expect(simStatus(cid("tp"))).toBe("filled");
    await waitUntil(() => simStatus(cid("sl")) === "cancelled", "twin cancelled");
    sim.setPrice(MNQ.name, dec("20980"));
    expect(simPosition()).toBe(0);
  });
});

describe("Webull adapter: asynchronous outcomes", () => {
  it("S10 an order Webull acknowledges and then fails is reported as rejected with its reason", async () => {
    const s = await open();
    const other = specFromTable("M2K1!");
    if (!other) throw new Error("M2K missing");
    // No price was ever set for M2K: the venue fails the market order after the acknowledgment.
    const outcome = await s.placeOrder(order("entry", { contract: other }));
    expect(outcome.kind).toBe("accepted");
    const failed = await waitUntil(
      () =>
        events.find(
          (e) =>
            e.type === "OrderUpdated" &&
            e.order.clientOrderId === cid("entry") &&
            e.order.status === "rejected",
        ),
      "OrderUpdated rejected",
    );
    expect(failed).toMatchObject({ order: { reason: "NoQuote", filledQty: 0 } });
    expect(fills(cid("entry"))).toHaveLength(0);
  });
});

describe("Webull factory", () => {
  it("S09 refuses bad credentials with a message and keeps demo logins off the live host", async () => {
    const factory = createWebullFactory({ logger: logs.logger, baseUrl: "https://api.webull.com" });
    expect(factory.kinds).toEqual(["webull"]);
    const bad = factory.validateCredentials({ appKey: "k" });
    expect(bad).toMatchObject({ ok: false, message: expect.stringContaining("appSecret") });
    const demo = factory.create({
      accountId: asAccountId("acc-demo"),
      name: "demo",
      kind: "webull",
      environment: "demo",
      credentials: { appKey: "k", appSecret: "s" },
    });
    await demo.start();
    expect(demo.status()).toMatchObject({
      state: "error",
      error: expect.stringContaining("WEBULL_DEMO_API_URL"),
    });
    expect(await demo.placeOrder(order("entry"))).toMatchObject({ kind: "rejected", code: "NOT_CONFIGURED" });
    await demo.stop();
  });
});
