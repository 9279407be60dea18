import {
  HttpTransportType,
  type HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  LogLevel,
} from "@microsoft/signalr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { POSITION_BRACKETS_MESSAGE, ProjectXSim, startStandalone } from "../../src/sim/projectx";
import { pxLogin, pxPost, RawHub, tcpHandles, waitUntil } from "../support/projectx";

let sim: ProjectXSim;
let token: string;
let auto: number;
let posBrk: number;
const hubs: RawHub[] = [];
const clients: HubConnection[] = [];

async function setup(options: ConstructorParameters<typeof ProjectXSim>[0] = {}) {
  sim = new ProjectXSim({ hubPingMs: 200, ...options });
  await sim.start();
  const { accounts } = sim.addUser({
    userName: "jdoe",
    apiKey: "key-1",
    accounts: [
      { name: "PRAC-AUTO", balance: 50000 },
      { name: "PRAC-POS", balance: 50000, autoOco: false },
    ],
  });
  auto = accounts[0]?.id ?? 0;
  posBrk = accounts[1]?.id ?? 0;
  sim.setPrice("MNQ", dec("21000"));
  token = await pxLogin(sim.apiUrl, "jdoe", "key-1");
}

const post = (path: string, body: unknown, t: string | undefined = token) =>
  pxPost(sim.apiUrl, path, body, t);
const mnq = () => sim.contractId("MNQ");

async function openHub(hub: "user" | "market", t = token): Promise<RawHub> {
  const h = await RawHub.open(`${sim.rtcUrl}/hubs/${hub}?access_token=${encodeURIComponent(t)}`);
  if (!(h instanceof RawHub)) throw new Error(`hub refused ${h.refused}`);
  hubs.push(h);
  expect(await h.handshake()).toEqual({});
  return h;
}

beforeEach(async () => {
  await setup();
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  for (const h of hubs.splice(0)) h.close();
  expect(sim.duplicateCustomTags()).toEqual([]);
  await sim.stop();
});

