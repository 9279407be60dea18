/**
 * The human trader at the broker's own platform (the simulators' `manual` desks): cancel everything, close
 * the position, liquidate, place a market order by hand. None of it passes through the API (not in the
 * API order records), yet connected sessions learn about it exactly as they learn about API orders:
 * Tradovate props on the synced socket, ProjectX user-hub events, Webull order lists and positions.
 */
import { afterEach, describe, expect, it } from "vitest";
import { contractName, frontMonth } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx";
import { TradovateSim } from "../../src/sim/tradovate";
import { WebullSim } from "../../src/sim/webull";
import { pxLogin, pxPost, RawHub } from "../support/projectx";
import { RawSocket, rest, waitUntil } from "../support/tradovate-helpers";
import { rawCall } from "../support/webull";

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe("manual trading at the broker", () => {
  it("MT01 Tradovate: manual cancel, close and market order reach the synced socket as props, never as API orders", async () => {
    const sim = new TradovateSim();
    await sim.start();
    stops.push(() => sim.stop());
    const ids = sim.addUser({
      name: "human",
      password: "human-pw",
      accounts: [{ name: "DEMO777", balance: dec(50_000) }],
    });
    const accountId = ids.accounts[0]?.id ?? 0;
    const mnq = sim.front("MNQ");
    sim.setPrice(mnq, dec("21000"));
    const login = await rest(sim.restUrl, "auth/accesstokenrequest", {
      body: { name: "human", password: "human-pw", appId: "x", appVersion: "1" },
    });
    const token = (login.body as { accessToken: string }).accessToken;
    const socket = await RawSocket.open(sim.wsUrl);
    stops.push(() => socket.close());
    await socket.authorize(token);
    await socket.call("user/syncrequest", { users: [ids.userId] });

    // The relay's entry with its OCO exits, through the API.
    const entry = await rest(sim.restUrl, "order/placeorder", {
      token,
      body: {
        accountId,
        action: "Buy",
        symbol: mnq,
        orderQty: 2,
        orderType: "Market",
        isAutomated: true,
        clOrdId: "cr-entry",
      },
    });
    expect(entry.body).toMatchObject({ orderId: expect.any(Number) });
    await rest(sim.restUrl, "order/placeoco", {
      token,
      body: {
        accountId,
        action: "Sell",
        symbol: mnq,
        orderQty: 2,
        orderType: "Limit",
        price: 21010,
        isAutomated: true,
        clOrdId: "cr-tp1",
        other: { action: "Sell", orderType: "Stop", stopPrice: 20990, clOrdId: "cr-sl1" },
      },
    });
    const apiOrders = sim.orders().length;

    // The human cancels everything, then sells one contract and closes the rest.
    expect(sim.manual.cancelAll(accountId)).toBe(2);
    const partial = sim.manual.marketOrder(accountId, mnq, "Sell", 1);
    expect(partial.status).toBe("filled");
    const close = sim.manual.closePosition(accountId, mnq);
    expect(close).toMatchObject({ side: "sell", qty: 1, status: "filled" });
    expect(sim.manual.closePosition(accountId, mnq)).toBeUndefined();
    expect(sim.venue.position(String(accountId), mnq)?.netPos).toBe(0);
    expect(sim.orders()).toHaveLength(apiOrders);
    expect(sim.manual.records().map((r) => r.kind)).toEqual(["cancel", "cancel", "market", "close"]);
    expect(sim.manual.isManual(close?.id ?? 0)).toBe(true);

    await waitUntil(() => socket.props("position").some((p) => p.entity.netPos === 0), {
      what: "flat position props",
    });
    const orders = socket.props("order").map((p) => p.entity);
    expect(orders.filter((o) => o.ordStatus === "Canceled").map((o) => o.id)).toHaveLength(2);
    const manualCommands = socket
      .props("command")
      .map((p) => p.entity)
      .filter((c) => c.isAutomated === false);
    expect(manualCommands.map((c) => c.commandType)).toEqual(["Cancel", "Cancel", "New", "New"]);
    expect(manualCommands.every((c) => c.clOrdId === undefined && c.userId === ids.userId)).toBe(true);
    expect(socket.props("fill").map((p) => p.entity.action)).toEqual(["Buy", "Sell", "Sell"]);

    // Liquidate: the human's "Exit at Mkt & Cxl".
    sim.manual.marketOrder(accountId, mnq, "Buy", 3);
    const liquidation = sim.manual.liquidate(accountId, mnq);
    expect(liquidation).toMatchObject({ side: "sell", qty: 3, status: "filled" });
    expect(sim.duplicateClOrdIds()).toEqual([]);
  });

  it("MT02 ProjectX: manual orders are registered like API orders, so the user hub reports them", async () => {
    const sim = new ProjectXSim({ hubPingMs: 200 });
    await sim.start();
    stops.push(() => sim.stop());
    const { accounts } = sim.addUser({
      userName: "human",
      apiKey: "human-key",
      accounts: [{ name: "PRAC-H", balance: 50_000, autoOco: false }],
    });
    const accountId = accounts[0]?.id ?? 0;
    const mnq = sim.contractId("MNQ");
    sim.setPrice("MNQ", dec("21000"));
    const token = await pxLogin(sim.apiUrl, "human", "human-key");
    const hub = await RawHub.open(`${sim.rtcUrl}/hubs/user?access_token=${encodeURIComponent(token)}`);
    if (!(hub instanceof RawHub)) throw new Error("hub refused");
    stops.push(() => hub.close());
    await hub.handshake();
    for (const target of ["SubscribeOrders", "SubscribePositions", "SubscribeTrades"])
      await hub.invoke(target, accountId);

    const post = (path: string, body: unknown) => pxPost(sim.apiUrl, path, body, token);
    const base = { accountId, contractId: mnq, side: 0, size: 2 };
    expect((await post("/api/Order/place", { ...base, type: 2, customTag: "cr-entry" })).body.success).toBe(
      true,
    );
    const stop = await post("/api/Order/place", {
      ...base,
      side: 1,
      type: 4,
      stopPrice: 20990,
      customTag: "cr-sl1",
    });
    expect(stop.body.success).toBe(true);
    const placements = sim.recorder.placements.length;

    expect(sim.manual.cancelAll(accountId)).toBe(1);
    const manualId = sim.manual.marketOrder(accountId, mnq, 1, 1);
    const closeId = sim.manual.closePosition(accountId, mnq);
    expect(closeId).toEqual(expect.any(Number));
    expect(sim.positions(accountId)).toEqual([]);
    expect(sim.recorder.placements).toHaveLength(placements);
    expect(sim.recorder.closes).toHaveLength(0);
    const records = sim.orderRecords();
    expect(records.filter((r) => r.manual).map((r) => r.id)).toEqual([manualId, closeId]);
    expect(records.find((r) => r.id === manualId)?.customTag).toBeNull();

    type Ev = { action: number; data: { id: number; status?: number; orderId?: number; size?: number } };
    const data = (target: string) => hub.events(target).map((a) => (a[0] as Ev).data);
    await waitUntil(() => data("GatewayUserPosition").some((p) => p.size === 0) || undefined, {
      what: "position closed event",
    });
    expect(data("GatewayUserOrder").find((o) => o.id === stop.body.orderId && o.status === 3)).toBeDefined();
    expect(data("GatewayUserOrder").find((o) => o.id === manualId && o.status === 2)).toBeDefined();
    expect(data("GatewayUserOrder").find((o) => o.id === closeId && o.status === 2)).toBeDefined();
    expect(data("GatewayUserTrade").map((t) => t.orderId)).toEqual([expect.any(Number), manualId, closeId]);

    // Flatten: cancel and close in one go.
    sim.manual.marketOrder(accountId, mnq, 0, 1);
    await post("/api/Order/place", {
      ...base,
      side: 1,
      size: 1,
      type: 1,
      limitPrice: 21010,
      customTag: "cr-tp1",
    });
    expect(sim.manual.flatten(accountId, mnq)).toEqual(expect.any(Number));
    expect(sim.positions(accountId)).toEqual([]);
    expect(sim.orders(accountId).filter((o) => o.status === 1)).toEqual([]);
    expect(sim.duplicateCustomTags()).toEqual([]);
  });

  it("MT03 Webull: manual orders show in the order lists and positions the adapter polls, not as API requests", async () => {
    const sim = new WebullSim({ sequentialOrderIds: true });
    await sim.start();
    stops.push(() => sim.stop());
    const appKey = "human-app";
    const appSecret = "human-secret";
    sim.addApp({ appKey, appSecret, accounts: [{ accountId: "WBH1", balance: dec(50_000) }] });
    const front = frontMonth("MNQ", new Date());
    const mnq = contractName("MNQ", front.month, front.year);
    sim.setPrice(mnq, dec("21000"));
    const call = (method: "GET" | "POST", path: string, query?: [string, string][], body?: unknown) =>
      rawCall({
        baseUrl: sim.baseUrl,
        appKey,
        appSecret,
        method,
        path,
        ...(query ? { query } : {}),
        ...(body !== undefined ? { body } : {}),
      });
    const order = (id: string, side: string, type: string, extra: Record<string, string> = {}) => ({
      account_id: "WBH1",
      new_orders: [
        {
          client_order_id: id,
          combo_type: "NORMAL",
          symbol: mnq,
          instrument_type: "FUTURES",
          market: "US",
          side,
          order_type: type,
          quantity: "2",
          time_in_force: "DAY",
          entrust_type: "QTY",
          ...extra,
        },
      ],
    });
    const entry = await call(
      "POST",
      "/openapi/trade/order/place",
      undefined,
      order("cr-entry", "BUY", "MARKET"),
    );
    expect(entry.status, JSON.stringify(entry.body)).toBe(200);
    expect((entry.body as { order_id: string }).order_id).toBe("SIM00000000000000001");
    await call(
      "POST",
      "/openapi/trade/order/place",
      undefined,
      order("cr-sl1", "SELL", "STOP_LOSS", { stop_price: "20990" }),
    );

    expect(sim.manual.cancelAll("WBH1")).toBe(1);
    const close = sim.manual.closePosition("WBH1", mnq, 1);
    expect(close).toMatchObject({ manual: true, order: { side: "sell", qty: 1, status: "filled" } });
    const positions = await call("GET", "/openapi/assets/positions", [["account_id", "WBH1"]]);
    expect(positions.body).toMatchObject({ positions: [{ symbol: mnq, side: "LONG", quantity: "1" }] });
    const rest = sim.manual.flatten("WBH1", mnq);
    expect(rest?.order.qty).toBe(1);
    const history = await call("GET", "/openapi/trade/order/history", [
      ["account_id", "WBH1"],
      ["page_size", "100"],
    ]);
    const views = (history.body as { orders: { client_order_id: string; order_status: string }[] }).orders;
    expect(views.map((v) => v.order_status)).toEqual(["FILLED", "FILLED", "CANCELLED", "FILLED"]);
    expect(views.filter((v) => v.client_order_id === close?.clientOrderId)).toHaveLength(1);
    const flat = await call("GET", "/openapi/assets/positions", [["account_id", "WBH1"]]);
    expect(flat.body).toMatchObject({ positions: [] });
    expect(sim.orders().filter((o) => o.manual)).toHaveLength(2);
    expect(sim.manual.records().map((r) => r.kind)).toEqual(["cancel", "close", "flatten"]);
    expect(sim.duplicateClientOrderIds()).toEqual([]);
  });

  it("MT04 id counters: a new instance told where an earlier one stood hands out the same order and fill ids", async () => {
    const tv1 = new TradovateSim();
    const px1 = new ProjectXSim();
    const wb1 = new WebullSim({ sequentialOrderIds: true });
    expect(tv1.nextId()).toBe(1);
    expect(px1.nextIds()).toEqual({ order: 9001, trade: 8601 });
    expect(wb1.nextOrderNumber()).toBe(1);
    const tv2 = new TradovateSim({ firstId: 42 });
    const user = tv2.addUser({ name: "u", password: "p", accounts: [{ name: "A", balance: dec(1000) }] });
    tv2.setPrice(tv2.front("MNQ"), dec("21000"));
    const order = tv2.manual.marketOrder(user.accounts[0]?.id ?? 0, tv2.front("MNQ"), "Buy", 1);
    // The order takes 42, its fill 43: the ids the earlier instance handed out from there.
    expect(order.id).toBe(42);
    expect(tv2.nextId()).toBe(44);
    const px2 = new ProjectXSim({ firstIds: { order: 100, trade: 200 } });
    const { accounts } = px2.addUser({
      userName: "u",
      apiKey: "k",
      accounts: [{ name: "P", balance: 1000 }],
    });
    px2.setPrice("MNQ", dec("21000"));
    expect(px2.manual.marketOrder(accounts[0]?.id ?? 0, px2.contractId("MNQ"), 0, 1)).toBe(100);
    expect(px2.trades()[0]?.id).toBe(200);
    expect(px2.nextIds()).toEqual({ order: 101, trade: 201 });
    const wb2 = new WebullSim({ sequentialOrderIds: true, firstOrderNumber: 7 });
    wb2.addApp({ appKey: "a", appSecret: "s", accounts: [{ accountId: "W", balance: dec(1000) }] });
    const front = frontMonth("MNQ", new Date());
    const mnq = contractName("MNQ", front.month, front.year);
    wb2.setPrice(mnq, dec("21000"));
    expect(wb2.manual.marketOrder("W", mnq, "BUY", 1).orderId).toBe("SIM00000000000000007");
    expect(wb2.nextOrderNumber()).toBe(8);
  });
});
