import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEvent, OrderOutcome } from "../../src/brokers/port";
import { CAPTCHA_TEXT } from "../../src/brokers/tradovate/auth";
import { add, dec, times, toStr } from "../../src/domain/decimal";
import { asBrokerOrderId } from "../../src/domain/ids";
import {
  CREDENTIALS,
  type Harness,
  order,
  PASSWORD,
  SEC,
  startHarness,
  USER,
} from "../support/tradovate-harness";
import { RawSocket, rest, waitUntil } from "../support/tradovate-helpers";

let h: Harness | undefined;

afterEach(async () => {
  const current = h;
  h = undefined;
  if (!current) return;
  try {
    // Every order the relay placed carries isAutomated:true and its clOrdId, and no clOrdId reached the venue twice.
    for (const o of current.sim.orders().filter((x) => x.role !== "liquidation")) {
      expect(o.isAutomated, `order ${o.orderId} isAutomated`).toBe(true);
      expect(o.clOrdId, `order ${o.orderId} clOrdId`).toEqual(expect.any(String));
    }
    expect(current.sim.duplicateClOrdIds()).toEqual([]);
    // Secrets never reach a log line.
    const text = current.logs.join("");
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(SEC);
  } finally {
    await current.stop();
  }
});

async function ready(
  options: Parameters<typeof startHarness>[0] = {},
  factory: Parameters<typeof startHarness>[1] = {},
) {
  h = await startHarness(options, factory);
  await h.session.start();
  await waitUntil(() => h?.session.status().state === "ready", { what: "session ready" });
  h.sim.setPrice(h.mnq.name, dec("21000"));
  return h;
}

const accepted = (o: OrderOutcome) => {
  if (o.kind !== "accepted") throw new Error(`expected accepted, got ${JSON.stringify(o)}`);
  return o;
};

const ofType = <T extends BrokerEvent["type"]>(events: BrokerEvent[], type: T) =>
  events.filter((e): e is Extract<BrokerEvent, { type: T }> => e.type === type);