describe("ProjectX simulator REST", () => {
  it("P01 loginKey, validate and token failures use the real envelope and statuses", async () => {
    const bad = await post("/api/Auth/loginKey", { userName: "jdoe", apiKey: "nope" }, "");
    expect(bad).toEqual({
      status: 200,
      body: { token: null, success: false, errorCode: 3, errorMessage: null },
    });
    const unknown = await post("/api/Auth/loginKey", { userName: "ghost", apiKey: "x" }, "");
    expect(unknown.body.errorCode).toBe(1);
    const malformed = await pxPost(sim.apiUrl, "/api/Auth/loginKey", undefined, undefined, { raw: "{nope" });
    expect(malformed.status).toBe(400);
    expect((await post("/api/Account/search", { onlyActiveAccounts: true }, "")).status).toBe(401);
    expect((await post("/api/Account/search", {}, "forged.token.here")).status).toBe(401);
    const validate = await post("/api/Auth/validate", undefined);
    expect(validate.body).toMatchObject({ success: true, errorCode: 0, errorMessage: null });
    expect(typeof validate.body.newToken).toBe("string");
    sim.expireToken("jdoe");
    expect((await post("/api/Account/search", {})).status).toBe(401);
    expect((await post("/api/Auth/validate", undefined)).status).toBe(401);
    expect((await post("/api/Account/search", {}, validate.body.newToken)).status).toBe(401);
    const ping = await fetch(`${sim.apiUrl}/api/Status/ping`);
    expect(ping.status).toBe(200);
    await ping.text();
  });

  it("P02 tokens expire after tokenLifetimeMs", async () => {
    let now = 1_000_000;
    await sim.stop();
    await setup({ tokenLifetimeMs: 5000, now: () => now });
    expect((await post("/api/Account/search", {})).status).toBe(200);
    now += 5000;
    expect((await post("/api/Account/search", {})).status).toBe(401);
  });

  it("P03 accounts and contracts", async () => {
    const accounts = await post("/api/Account/search", { onlyActiveAccounts: true });
    expect(accounts.body.accounts).toEqual([
      { id: auto, name: "PRAC-AUTO", balance: 50000, canTrade: true, isVisible: true, simulated: true },
      { id: posBrk, name: "PRAC-POS", balance: 50000, canTrade: true, isVisible: true, simulated: true },
    ]);
    const search = await post("/api/Contract/search", { searchText: "MNQ", live: false });
    const front = search.body.contracts.find((c: { activeContract: boolean }) => c.activeContract);
    expect(front).toMatchObject({ id: mnq(), tickSize: 0.25, tickValue: 0.5, symbolId: "F.US.MNQ" });
    expect(front.id).toMatch(/^CON\.F\.US\.MNQ\.[FGHJKMNQUVXZ]\d{2}$/);
    const all = await post("/api/Contract/search", { searchText: "", live: false });
    expect(all.body.contracts.length).toBe(20);
    const byId = await post("/api/Contract/searchById", { contractId: mnq() });
    expect(byId.body.contract.id).toBe(mnq());
    const available = await post("/api/Contract/available", { live: true });
    expect(available.body.contracts.every((c: { activeContract: boolean }) => c.activeContract)).toBe(true);
  });

  it("P04 orders: types, customTag uniqueness, searchOpen shows status 1 only", async () => {
    const base = { accountId: auto, contractId: mnq(), size: 1, side: 0 };
    const limit = await post("/api/Order/place", { ...base, type: 1, limitPrice: 20900, customTag: "t-1" });
    expect(limit.body).toMatchObject({ success: true, errorCode: 0, errorMessage: null });
    const dup = await post("/api/Order/place", { ...base, type: 1, limitPrice: 20900, customTag: "t-1" });
    expect(dup.body).toMatchObject({ success: false, errorCode: 2 });
    expect(dup.body.errorMessage).toMatch(/custom tag/i);
    // The recorder flags the re-sent tag; cleared so the after-each check stays meaningful.
    expect(sim.duplicateCustomTags()).toEqual([{ accountId: auto, customTag: "t-1", count: 2 }]);
    sim.recorder.clear();
    const offTick = await post("/api/Order/place", {
      ...base,
      type: 1,
      limitPrice: 20900.1,
      customTag: "t-2",
    });
    expect(offTick.body.errorCode).toBe(2);
    const stop = await post("/api/Order/place", { ...base, type: 4, stopPrice: 21100, customTag: "t-3" });
    expect(stop.body.success).toBe(true);
    const market = await post("/api/Order/place", { ...base, type: 2, customTag: "t-4" });
    expect(market.body.success).toBe(true);
    const open = await post("/api/Order/searchOpen", { accountId: auto });
    expect(open.body.orders.map((o: { customTag: string }) => o.customTag).sort()).toEqual(["t-1", "t-3"]);
    expect(open.body.orders.every((o: { status: number }) => o.status === 1)).toBe(true);
    const search = await post("/api/Order/search", {
      accountId: auto,
      startTimestamp: "2000-01-01T00:00:00Z",
    });
    const filled = search.body.orders.find((o: { customTag: string }) => o.customTag === "t-4");
    expect(filled).toMatchObject({ status: 2, type: 2, fillVolume: 1, filledPrice: 21000 });
    const cancel = await post("/api/Order/cancel", { accountId: auto, orderId: limit.body.orderId });
    expect(cancel.body).toEqual({ success: true, errorCode: 0, errorMessage: null });
    const again = await post("/api/Order/cancel", { accountId: auto, orderId: limit.body.orderId });
    expect(again.body.errorCode).toBe(3);
    const missing = await post("/api/Order/cancel", { accountId: auto, orderId: 1 });
    expect(missing.body.errorCode).toBe(2);
    const modify = await post("/api/Order/modify", {
      accountId: auto,
      orderId: stop.body.orderId,
      stopPrice: 21050,
    });
    expect(modify.body.success).toBe(true);
    const other = await post("/api/Order/place", { ...base, accountId: 1, type: 2 });
    expect(other.body.errorCode).toBe(1);
  });

  it("P05 bracket lifecycle in Auto OCO mode follows the live evidence", async () => {
    const user = await openHub("user");
    await user.invoke("SubscribeOrders", auto);
    const placed = await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 2,
      side: 0,
      size: 1,
      customTag: "br-1",
      stopLossBracket: { ticks: -40, type: 4 },
      takeProfitBracket: { ticks: 80, type: 1 },
    });
    expect(placed.body.success).toBe(true);
    const entryId = placed.body.orderId;
    const events = await waitUntil(() => {
      const e = user.events("GatewayUserOrder").map((a) => (a[0] as { action: number; data: Order }).data);
      return e.filter((o) => o.status === 1).length >= 2 ? e : undefined;
    }, "bracket children working");
    const entrySeq = events.filter((o) => o.id === entryId).map((o) => o.status);
    expect(entrySeq).toEqual([6, 2]);
    const sl = events.find((o) => o.customTag === "br-1-SL" && o.status === 8);
    const tp = events.find((o) => o.customTag === "br-1-TP" && o.status === 8);
    expect(sl).toMatchObject({
      parentOrderId: entryId,
      limitPrice: null,
      stopPrice: null,
      linkedOrderId: null,
    });
    expect(tp).toMatchObject({
      parentOrderId: entryId,
      limitPrice: null,
      stopPrice: null,
      linkedOrderId: sl?.id,
    });
    // Suspended children appear before the entry fills.
    const firstFill = events.findIndex((o) => o.id === entryId && o.status === 2);
    expect(events.findIndex((o) => o.customTag === "br-1-SL")).toBeLessThan(firstFill);
    const working = await post("/api/Order/v2/query", {
      filter: { accountId: auto, statuses: [1, 8] },
      pageSize: 50,
      pageOffset: 0,
      sortBy: 0,
      sortDirection: 1,
      includeTotalCount: true,
    });
    expect(working.body.totalCount).toBe(2);
    const slNow = working.body.orders.find((o: Order) => o.customTag === "br-1-SL");
    const tpNow = working.body.orders.find((o: Order) => o.customTag === "br-1-TP");
    expect(slNow).toMatchObject({ status: 1, type: 4, side: 1, stopPrice: 20990 });
    expect(tpNow).toMatchObject({ status: 1, type: 1, side: 1, limitPrice: 21020 });
    sim.setPrice("MNQ", dec("21020"));
    const final = await post("/api/Order/search", { accountId: auto, startTimestamp: null });
    const status = (tag: string) => final.body.orders.find((o: Order) => o.customTag === tag)?.status;
    expect([status("br-1"), status("br-1-TP"), status("br-1-SL")]).toEqual([2, 2, 3]);
    expect((await post("/api/Position/searchOpen", { accountId: auto })).body.positions).toEqual([]);
  });

  it("P06 suspended children of a resting limit entry wait; a short uses reversed signs", async () => {
    const placed = await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 1,
      size: 2,
      limitPrice: 21010,
      customTag: "br-2",
      stopLossBracket: { ticks: 20, type: 4 },
      takeProfitBracket: { ticks: -40, type: 1 },
    });
    expect(placed.body.success).toBe(true);
    const open = await post("/api/Order/searchOpen", { accountId: auto });
    expect(open.body.orders.map((o: Order) => o.customTag)).toEqual(["br-2"]);
    const suspended = await post("/api/Order/v2/query", { filter: { accountId: auto, statuses: [8] } });
    expect(suspended.body.orders.length).toBe(2);
    sim.setPrice("MNQ", dec("21012.5"));
    const after = await post("/api/Order/v2/query", { filter: { accountId: auto, statuses: [1] } });
    const sl = after.body.orders.find((o: Order) => o.customTag === "br-2-SL");
    const tp = after.body.orders.find((o: Order) => o.customTag === "br-2-TP");
    expect(sl).toMatchObject({ side: 0, stopPrice: 21015, size: 2 });
    expect(tp).toMatchObject({ side: 0, limitPrice: 21000, size: 2 });
    const wrongSign = await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 2,
      side: 1,
      size: 1,
      customTag: "br-3",
      stopLossBracket: { ticks: -20, type: 4 },
    });
    expect(wrongSign.body.errorCode).toBe(2);
  });

  it("P07 Position Brackets mode refuses brackets with code 2 yet returns an orderId", async () => {
    const placed = await post("/api/Order/place", {
      accountId: posBrk,
      contractId: mnq(),
      type: 2,
      side: 0,
      size: 1,
      customTag: "pb-1",
      stopLossBracket: { ticks: -40, type: 4 },
    });
    expect(placed.body).toEqual({
      orderId: expect.any(Number),
      success: false,
      errorCode: 2,
      errorMessage: POSITION_BRACKETS_MESSAGE,
    });
    expect((await post("/api/Position/searchOpen", { accountId: posBrk })).body.positions).toEqual([]);
    const plain = await post("/api/Order/place", {
      accountId: posBrk,
      contractId: mnq(),
      type: 2,
      side: 0,
      size: 1,
      customTag: "pb-1",
    });
    expect(plain.body.success).toBe(true);
  });

  it("P08 positions aggregate per contract; close and partial close; trades are half turns with fees", async () => {
    const buy = (size: number, tag: string) =>
      post("/api/Order/place", {
        accountId: auto,
        contractId: mnq(),
        type: 2,
        side: 0,
        size,
        customTag: tag,
      });
    await buy(1, "a");
    sim.setPrice("MNQ", dec("21010"));
    await buy(1, "b");
    const positions = (await post("/api/Position/searchOpen", { accountId: auto })).body.positions;
    expect(positions).toEqual([
      {
        id: expect.any(Number),
        accountId: auto,
        contractId: mnq(),
        contractDisplayName: expect.any(String),
        creationTimestamp: expect.any(String),
        type: 1,
        size: 2,
        averagePrice: 21005,
      },
    ]);
    sim.setPrice("MNQ", dec("21020"));
    const partial = await post("/api/Position/partialCloseContract", {
      accountId: auto,
      contractId: mnq(),
      size: 3,
    });
    expect(partial.body.errorCode).toBe(5);
    expect(
      (await post("/api/Position/partialCloseContract", { accountId: auto, contractId: mnq(), size: 1 })).body
        .success,
    ).toBe(true);
    expect(
      (await post("/api/Position/closeContract", { accountId: auto, contractId: mnq() })).body.success,
    ).toBe(true);
    const none = await post("/api/Position/closeContract", { accountId: auto, contractId: mnq() });
    expect(none.body.errorCode).toBe(2);
    expect((await post("/api/Position/searchOpen", { accountId: auto })).body.positions).toEqual([]);
    const trades = (
      await post("/api/Trade/search", { accountId: auto, startTimestamp: "2000-01-01T00:00:00Z" })
    ).body.trades;
    expect(trades.map((t: { profitAndLoss: number | null }) => t.profitAndLoss)).toEqual([
      null,
      null,
      40,
      20,
    ]);
    expect(trades.every((t: { fees: number }) => t.fees === 0.37)).toBe(true);
    expect(sim.recorder.closes.map((c) => c.success)).toEqual([false, true, true, false]);
    const account = (await post("/api/Account/search", {})).body.accounts[0];
    expect(account.balance).toBeCloseTo(50000 + 60 - 4 * 0.37, 6);
  });

  it("P09 rate limit: a sliding window answers 429 past the limit; rateLimitNow forces it", async () => {
    await sim.stop();
    await setup({ rateLimit: { max: 5, windowMs: 60_000 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post("/api/Account/search", {})).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    await sim.stop();
    await setup();
    sim.rateLimitNow(2);
    const forced = [];
    for (let i = 0; i < 3; i++) forced.push((await post("/api/Account/search", {})).status);
    expect(forced).toEqual([429, 429, 200]);
  });

  it("P10 fault controls: rejectNext, delayReplies, swallowReplies", async () => {
    sim.rejectNext("Order/place", { errorCode: 5, errorMessage: "Outside trading hours" });
    const rejected = await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 2,
      side: 0,
      size: 1,
    });
    expect(rejected.body).toEqual({ success: false, errorCode: 5, errorMessage: "Outside trading hours" });
    expect(sim.orders(auto)).toEqual([]);
    sim.swallowReplies("/api/Order/place", 1);
    const body = { accountId: auto, contractId: mnq(), type: 2, side: 0, size: 1, customTag: "sw-1" };
    await expect(pxPost(sim.apiUrl, "/api/Order/place", body, token, { timeoutMs: 300 })).rejects.toThrow();
    expect(sim.orders(auto).map((o) => o.customTag)).toEqual(["sw-1"]);
    expect(sim.recorder.requestsTo("/api/Order/place").at(-1)?.swallowed).toBe(true);
    sim.delayReplies("/api/Position/searchOpen", 400);
    await expect(
      pxPost(sim.apiUrl, "/api/Position/searchOpen", { accountId: auto }, token, { timeoutMs: 100 }),
    ).rejects.toThrow();
    sim.clearFaults();
    expect((await post("/api/Position/searchOpen", { accountId: auto })).body.positions.length).toBe(1);
  });
});

