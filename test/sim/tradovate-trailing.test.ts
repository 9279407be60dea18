/**
 * The Tradovate simulator's TrailingStop (src/sim/tradovate/trails.ts), on the wire.
 *
 * V01 a sell TrailingStop keeps its placement distance behind the best price, only upward; each move is a
 *     new orderVersion with an executionReport "Replaced"; a fall through it fills it at market.
 * V02 no quote: NoQuote, no order; a stopPrice at the market: InvalidPrice; a modify of its stopPrice
 *     re-sets the distance; placeoco takes it as the stop half.
 */
import { afterEach, describe, expect, it } from "vitest";
import { dec, toNum } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate";
import { RawSocket, rest, waitUntil } from "../support/tradovate-helpers";

let sim: TradovateSim | undefined;
const sockets: RawSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await sim?.stop();
  sim = undefined;
});

async function setup() {
  sim = new TradovateSim();
  await sim.start();
  const ids = sim.addUser({
    name: "trail",
    password: "pw-trail",
    accounts: [{ name: "DEMO1", balance: dec(50000) }],
  });
  const accountId = ids.accounts[0]?.id ?? 0;
  const login = await rest(sim.restUrl, "auth/accesstokenrequest", {
    body: { name: "trail", password: "pw-trail", appId: "Relay", appVersion: "1.0", deviceId: "dev-trail" },
  });
  const token = (login.body as { accessToken: string }).accessToken;
  return { sim, accountId, token, mnq: sim.front("MNQ") };
}

describe("TradovateSim TrailingStop", () => {
  it("V01 trails at its placement distance, only upward, each move a Replaced version; fills when crossed", async () => {
    const { sim, accountId, token, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const socket = await RawSocket.open(sim.wsUrl);
    sockets.push(socket);
    await socket.authorize(token);
    await socket.call("user/syncrequest", { accounts: [accountId] });
    const base = { accountId, symbol: mnq, isAutomated: true };
    await rest(sim.restUrl, "order/placeorder", {
      token,
      body: { ...base, action: "Buy", orderQty: 1, orderType: "Market" },
    });
    const placed = await rest(sim.restUrl, "order/placeorder", {
      token,
      body: {
        ...base,
        action: "Sell",
        orderQty: 1,
        orderType: "TrailingStop",
        stopPrice: 20998,
        clOrdId: "t-sl",
      },
    });
    const orderId = (placed.body as { orderId: number }).orderId;
    const stop = () => toNum(sim.venue.order(orderId)?.stopPrice ?? dec(0));
    sim.setPrice(mnq, dec("21001"));
    expect(stop()).toBe(20999);
    sim.setPrice(mnq, dec("21000.5"));
    expect(stop()).toBe(20999);
    sim.setPrice(mnq, dec("21003.25"));
    expect(stop()).toBe(21001.25);
    await waitUntil(
      () =>
        socket.props("orderVersion").filter((p) => p.entity.orderId === orderId).length === 3
          ? true
          : undefined,
      { what: "two new versions" },
    );
    const versions = socket.props("orderVersion").filter((p) => p.entity.orderId === orderId);
    expect(versions.map((v) => [v.entity.orderType, v.entity.stopPrice])).toEqual([
      ["TrailingStop", 20998],
      ["TrailingStop", 20999],
      ["TrailingStop", 21001.25],
    ]);
    const reports = socket.props("executionReport").filter((p) => p.entity.orderId === orderId);
    expect(reports.map((r) => r.entity.execType)).toEqual(["New", "Replaced", "Replaced"]);
    sim.setPrice(mnq, dec("21001"));
    expect(sim.orderStatus(orderId)).toBe("Filled");
    expect(sim.venue.position(String(accountId), mnq)?.netPos).toBe(0);
  });

  it("V02 NoQuote without a price, InvalidPrice at the market, modify re-sets the distance, OCO half", async () => {
    const { sim, accountId, token, mnq } = await setup();
    const base = { accountId, symbol: mnq, isAutomated: true, orderQty: 1, action: "Sell" };
    const trailing = { ...base, orderType: "TrailingStop", stopPrice: 20998 };
    expect((await rest(sim.restUrl, "order/placeorder", { token, body: trailing })).body).toMatchObject({
      failureReason: "NoQuote",
    });
    sim.setPrice(mnq, dec("20998"));
    expect((await rest(sim.restUrl, "order/placeorder", { token, body: trailing })).body).toMatchObject({
      failureReason: "InvalidPrice",
    });
    expect(sim.orders()).toEqual([]);
    sim.setPrice(mnq, dec("21000"));
    const oco = await rest(sim.restUrl, "order/placeoco", {
      token,
      body: {
        ...base,
        orderType: "Limit",
        price: 21010,
        other: { action: "Sell", orderType: "TrailingStop", stopPrice: 20998 },
      },
    });
    const stopId = (oco.body as { ocoId: number }).ocoId;
    const stop = () => toNum(sim.venue.order(stopId)?.stopPrice ?? dec(0));
    const modified = await rest(sim.restUrl, "order/modifyorder", {
      token,
      body: { orderId: stopId, orderQty: 1, orderType: "TrailingStop", stopPrice: 20999, isAutomated: true },
    });
    expect(modified.body).toMatchObject({ commandId: expect.any(Number) });
    sim.setPrice(mnq, dec("21002"));
    expect(stop()).toBe(21001); // 1 point behind now, not 2
    sim.setPrice(mnq, dec("21010"));
    expect(sim.venue.order(stopId)?.status).toBe("cancelled"); // its OCO partner filled
  });
});