describe("Tradovate adapter against the simulator", () => {
  it("S01 login failure text is surfaced, with no retry storm; captcha is explained", async () => {
    const t = await startHarness({}, {}, { ...CREDENTIALS, password: "wrong" });
    h = t;
    expect(t.factory.validateCredentials({ username: "x" })).toEqual({
      ok: false,
      message: "Tradovate password is required",
    });
    expect(t.factory.validateCredentials({ password: "x" })).toEqual({
      ok: false,
      message: "Tradovate username is required",
    });
    expect(t.factory.validateCredentials({ username: "x", password: "y", cid: 8 })).toMatchObject({
      ok: false,
      message: expect.stringContaining("together"),
    });
    expect(t.factory.validateCredentials({ accessToken: "t" })).toEqual({ ok: true });
    expect(t.factory.validateCredentials(CREDENTIALS)).toEqual({ ok: true });
    await t.session.start();
    const status = t.session.status();
    expect(status.state).toBe("error");
    expect(status.error).toContain("Incorrect username or password");
    expect(ofType(t.events, "SessionChanged").at(-1)?.status.error).toContain(
      "Incorrect username or password",
    );
    const outcome = await t.session.placeOrder(order(t, { side: "buy", type: "market" }));
    expect(outcome).toMatchObject({
      kind: "rejected",
      reason: expect.stringContaining("Incorrect username or password"),
    });
    expect(t.sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(1);
    expect(t.sim.orders()).toHaveLength(0);

    const captcha = t.newSession("acc-captcha", { ...CREDENTIALS, appVersion: "2.0" });
    t.sim.penalize("auth/accesstokenrequest", { pTime: 1 });
    await captcha.start();
    expect(captcha.status()).toMatchObject({ state: "error", error: CAPTCHA_TEXT });
  });

  it("S02 token renewed before expiry with the socket kept open (rotated tokens stored)", async () => {
    const t = await ready({ tokenLifetimeMs: 2000, renewRotatesToken: true });
    const sim = t.sim;
    await waitUntil(() => sim.requests({ endpoint: "auth/renewaccesstoken" }).length >= 3, {
      timeoutMs: 8000,
      what: "three renewals",
    });
    const renewals = sim.requests({ endpoint: "auth/renewaccesstoken" });
    // The third renewal happens after the first token expired: it only works with the stored new token.
    expect(renewals.map((r) => [r.authorized, r.outcome])).toEqual(renewals.map(() => [true, "ok"]));
    expect(sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(1);
    expect(sim.connections("trading")).toHaveLength(1);
    expect(sim.openConnections("trading")).toHaveLength(1);
    expect(sim.revocations()).toEqual([]);
    expect(t.session.status().state).toBe("ready");
    const accounts = await t.session.brokerAccounts();
    expect(accounts.map((a) => a.name)).toEqual(["DEMO12345", "DEMO67890"]);
  });

  it("S03 dropped socket: reconnected, re-authorized, re-synced; fills while down are reported; no order lost or doubled", async () => {
    const t = await ready();
    const { sim, session } = t;
    accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
    const limit = order(t, { side: "sell", type: "limit", price: dec("21010") });
    const resting = accepted(await session.placeOrder(limit));
    expect(sim.dropSockets({ kind: "trading" })).toBe(1);
    sim.setPrice(t.mnq.name, dec("21010"));
    await waitUntil(() => sim.requests({ endpoint: "user/syncrequest" }).length === 2, { what: "re-sync" });
    await waitUntil(() => session.status().state === "ready", { what: "ready again" });
    expect(sim.connections("trading").filter((c) => c.authorizedAt !== undefined)).toHaveLength(2);
    await waitUntil(
      () => ofType(t.events, "OrderFilled").some((e) => e.brokerOrderId === resting.brokerOrderId),
      {
        what: "fill that happened while disconnected",
      },
    );
    const states = ofType(t.events, "SessionChanged").map((e) => e.status.state);
    expect(states).toContain("reconnecting");
    expect(states.at(-1)).toBe("ready");
    const after = accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
    expect(after.brokerOrderId).toEqual(expect.any(String));
    expect(sim.orders()).toHaveLength(3);
    expect(sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(1);
    expect((await session.positions(t.account)).map((p) => p.netPos)).toEqual([1]);
  });

  it("S04 reply timeout -> unknown, settled by findOrder; a lost request is null and safe to resend", async () => {
    const t = await ready();
    const { sim, session } = t;
    sim.swallowReplies("order/placeorder", 1);
    const swallowed = order(t, { side: "buy", type: "market" });
    const first = await session.placeOrder(swallowed);
    expect(first).toMatchObject({ kind: "unknown" });
    const found = await session.findOrder(t.account, swallowed.clientOrderId);
    expect(found).toMatchObject({ clientOrderId: swallowed.clientOrderId, status: "filled", filledQty: 1 });
    expect(sim.orders()).toHaveLength(1);

    sim.loseRequests("order/placeorder", 1);
    const lost = order(t, { side: "buy", type: "market" });
    expect(await session.placeOrder(lost)).toMatchObject({ kind: "unknown" });
    const before = sim.requests({ endpoint: "command/list" }).length;
    expect(await session.findOrder(t.account, lost.clientOrderId)).toBeNull();
    expect(sim.requests({ endpoint: "command/list" }).length).toBe(before + 1);
    accepted(await session.placeOrder(lost));
    expect(sim.orders().map((o) => o.clOrdId)).toEqual([swallowed.clientOrderId, lost.clientOrderId]);

    // A socket that drops while the order is in flight: unknown, then the broker's list settles it.
    sim.delayReplies("order/placeorder", 400, { count: 1 });
    const inflight = order(t, { side: "buy", type: "market" });
    const pending = session.placeOrder(inflight);
    await waitUntil(() => sim.orders().some((o) => o.clOrdId === inflight.clientOrderId), {
      what: "order at broker",
    });
    sim.dropSockets({ kind: "trading" });
    expect(await pending).toMatchObject({ kind: "unknown", reason: expect.stringContaining("dropped") });
    expect(await session.findOrder(t.account, inflight.clientOrderId)).toMatchObject({ status: "filled" });
    expect(sim.orders()).toHaveLength(3);
  });

  it("S05 penalty ticket: waits p-time, resends the identical body with the ticket, exactly one order", async () => {
    const t = await ready({}, { maxPenaltyWaitMs: 1000 });
    const { sim, session } = t;
    sim.penalize("order/placeorder", { pTime: 0.3 });
    const o = order(t, { side: "buy", type: "limit", price: dec("20990") });
    accepted(await session.placeOrder(o));
    const sent = sim.requests({ endpoint: "order/placeorder" });
    expect(sent.map((r) => r.outcome)).toEqual(["penalized", "ok"]);
    const [penalized, resent] = sent.map((r) => r.body as Record<string, unknown>);
    expect(resent).toEqual({ ...penalized, "p-ticket": "***" });
    expect(sim.orders()).toHaveLength(1);

    sim.penalize("order/placeorder", { pTime: 0.3, captcha: true });
    expect(await session.placeOrder(order(t, { side: "buy", type: "market" }))).toMatchObject({
      kind: "rejected",
      code: "Captcha",
      reason: expect.stringContaining("captcha"),
    });
    // A ticket longer than the allowed wait: give up at once, clearly, without an order.
    sim.penalize("order/placeorder", { pTime: 5 });
    expect(await session.placeOrder(order(t, { side: "buy", type: "market" }))).toMatchObject({
      kind: "rejected",
      code: "Throttled",
    });
    expect(sim.orders()).toHaveLength(1);
  });

  it("S06 two traders sharing one login use one session: one accesstokenrequest, one socket, no revocation", async () => {
    const t = await ready();
    const { sim, session } = t;
    const other = t.newSession("acc-2");
    await other.start();
    expect(other.status().state).toBe("ready");
    const orders = Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? session : other).placeOrder(order(t, { side: "buy", type: "market" }, `t${i}`)),
    );
    const outcomes = await Promise.all(orders);
    expect(outcomes.every((o) => o.kind === "accepted")).toBe(true);
    expect(new Set(outcomes.map((o) => (o.kind === "accepted" ? o.brokerOrderId : ""))).size).toBe(10);
    expect(sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(1);
    expect(sim.connections("trading")).toHaveLength(1);
    expect(sim.revocations()).toEqual([]);
    expect(sim.liveSessions(USER)).toBe(1);
    await other.stop();
    expect(session.status().state).toBe("ready");
    accepted(await session.placeOrder(order(t, { side: "sell", type: "market" })));
  });

  it("S07 HTTP-200 failures are rejections in the broker's words; cancel of a filled order is gone", async () => {
    const t = await ready();
    const { sim, session } = t;
    const unknownSymbol = await session.placeOrder(
      order(t, { side: "buy", type: "market", contract: { ...t.mnq, name: "E6H9" } }),
    );
    expect(unknownSymbol).toMatchObject({
      kind: "rejected",
      reason: "Access is denied",
      code: "UnknownReason",
    });
    const badPrice = await session.placeOrder(
      order(t, { side: "buy", type: "limit", price: dec("21000.1") }),
    );
    expect(badPrice).toMatchObject({
      kind: "rejected",
      code: "InvalidPrice",
      reason: expect.stringContaining("tick"),
    });
    sim.rejectNext("order/placeorder", {
      failureReason: "MaxPosLimitReached",
      failureText: "Max position limit reached",
    });
    expect(await session.placeOrder(order(t, { side: "buy", type: "market" }))).toEqual({
      kind: "rejected",
      reason: "Max position limit reached",
      code: "MaxPosLimitReached",
      raw: { failureReason: "MaxPosLimitReached", failureText: "Max position limit reached" },
    });
    sim.rateLimit("order/placeorder", 1);
    expect(await session.placeOrder(order(t, { side: "buy", type: "market" }))).toMatchObject({
      kind: "rejected",
      code: "RateLimited",
      reason: expect.stringContaining("429"),
    });
    // While backing off, background lookups stay local; orders still go out.
    const listed = sim.requests({ endpoint: "account/list" }).length;
    await expect(session.brokerAccounts()).rejects.toThrow(/rate-limited/);
    expect(sim.requests({ endpoint: "account/list" })).toHaveLength(listed);
    expect(
      await session.placeOrder(order(t, { side: "buy", type: "stop", stopPrice: dec(0) })),
    ).toMatchObject({ kind: "rejected", code: "InvalidOrder" });
    const filled = accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
    expect(filled.fill?.price).toBe(dec("21000"));
    expect(await session.cancelOrder(t.account, filled.brokerOrderId)).toMatchObject({ kind: "gone" });
    expect(await session.cancelOrder(t.account, asBrokerOrderId("999999"))).toMatchObject({ kind: "gone" });
    const resting = accepted(
      await session.placeOrder(order(t, { side: "buy", type: "limit", price: dec("20900") })),
    );
    const modified = await session.modifyOrder(t.account, resting.brokerOrderId, { price: dec("20950") });
    expect(modified).toMatchObject({ kind: "accepted", brokerOrderId: resting.brokerOrderId });
    const working = await session.workingOrders(t.account);
    expect(working).toEqual([
      expect.objectContaining({
        brokerOrderId: resting.brokerOrderId,
        price: dec("20950"),
        qty: 1,
        type: "limit",
      }),
    ]);
    const modifyBody = sim.requests({ endpoint: "order/modifyorder" })[0]?.body;
    expect(modifyBody).toMatchObject({ orderQty: 1, orderType: "Limit", price: 20950, isAutomated: true });
    expect(await session.cancelOrder(t.account, resting.brokerOrderId)).toEqual({ kind: "cancelled" });
    // A cancel never reaches into another sub-account of the same login.
    const foreign = accepted(
      await session.placeOrder({
        ...order(t, { side: "buy", type: "limit", price: dec("20800") }),
        brokerAccountId: t.account2,
      }),
    );
    expect(await session.cancelOrder(t.account, foreign.brokerOrderId)).toMatchObject({
      kind: "rejected",
      reason: expect.stringContaining("another account"),
    });
    expect(sim.requests({ endpoint: "order/cancelorder" })).toHaveLength(1);
    expect(sim.orders()).toHaveLength(3);
  });

  it("S08 brackets via placeoco from the real fill price; OCO cancels the stop when the target fills", async () => {
    const t = await ready();
    const { sim, session, mnq } = t;
    sim.setPrice(mnq.name, dec("21003.25"));
    const entry = accepted(await session.placeOrder(order(t, { side: "buy", type: "market", qty: 2 })));
    const fillPrice =
      entry.fill?.price ??
      (await waitUntil(() => ofType(t.events, "OrderFilled")[0]?.fill.price, { what: "fill" }));
    expect(toStr(fillPrice)).toBe("21003.25");
    const tp = order(
      t,
      { side: "sell", type: "limit", qty: 2, price: add(fillPrice, times(mnq.tickSize, 10)) },
      "tp1",
    );
    const sl = order(
      t,
      { side: "sell", type: "stop", qty: 2, stopPrice: add(fillPrice, times(mnq.tickSize, -10)) },
      "sl",
    );
    const [a, b] = await session.placeOco(tp, sl);
    const tpId = accepted(a).brokerOrderId;
    const slId = accepted(b).brokerOrderId;
    const ocoBody = sim.requests({ endpoint: "order/placeoco" })[0]?.body;
    expect(ocoBody).toMatchObject({
      price: 21005.75,
      clOrdId: tp.clientOrderId,
      isAutomated: true,
      other: { stopPrice: 21000.75, clOrdId: sl.clientOrderId, orderType: "Stop" },
    });
    expect((await session.workingOrders(t.account)).map((o) => o.brokerOrderId).sort()).toEqual(
      [tpId, slId].sort(),
    );
    sim.setPrice(mnq.name, dec("21005.75"));
    await waitUntil(
      () => {
        const updates = ofType(t.events, "OrderUpdated");
        const last = (id: string) => updates.filter((u) => u.order.brokerOrderId === id).at(-1)?.order.status;
        return last(tpId) === "filled" && last(slId) === "cancelled";
      },
      { what: "OCO resolution" },
    );
    expect(await session.workingOrders(t.account)).toEqual([]);
    await waitUntil(() => ofType(t.events, "PositionChanged").at(-1)?.position.netPos === 0, {
      what: "flat",
    });
    const found = await session.findOrder(t.account, sl.clientOrderId);
    expect(found).toMatchObject({ status: "cancelled", stopPrice: dec("21000.75") });
  });

  it("S09 flatten uses liquidateposition with the integer contractId: working orders cancelled, position closed", async () => {
    const t = await ready();
    const { sim, session, mnq } = t;
    accepted(await session.placeOrder(order(t, { side: "buy", type: "market", qty: 3 })));
    const [a] = await session.placeOco(
      order(t, { side: "sell", type: "limit", qty: 3, price: dec("21050") }, "tp1"),
      order(t, { side: "sell", type: "stop", qty: 3, stopPrice: dec("20950") }, "sl"),
    );
    accepted(a);
    const flat = order(t, { side: "sell", type: "market" }, "flat");
    const outcome = await session.flatten(t.account, mnq, flat.clientOrderId);
    const liquidation = accepted(outcome);
    expect(sim.requests({ endpoint: "order/liquidateposition" })[0]?.body).toEqual({
      accountId: Number(t.account),
      contractId: Number(mnq.brokerContractId),
      admin: false,
    });
    await waitUntil(async () => (await session.positions(t.account)).length === 0, { what: "flat" });
    expect(await session.workingOrders(t.account)).toEqual([]);
    expect(await session.findOrder(t.account, flat.clientOrderId)).toMatchObject({
      brokerOrderId: liquidation.brokerOrderId,
      status: "filled",
      filledQty: 3,
      side: "sell",
    });
    // Flattening a flat position is accepted and places nothing.
    const again = accepted(
      await session.flatten(t.account, { ...mnq, brokerContractId: undefined }, flat.clientOrderId),
    );
    expect(again.brokerOrderId).toBe("0");
    expect(sim.orders().filter((o) => o.role === "liquidation")).toHaveLength(1);
  });

  it("S10 continuous symbols map to the broker's front month (exact root), with its tick size and value", async () => {
    const t = await ready();
    const { sim, session } = t;
    const spec = await session.contract("MNQ1!");
    expect(spec).toEqual({
      name: sim.front("MNQ"),
      root: "MNQ",
      tickSize: dec("0.25"),
      valuePerPoint: dec("2"),
      brokerContractId: String(sim.contract("MNQ").contract.id),
    });
    await session.contract("CME_MINI:MNQ1!");
    expect(sim.requests({ endpoint: "contract/suggest" })).toHaveLength(1);
    expect((await session.contract("ES1!")).name).toBe(sim.front("ES"));
    expect((await session.contract("ES1!")).valuePerPoint).toBe(dec("50"));
    const second = sim.catalog.entries.filter((e) => e.product.name === "MNQ")[1];
    expect((await session.contract("MNQ2!")).name).toBe(second?.contract.name);
    expect((await session.contract(second?.contract.name ?? "")).brokerContractId).toBe(
      String(second?.contract.id),
    );
    await expect(session.contract("XYZ1!")).rejects.toThrow(/does not list/);
    await expect(session.contract("MNQZ9")).rejects.toThrow(/does not list/);
  });

  it("S11 fills, positions and cash stream as events; quotes stream from the md socket", async () => {
    const t = await ready();
    const { sim, session, mnq } = t;
    const buy = order(t, { side: "buy", type: "market", qty: 2 });
    accepted(await session.placeOrder(buy));
    await waitUntil(() => ofType(t.events, "PositionChanged").some((e) => e.position.netPos === 2), {
      what: "position",
    });
    const fill = ofType(t.events, "OrderFilled")[0];
    expect(fill).toMatchObject({
      clientOrderId: buy.clientOrderId,
      brokerAccountId: t.account,
      contract: mnq.name,
      side: "buy",
      fill: { price: dec("21000"), qty: 2 },
    });
    expect(ofType(t.events, "PositionChanged").at(-1)?.position).toEqual({
      brokerAccountId: t.account,
      contract: mnq.name,
      netPos: 2,
      avgPrice: dec("21000"),
    });
    sim.setPrice(mnq.name, dec("21012.5"));
    accepted(await session.placeOrder(order(t, { side: "sell", type: "market", qty: 2 })));
    await waitUntil(() => ofType(t.events, "CashChanged").length > 0, { what: "cash" });
    expect(ofType(t.events, "CashChanged").at(-1)).toMatchObject({
      brokerAccountId: t.account,
      realizedPnl: dec("50"),
      balance: dec("50050"),
    });
    await session.subscribeQuotes(mnq);
    await waitUntil(() => ofType(t.events, "QuoteReceived").length > 0, { what: "initial quote" });
    sim.setPrice(mnq.name, dec("21020.75"));
    await waitUntil(() => ofType(t.events, "QuoteReceived").some((q) => q.last === dec("21020.75")), {
      what: "quote",
    });
    expect(ofType(t.events, "QuoteReceived").at(-1)).toMatchObject({
      contract: mnq.name,
      last: dec("21020.75"),
    });
    expect(sim.connections("md")).toHaveLength(1);
    const accounts = await session.brokerAccounts();
    expect(accounts[0]).toEqual({ id: t.account, name: "DEMO12345", balance: dec("50050") });
  });

  it("S12 the client heartbeat keeps an idle session alive past the server's inactivity timeout", async () => {
    const t = await ready({ heartbeatTimeoutMs: 600, heartbeatIntervalMs: 10_000 }, { heartbeatMs: 100 });
    const { sim, session } = t;
    const start = Date.now();
    await waitUntil(() => Date.now() - start > 1900, { timeoutMs: 4000, what: "three server timeouts" });
    expect(sim.connections("trading")).toHaveLength(1);
    expect(sim.openConnections("trading")).toHaveLength(1);
    expect(sim.connections("trading")[0]?.heartbeats).toBeGreaterThan(5);
    const status = session.status();
    expect(status).toMatchObject({ state: "ready", warm: true });
    expect(status.rttMs).toEqual(expect.any(Number));
  });

  it("S13 kicked by the session quota: re-login, reconnect and carry on", async () => {
    const t = await ready();
    const { sim, session } = t;
    const login = { name: USER, password: PASSWORD, cid: 8, sec: SEC };
    await rest(sim.restUrl, "auth/accesstokenrequest", { body: login });
    await rest(sim.restUrl, "auth/accesstokenrequest", { body: login });
    await waitUntil(() => sim.revocations().length === 1, { what: "revocation" });
    await waitUntil(() => sim.requests({ endpoint: "user/syncrequest" }).length === 2, { what: "re-sync" });
    await waitUntil(() => session.status().state === "ready", { what: "ready" });
    expect(
      sim.requests({ endpoint: "auth/accesstokenrequest" }).filter((r) => r.transport === "rest"),
    ).toHaveLength(4);
    accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
  });

  it("S14 orders fall back to REST while the socket is down, with identical bodies", async () => {
    const t = await ready();
    const { sim, session } = t;
    sim.swallowReplies("authorize", 50);
    sim.dropSockets({ kind: "trading" });
    await waitUntil(() => session.status().state !== "ready", { what: "not ready" });
    const o = order(t, { side: "buy", type: "market" });
    accepted(await session.placeOrder(o));
    const sent = sim.requests({ endpoint: "order/placeorder" });
    expect(sent.map((r) => r.transport)).toEqual(["rest"]);
    expect(sent[0]?.body).toMatchObject({
      clOrdId: o.clientOrderId,
      isAutomated: true,
      accountSpec: "DEMO12345",
      symbol: t.mnq.name,
    });
    expect(await session.findOrder(t.account, o.clientOrderId)).toMatchObject({ status: "filled" });
    sim.clearFaults();
    await waitUntil(() => session.status().state === "ready", { timeoutMs: 8000, what: "recovered" });
  });

  it("S15 server-side token expiry: the authorized socket keeps working; a reconnect logs in again once", async () => {
    const t = await ready();
    const { sim, session } = t;
    sim.expireToken(USER);
    accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
    expect(sim.requests({ endpoint: "order/placeorder" }).map((r) => r.transport)).toEqual(["ws"]);
    sim.dropSockets({ kind: "trading" });
    await waitUntil(() => sim.requests({ endpoint: "user/syncrequest" }).length === 2, { what: "re-sync" });
    await waitUntil(() => session.status().state === "ready", { what: "ready" });
    expect(sim.requests({ endpoint: "authorize" }).map((r) => r.outcome)).toEqual([
      "ok",
      "unauthorized",
      "ok",
    ]);
    expect(sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(2);
    expect(sim.revocations()).toEqual([]);
    accepted(await session.placeOrder(order(t, { side: "sell", type: "market" })));
  });

  it("S16 an OAuth access token is used as given: no accesstokenrequest, user id from /auth/me, quotes with it", async () => {
    const t = await startHarness();
    h = t;
    const login = await rest(t.sim.restUrl, "auth/accesstokenrequest", {
      body: { name: USER, password: PASSWORD, cid: 8, sec: SEC },
    });
    const { accessToken, expirationTime } = login.body as { accessToken: string; expirationTime: string };
    const session = t.newSession("acc-oauth", { accessToken, expirationTime });
    await session.start();
    expect(session.status().state).toBe("ready");
    t.sim.setPrice(t.mnq.name, dec("21000"));
    accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
    const quotes: BrokerEvent[] = [];
    session.on((e) => e.type === "QuoteReceived" && quotes.push(e));
    await session.subscribeQuotes(t.mnq);
    await waitUntil(() => quotes.length > 0, { what: "quote" });
    expect(t.sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(1);
    expect(t.sim.requests({ endpoint: "auth/me" })).toHaveLength(1);
    expect(t.sim.requests({ endpoint: "user/syncrequest" })[0]?.body).toEqual({
      users: [expect.any(Number)],
    });
  });

  it("S17 a penalized sync request is resent with its ticket; the session still becomes ready", async () => {
    const t = await startHarness();
    h = t;
    t.sim.penalize("user/syncrequest", { pTime: 0.2 });
    await t.session.start();
    await waitUntil(() => t.session.status().state === "ready", { what: "ready" });
    const syncs = t.sim.requests({ endpoint: "user/syncrequest" });
    expect(syncs.map((r) => r.outcome)).toEqual(["penalized", "ok"]);
    expect(syncs[1]?.body).toEqual({ ...(syncs[0]?.body as object), "p-ticket": "***" });
    expect((await t.session.brokerAccounts()).map((a) => a.name)).toEqual(["DEMO12345", "DEMO67890"]);
  });

  it("S18 stop() closes every socket, timer and connection: no handles left behind", async () => {
    const before = process.getActiveResourcesInfo().length;
    const t = await ready();
    const { sim, session } = t;
    accepted(await session.placeOrder(order(t, { side: "buy", type: "market" })));
    await session.subscribeQuotes(t.mnq);
    sim.swallowReplies("order/placeorder", 1);
    expect(await session.placeOrder(order(t, { side: "buy", type: "market" }))).toMatchObject({
      kind: "unknown",
    });
    sim.dropSockets();
    await waitUntil(() => session.status().state === "ready", { what: "ready again" });
    sim.startRandomWalk({ intervalMs: 20 });
    h = undefined;
    await t.stop();
    expect(session.status().state).toBe("down");
    expect(sim.openConnections()).toEqual([]);
    await waitUntil(() => process.getActiveResourcesInfo().length <= before, { what: "handles released" });
  });
});

describe("raw protocol sanity", () => {
  it("the harness raw client sees the adapter's account via the same sim", async () => {
    const t = await startHarness();
    h = t;
    const r = await rest(t.sim.restUrl, "auth/accesstokenrequest", {
      body: { name: USER, password: PASSWORD, cid: 8, sec: SEC },
    });
    const token = (r.body as { accessToken: string }).accessToken;
    const socket = await RawSocket.open(t.sim.wsUrl);
    try {
      expect((await socket.authorize(token)).s).toBe(200);
    } finally {
      socket.close();
    }
  });
});