describe("ProjectX simulator extras", () => {
  it("P18 trailing stops keep their distance and fill when the market turns; over 1000 ticks is refused", async () => {
    const far = await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 5,
      side: 1,
      size: 1,
      trailPrice: 20700,
    });
    expect(far.body.errorCode).toBe(2);
    await post("/api/Order/place", { accountId: auto, contractId: mnq(), type: 2, side: 0, size: 1 });
    const trail = await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 5,
      side: 1,
      size: 1,
      trailPrice: 20990,
      customTag: "trail-1",
    });
    expect(trail.body.success).toBe(true);
    const model = () => sim.orders(auto).find((o) => o.customTag === "trail-1");
    expect(model()).toMatchObject({ status: 1, stopPrice: 20990, trailPrice: 10, trailDistance: 40 });
    sim.setPrice("MNQ", dec("21020"));
    expect(model()?.stopPrice).toBe(21010);
    sim.setPrice("MNQ", dec("21015"));
    expect(model()?.stopPrice).toBe(21010);
    sim.setPrice("MNQ", dec("21010"));
    expect(model()).toMatchObject({ status: 2, filledPrice: 21010 });
    expect(sim.positions(auto)).toEqual([]);
  });

  it("P19 startStandalone serves a demo user with moving prices", async () => {
    const lines: string[] = [];
    const standalone = await startStandalone({ tickMs: 10, print: (l) => lines.push(l) });
    try {
      expect(lines.join("\n")).toContain(standalone.apiUrl);
      const t = await pxLogin(standalone.apiUrl, standalone.userName, standalone.apiKey);
      const accounts = await pxPost(
        standalone.apiUrl,
        "/api/Account/search",
        { onlyActiveAccounts: true },
        t,
      );
      expect(accounts.body.accounts.length).toBe(2);
      const first = standalone.sim.lastPrice("MNQ");
      await waitUntil(
        () => standalone.sim.recorder.requests.length >= 2 && standalone.sim.lastPrice("MNQ") !== first,
        "price moves",
        5_000,
      );
    } finally {
      await standalone.stop();
    }
  });
});

interface Order {
  id: number;
  status: number;
  customTag: string | null;
  parentOrderId: number | null;
  linkedOrderId: number | null;
}

describe("ProjectX simulator hubs (raw JSON hub protocol)", () => {
  it("P11 handshake, token check, completions, pings and wrapped user events", async () => {
    const refused = await RawHub.open(`${sim.rtcUrl}/hubs/user?access_token=bad`);
    expect(refused).toEqual({ refused: 401 });
    const user = await openHub("user");
    expect(user.frames[0]).toBe("{}\u001e");
    for (const method of ["SubscribeAccounts"]) expect((await user.invoke(method)).error).toBeUndefined();
    for (const method of ["SubscribeOrders", "SubscribePositions", "SubscribeTrades"])
      expect(await user.invoke(method, auto)).toEqual({
        type: 3,
        invocationId: expect.any(String),
        result: null,
      });
    expect((await user.invoke("SubscribeOrders", 1)).error).toMatch(/not found/);
    expect((await user.invoke("NoSuchMethod")).error).toMatch(/Unknown hub method/);
    await waitUntil(() => user.messages.some((m) => m.type === 6), "server ping");
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 2,
      side: 0,
      size: 1,
      customTag: "h1",
    });
    await waitUntil(() => user.events("GatewayUserTrade").length === 1, "trade event");
    const [trade] = user.events("GatewayUserTrade")[0] ?? [];
    expect(trade).toMatchObject({ action: 0, data: { price: 21000, profitAndLoss: null, side: 0, size: 1 } });
    const [position] = user.events("GatewayUserPosition")[0] ?? [];
    expect(position).toMatchObject({ action: 1, data: { type: 1, size: 1, averagePrice: 21000 } });
    await waitUntil(() => user.events("GatewayUserAccount").length > 0, "account event");
    for (const args of user.events("GatewayUserOrder")) expect(args).toHaveLength(1);
    await post("/api/Position/closeContract", { accountId: auto, contractId: mnq() });
    const closed = await waitUntil(
      () => user.events("GatewayUserPosition").find((a) => (a[0] as { action: number }).action === 2),
      "position close event",
    );
    expect(closed[0]).toMatchObject({ action: 2, data: { type: 0, size: 0 } });
    expect(sim.recorder.invocations.map((i) => i.target)).toContain("SubscribeTrades");
  });

  it("P12 bare and array event forms; unsubscribe stops events", async () => {
    const user = await openHub("user");
    await user.invoke("SubscribeOrders", auto);
    sim.setEventForm("bare");
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20000,
    });
    const bare = await waitUntil(() => user.events("GatewayUserOrder")[0], "bare order");
    expect(bare[0]).toMatchObject({ accountId: auto, status: 1, limitPrice: 20000 });
    sim.setEventForm("array");
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20001,
    });
    const arr = await waitUntil(() => user.events("GatewayUserOrder")[1], "array order");
    expect(arr[0]).toEqual([{ action: 1, data: expect.objectContaining({ limitPrice: 20001 }) }]);
    await user.invoke("UnsubscribeOrders", auto);
    const before = user.events("GatewayUserOrder").length;
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20002,
    });
    await user.invoke("SubscribeAccounts");
    expect(user.events("GatewayUserOrder").length).toBe(before);
  });

  it("P13 market hub: quotes with two arguments, partial updates, trades and depth as arrays", async () => {
    const market = await openHub("market");
    await market.invoke("SubscribeContractQuotes", mnq());
    await market.invoke("SubscribeContractTrades", mnq());
    await market.invoke("SubscribeContractMarketDepth", mnq());
    const first = await waitUntil(() => market.events("GatewayQuote")[0], "initial quote");
    expect(first[0]).toBe(mnq());
    expect(first[1]).toMatchObject({
      symbol: "F.US.MNQ",
      lastPrice: 21000,
      bestBid: 20999.75,
      bestAsk: 21000.25,
    });
    sim.setPrice("MNQ", dec("21001"));
    const update = await waitUntil(() => market.events("GatewayQuote")[1], "quote update");
    expect(update[1]).toMatchObject({ lastPrice: 21001, high: 21001 });
    expect(update[1]).not.toHaveProperty("open");
    const trade = await waitUntil(() => market.events("GatewayTrade")[0], "market trade");
    expect(trade[0]).toBe(mnq());
    expect(trade[1]).toEqual([expect.objectContaining({ symbolId: "F.US.MNQ", price: 21001, type: 0 })]);
    const depth = await waitUntil(() => market.events("GatewayDepth")[0], "depth");
    expect(Array.isArray(depth[1])).toBe(true);
    expect((await market.invoke("SubscribeContractQuotes", "CON.F.US.NOPE.Z26")).error).toMatch(/not found/);
  });

  it("P14 subscriptions do not survive a dropped socket and nothing missed is replayed", async () => {
    const user = await openHub("user");
    await user.invoke("SubscribeOrders", auto);
    sim.dropHubSockets();
    await waitUntil(() => user.ws.readyState === user.ws.CLOSED, "socket closed");
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20000,
    });
    const again = await openHub("user");
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20001,
    });
    await again.invoke("SubscribeAccounts");
    expect(again.events("GatewayUserOrder")).toEqual([]);
    await again.invoke("SubscribeOrders", auto);
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20002,
    });
    const e = await waitUntil(() => again.events("GatewayUserOrder")[0], "event after resubscribe");
    expect((e[0] as { data: { limitPrice: number } }).data.limitPrice).toBe(20002);
  });
});

describe("ProjectX simulator with the real @microsoft/signalr client", () => {
  function build(hub: string, factory: () => string) {
    const connection = new HubConnectionBuilder()
      // The Node SignalR client wants http(s) URLs and switches to ws itself.
      .withUrl(`${sim.rtcUrl.replace(/^ws/, "http")}/hubs/${hub}`, {
        skipNegotiation: true,
        transport: HttpTransportType.WebSockets,
        accessTokenFactory: factory,
      })
      .withAutomaticReconnect([0, 50, 100, 200])
      .configureLogging(LogLevel.None)
      .build();
    clients.push(connection);
    return connection;
  }

  it("P15 connects with skipNegotiation, invokes, receives one-argument and two-argument events", async () => {
    const user = build("user", () => token);
    const orders: unknown[] = [];
    user.on("GatewayUserOrder", (payload: unknown) => orders.push(payload));
    await user.start();
    await user.invoke("SubscribeOrders", auto);
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20000,
    });
    await waitUntil(() => orders.length === 1, "order via signalr");
    expect(orders[0]).toMatchObject({ action: 1, data: { status: 1, limitPrice: 20000 } });

    const market = build("market", () => token);
    const quotes: [string, unknown][] = [];
    market.on("GatewayQuote", (contractId: string, data: unknown) => quotes.push([contractId, data]));
    await market.start();
    await market.invoke("SubscribeContractQuotes", mnq());
    await waitUntil(() => quotes.length === 1, "quote via signalr");
    expect(quotes[0]?.[0]).toBe(mnq());
    await expect(user.invoke("SubscribeOrders", 1)).rejects.toThrow(/not found/);
  });

  it("P16 a bad token is refused; a dropped socket reconnects with no subscriptions", async () => {
    const refused = build("user", () => "bad");
    await expect(refused.start()).rejects.toThrow();
    const user = build("user", () => token);
    const orders: unknown[] = [];
    user.on("GatewayUserOrder", (payload: unknown) => orders.push(payload));
    let reconnected = 0;
    user.onreconnected(() => {
      reconnected++;
    });
    await user.start();
    await user.invoke("SubscribeOrders", auto);
    sim.dropHubSockets();
    await waitUntil(() => reconnected === 1 && user.state === HubConnectionState.Connected, "reconnect");
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20000,
    });
    await user.invoke("SubscribeAccounts");
    expect(orders).toEqual([]);
    await user.invoke("SubscribeOrders", auto);
    await post("/api/Order/place", {
      accountId: auto,
      contractId: mnq(),
      type: 1,
      side: 0,
      size: 1,
      limitPrice: 20001,
    });
    await waitUntil(() => orders.length === 1, "event after resubscribe");
  });

  it("P17 stop() closes every socket and server handle", async () => {
    const user = build("user", () => token);
    await user.start();
    await openHub("market");
    expect(tcpHandles()).toBeGreaterThan(0);
    await sim.stop();
    await waitUntil(
      () => user.state === HubConnectionState.Disconnected || undefined,
      "client sees close",
      5000,
    );
    await user.stop();
    for (const h of hubs.splice(0)) h.close();
    await waitUntil(() => tcpHandles() === 0 || undefined, "handles released", 5000);
    await setup();
  });
});
