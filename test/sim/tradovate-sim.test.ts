import { afterEach, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { TradovateSim, type TradovateSimOptions } from "../../src/sim/tradovate";
import { RawSocket, rest, waitUntil } from "../support/tradovate-helpers";

let sim: TradovateSim | undefined;
const sockets: RawSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await sim?.stop();
  sim = undefined;
});

async function setup(options: TradovateSimOptions = {}) {
  sim = new TradovateSim(options);
  await sim.start();
  const ids = sim.addUser({
    name: "jdoe",
    password: "secret-pw",
    cid: 8,
    sec: "f03741b6-f634-48d6-9308-c8fb871150c2",
    accounts: [{ name: "DEMO12345", balance: dec(50000) }],
  });
  const account = ids.accounts[0];
  if (!account) throw new Error("no account");
  return { sim, userId: ids.userId, accountId: account.id, mnq: sim.front("MNQ") };
}

const LOGIN = {
  name: "jdoe",
  password: "secret-pw",
  appId: "Sample App",
  appVersion: "1.0",
  cid: 8,
  sec: "f03741b6-f634-48d6-9308-c8fb871150c2",
  deviceId: "123e4567-e89b-12d3-a456-426614174000",
};

async function login(s: TradovateSim) {
  const reply = await rest(s.restUrl, "auth/accesstokenrequest", { body: LOGIN });
  const body = reply.body as { accessToken: string; mdAccessToken: string; userId: number };
  return body;
}

async function openTrading(s: TradovateSim, token: string) {
  const socket = await RawSocket.open(s.wsUrl);
  sockets.push(socket);
  const auth = await socket.authorize(token);
  expect(auth).toEqual({ s: 200, i: 0 });
  return socket;
}

describe("TradovateSim", () => {
  it("T01 login: success shape, HTTP-200 errorText on bad password, Bearer checks, /auth/me", async () => {
    const { sim } = await setup();
    const bad = await rest(sim.restUrl, "auth/accesstokenrequest", { body: { ...LOGIN, password: "nope" } });
    expect(bad.status).toBe(200);
    expect(bad.body).toEqual({ errorText: expect.any(String) });
    const good = await rest(sim.restUrl, "auth/accesstokenrequest", { body: LOGIN });
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({
      accessToken: expect.any(String),
      mdAccessToken: expect.any(String),
      expirationTime: expect.any(String),
      userStatus: "Active",
      userId: expect.any(Number),
      name: "jdoe",
    });
    const token = (good.body as { accessToken: string }).accessToken;
    expect((await rest(sim.restUrl, "account/list")).status).toBe(401);
    expect((await rest(sim.restUrl, "account/list", { token: "garbage" })).status).toBe(401);
    const accounts = await rest(sim.restUrl, "account/list", { token });
    expect(accounts.body).toEqual([
      expect.objectContaining({ name: "DEMO12345", userId: expect.any(Number) }),
    ]);
    const me = await rest(sim.restUrl, "auth/me", { token });
    expect(me.body).toMatchObject({ name: "jdoe", userId: expect.any(Number) });
    const recorded = sim.requests({ endpoint: "auth/accesstokenrequest" });
    expect(recorded.map((r) => (r.body as { password: string }).password)).toEqual(["***", "***"]);
  });

  it("T02 socket framing: o, authorize raw and quoted, 401 text, double-encoded 404, server heartbeats", async () => {
    const { sim } = await setup({ heartbeatIntervalMs: 40 });
    const { accessToken } = await login(sim);
    const a = await RawSocket.open(sim.wsUrl);
    sockets.push(a);
    expect(a.frames[0]).toBe("o");
    const early = await a.call("account/list", undefined, "", 5);
    expect(early.s).toBe(401);
    expect(await a.authorize("not-a-token")).toEqual({ s: 401, i: 0, d: "Invalid access token" });
    expect(await a.authorize(accessToken)).toEqual({ s: 200, i: 0 });
    const quoted = await RawSocket.open(sim.wsUrl);
    sockets.push(quoted);
    expect(await quoted.authorize(JSON.stringify(accessToken))).toEqual({ s: 200, i: 0 });
    const missing = await a.call("quote/subscribe", undefined);
    expect(missing.s).toBe(404);
    expect(JSON.parse(missing.d as string)).toBe("Not found: quote/subscribe");
    const list = await a.call("account/list");
    expect(list.s).toBe(200);
    expect(list.d).toEqual([expect.objectContaining({ name: "DEMO12345" })]);
    await waitUntil(() => a.frames.filter((f) => f === "h").length >= 2, { what: "server heartbeats" });
    expect(sim.connections("trading").filter((c) => c.authorizedAt !== undefined)).toHaveLength(2);
  });

  it("T03 closes silent sockets after the heartbeat timeout and unauthorized ones after the authorize timeout", async () => {
    const { sim } = await setup({
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 300,
      authorizeTimeoutMs: 200,
    });
    const { accessToken } = await login(sim);
    const silent = await openTrading(sim, accessToken);
    const alive = await openTrading(sim, accessToken);
    const timer = setInterval(() => alive.heartbeat(), 50);
    const unauthorized = await RawSocket.open(sim.wsUrl);
    sockets.push(unauthorized);
    try {
      await waitUntil(() => silent.closed && unauthorized.closed, { what: "timeouts" });
      expect(silent.closeFrame).toContain("Heartbeat timeout");
      expect(unauthorized.closeFrame).toContain("Authorization timeout");
      // The heartbeating socket outlives several timeouts.
      const opened = Date.now();
      await waitUntil(() => Date.now() - opened > 900, { what: "three timeouts" });
      expect(alive.closed).toBe(false);
      expect(sim.openConnections("trading").length).toBe(1);
    } finally {
      clearInterval(timer);
    }
  });

  it("T04 user/syncrequest snapshot then props for a REST order: order, command (clOrdId, isAutomated), fill, position, cash", async () => {
    const { sim, userId, accountId, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken } = await login(sim);
    const socket = await openTrading(sim, accessToken);
    const sync = await socket.call("user/syncrequest", { users: [userId] });
    expect(sync.s).toBe(200);
    const d = sync.d as Record<string, unknown[]>;
    expect(d.users).toHaveLength(1);
    expect(d.accounts).toEqual([expect.objectContaining({ id: accountId, name: "DEMO12345" })]);
    expect(d.cashBalances).toEqual([expect.objectContaining({ accountId, amount: 50000, realizedPnL: 0 })]);
    expect(d.orders).toEqual([]);
    const placed = await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: {
        accountSpec: "DEMO12345",
        accountId,
        action: "Buy",
        symbol: mnq,
        orderQty: 2,
        orderType: "Market",
        isAutomated: true,
        clOrdId: "cr0001-entry",
      },
    });
    const orderId = (placed.body as { orderId: number }).orderId;
    expect(orderId).toEqual(expect.any(Number));
    await waitUntil(() => socket.props("position").length > 0, { what: "position props" });
    const command = socket.props("command")[0]?.entity;
    expect(command).toMatchObject({
      orderId,
      clOrdId: "cr0001-entry",
      isAutomated: true,
      commandType: "New",
    });
    const order = socket.props("order").at(-1)?.entity;
    expect(order).toMatchObject({ id: orderId, accountId, action: "Buy", ordStatus: "Filled" });
    expect(order).not.toHaveProperty("price");
    expect(socket.props("orderVersion")[0]?.entity).toMatchObject({
      orderId,
      orderQty: 2,
      orderType: "Market",
    });
    expect(socket.props("fill")[0]?.entity).toMatchObject({ orderId, qty: 2, price: 21000, action: "Buy" });
    expect(socket.props("executionReport").map((p) => p.entity.execType)).toEqual(["New", "Trade"]);
    expect(socket.props("position")[0]?.entity).toMatchObject({ accountId, netPos: 2, netPrice: 21000 });
    sim.setPrice(mnq, dec("21010"));
    await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: { accountId, action: "Sell", symbol: mnq, orderQty: 2, orderType: "Market", isAutomated: true },
    });
    await waitUntil(() => socket.props("cashBalance").length > 0, { what: "cash props" });
    expect(socket.props("cashBalance")[0]?.entity).toMatchObject({ realizedPnL: 40, amount: 50040 });
    expect(socket.props("fillPair")[0]?.entity).toMatchObject({ qty: 2, buyPrice: 21000, sellPrice: 21010 });
    const snapshot = await rest(sim.restUrl, "cashBalance/getcashbalancesnapshot", {
      token: accessToken,
      body: { accountId },
    });
    expect(snapshot.body).toMatchObject({ totalCashValue: 50040, realizedPnL: 40 });
    expect(snapshot.body).not.toHaveProperty("openPnL");
    const commands = await socket.call("command/list");
    expect(commands.d).toEqual(
      expect.arrayContaining([expect.objectContaining({ clOrdId: "cr0001-entry" })]),
    );
  });

  it("T05 placeoso lifecycle over WS: held brackets, entry fill releases them, target fill cancels the stop", async () => {
    const { sim, userId, accountId, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken } = await login(sim);
    const socket = await openTrading(sim, accessToken);
    await socket.call("user/syncrequest", { accounts: [accountId] });
    const reply = await socket.call("order/placeoso", {
      accountSpec: "DEMO12345",
      accountId,
      action: "Buy",
      symbol: mnq,
      orderQty: 1,
      orderType: "Limit",
      price: 20995,
      isAutomated: true,
      clOrdId: "oso-entry",
      bracket1: { action: "Sell", orderType: "Limit", price: 21005, clOrdId: "oso-tp" },
      bracket2: { action: "Sell", orderType: "Stop", stopPrice: 20985, clOrdId: "oso-sl" },
    });
    const { orderId, oso1Id, oso2Id } = reply.d as { orderId: number; oso1Id: number; oso2Id: number };
    expect([orderId, oso1Id, oso2Id].every((n) => typeof n === "number")).toBe(true);
    expect(sim.orderStatus(oso1Id)).toBe("Suspended");
    sim.setPrice(mnq, dec("20995"));
    expect(sim.orderStatus(orderId)).toBe("Filled");
    expect(sim.orderStatus(oso1Id)).toBe("Working");
    expect(sim.orderStatus(oso2Id)).toBe("Working");
    sim.setPrice(mnq, dec("21005"));
    expect(sim.orderStatus(oso1Id)).toBe("Filled");
    expect(sim.orderStatus(oso2Id)).toBe("Canceled");
    await waitUntil(() => socket.props("cashBalance").length > 0, { what: "realized P&L" });
    expect(socket.props("cashBalance").at(-1)?.entity).toMatchObject({ realizedPnL: 20 });
    const roles = sim.orders().map((o) => [o.clOrdId, o.role]);
    expect(roles).toEqual([
      ["oso-entry", "order"],
      ["oso-tp", "bracket"],
      ["oso-sl", "bracket"],
    ]);
    expect(userId).toBeGreaterThan(0);
  });

  it("T06 business failures are HTTP 200 with failureReason/failureText and create no order", async () => {
    const { sim, accountId, mnq } = await setup();
    const { accessToken } = await login(sim);
    const base = { accountId, action: "Buy", orderQty: 1, isAutomated: true };
    const unknown = await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: { ...base, symbol: "E6H9", orderType: "Market" },
    });
    expect(unknown).toMatchObject({
      status: 200,
      body: { failureReason: "UnknownReason", failureText: "Access is denied" },
    });
    const noQuote = await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: { ...base, symbol: mnq, orderType: "Market" },
    });
    expect(noQuote.body).toMatchObject({ failureReason: "NoQuote" });
    const badPrice = await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: { ...base, symbol: mnq, orderType: "Limit", price: 21000.1 },
    });
    expect(badPrice.body).toMatchObject({ failureReason: "InvalidPrice" });
    const missingQty = await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: { accountId, action: "Buy", symbol: mnq, orderType: "Market" },
    });
    expect(missingQty.status).toBe(400);
    sim.rejectNext("order/placeorder", {
      failureReason: "RiskCheckTimeout",
      failureText: "Risk check timed out",
    });
    sim.setPrice(mnq, dec("21000"));
    const injected = await rest(sim.restUrl, "order/placeorder", {
      token: accessToken,
      body: { ...base, symbol: mnq, orderType: "Market" },
    });
    expect(injected.body).toEqual({ failureReason: "RiskCheckTimeout", failureText: "Risk check timed out" });
    expect(sim.orders()).toHaveLength(0);
  });

  it("T07 penalty ticket: early or altered resend is penalized again, identical late resend places exactly one order", async () => {
    const { sim, accountId, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken } = await login(sim);
    const socket = await openTrading(sim, accessToken);
    sim.penalize("order/placeorder", { pTime: 0.3 });
    const body = {
      accountId,
      action: "Buy",
      symbol: mnq,
      orderQty: 1,
      orderType: "Market",
      isAutomated: true,
      clOrdId: "pen-1",
    };
    const first = await socket.call("order/placeorder", body);
    expect(first.s).toBe(200);
    const ticket = first.d as { "p-ticket": string; "p-time": number };
    expect(ticket["p-time"]).toBe(0.3);
    const early = await socket.call("order/placeorder", { ...body, "p-ticket": ticket["p-ticket"] });
    const again = early.d as { "p-ticket": string };
    expect(again["p-ticket"]).toEqual(expect.any(String));
    const altered = await socket.call("order/placeorder", {
      ...body,
      orderQty: 2,
      "p-ticket": again["p-ticket"],
    });
    expect(altered.d).toHaveProperty("p-ticket");
    const latest = (altered.d as { "p-ticket": string })["p-ticket"];
    const start = Date.now();
    await waitUntil(() => Date.now() - start > 350, { what: "p-time" });
    // The latest ticket was issued for the altered body; send that body.
    const ok = await socket.call("order/placeorder", { ...body, orderQty: 2, "p-ticket": latest });
    expect(ok.d).toEqual({ orderId: expect.any(Number) });
    expect(sim.orders()).toHaveLength(1);
    sim.penalize("auth/accesstokenrequest", { pTime: 1 });
    const captcha = await rest(sim.restUrl, "auth/accesstokenrequest", { body: LOGIN });
    expect(captcha.body).toMatchObject({ "p-captcha": true, "p-time": 1 });
  });

  it("T08 rate limits, swallowed and lost replies", async () => {
    const { sim, accountId, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken } = await login(sim);
    const socket = await openTrading(sim, accessToken);
    sim.rateLimit("account/list", 2);
    const limited = await rest(sim.restUrl, "account/list", { token: accessToken });
    expect(limited).toMatchObject({ status: 429, text: "" });
    expect(await socket.call("account/list")).toEqual({ s: 429, i: expect.any(Number) });
    expect((await socket.call("account/list")).s).toBe(200);
    sim.swallowReplies("order/placeorder", 1);
    const body = {
      accountId,
      action: "Buy",
      symbol: mnq,
      orderQty: 1,
      orderType: "Market",
      isAutomated: true,
      clOrdId: "sw-1",
    };
    socket.send(`order/placeorder\n77\n\n${JSON.stringify(body)}`);
    await expect(socket.response(77, 300)).rejects.toThrow(/response 77/);
    expect(sim.orders().map((o) => o.clOrdId)).toEqual(["sw-1"]);
    sim.loseRequests("order/placeorder", 1);
    socket.send(`order/placeorder\n78\n\n${JSON.stringify({ ...body, clOrdId: "lost-1" })}`);
    await expect(socket.response(78, 300)).rejects.toThrow(/response 78/);
    expect(sim.orders().map((o) => o.clOrdId)).toEqual(["sw-1"]);
    expect(sim.requests({ endpoint: "order/placeorder" }).map((r) => r.outcome)).toEqual([
      "swallowed",
      "lost",
    ]);
  });

  it("T09 modify, cancel, placeoco and liquidateposition", async () => {
    const { sim, accountId, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken } = await login(sim);
    const socket = await openTrading(sim, accessToken);
    await socket.call("user/syncrequest", { accounts: [accountId] });
    const limit = await socket.call("order/placeorder", {
      accountId,
      action: "Buy",
      symbol: mnq,
      orderQty: 1,
      orderType: "Limit",
      price: 20990,
      isAutomated: true,
    });
    const orderId = (limit.d as { orderId: number }).orderId;
    const noType = await socket.call("order/modifyorder", { orderId, orderQty: 1, price: 20991 });
    expect(noType.s).toBe(400);
    const modified = await socket.call("order/modifyorder", {
      orderId,
      orderQty: 2,
      orderType: "Limit",
      price: 20992,
      isAutomated: true,
    });
    expect(modified.d).toEqual({ commandId: expect.any(Number) });
    const versions = await socket.call("orderVersion/deps", undefined, `masterid=${orderId}`);
    expect((versions.d as { orderQty: number; price: number }[]).at(-1)).toMatchObject({
      orderQty: 2,
      price: 20992,
    });
    const cancelled = await socket.call("order/cancelorder", { orderId, isAutomated: true });
    expect(cancelled.d).toEqual({ commandId: expect.any(Number) });
    expect(sim.orderStatus(orderId)).toBe("Canceled");
    const again = await socket.call("order/cancelorder", { orderId, isAutomated: true });
    expect(again.d).toMatchObject({
      failureReason: expect.any(String),
      failureText: expect.stringContaining("Canceled"),
    });
    await socket.call("order/placeorder", {
      accountId,
      action: "Buy",
      symbol: mnq,
      orderQty: 2,
      orderType: "Market",
      isAutomated: true,
    });
    const oco = await socket.call("order/placeoco", {
      accountId,
      action: "Sell",
      symbol: mnq,
      orderQty: 2,
      orderType: "Limit",
      price: 21010,
      isAutomated: true,
      clOrdId: "tp",
      other: { action: "Sell", orderType: "Stop", stopPrice: 20990, clOrdId: "sl" },
    });
    const { orderId: tp, ocoId: sl } = oco.d as { orderId: number; ocoId: number };
    expect(sim.orderStatus(tp)).toBe("Working");
    expect(sim.orderStatus(sl)).toBe("Working");
    const bySymbol = await socket.call("order/liquidateposition", {
      accountId,
      contractId: mnq,
      admin: false,
    });
    expect(bySymbol.s).toBe(400);
    const contract = await socket.call("contract/find", undefined, `name=${mnq}`);
    const contractId = (contract.d as { id: number }).id;
    const liq = await socket.call("order/liquidateposition", { accountId, contractId, admin: false });
    expect(liq.d).toEqual({ orderId: expect.any(Number) });
    expect(sim.orderStatus(tp)).toBe("Canceled");
    expect(sim.orderStatus(sl)).toBe("Canceled");
    expect(sim.venue.position(String(accountId), mnq)?.netPos).toBe(0);
    expect(sim.orders().at(-1)).toMatchObject({ role: "liquidation", qty: 2, action: "Sell" });
  });

  it("T10 contract lookups: find, suggest (front first), maturity and product", async () => {
    const { sim, mnq } = await setup();
    const { accessToken } = await login(sim);
    const found = await rest(sim.restUrl, "contract/find", { token: accessToken, query: `name=${mnq}` });
    const contract = found.body as { id: number; name: string; contractMaturityId: number };
    expect(contract.name).toBe(mnq);
    const suggest = await rest(sim.restUrl, "contract/suggest", { token: accessToken, query: "t=MNQ&l=5" });
    expect((suggest.body as { name: string }[])[0]?.name).toBe(mnq);
    const maturity = await rest(sim.restUrl, "contractMaturity/item", {
      token: accessToken,
      query: `id=${contract.contractMaturityId}`,
    });
    const m = maturity.body as { productId: number; isFront: boolean };
    expect(m.isFront).toBe(true);
    const product = await rest(sim.restUrl, "product/item", {
      token: accessToken,
      query: `id=${m.productId}`,
    });
    expect(product.body).toMatchObject({ name: "MNQ", valuePerPoint: 2, tickSize: 0.25 });
    const missing = await rest(sim.restUrl, "contract/find", { token: accessToken, query: "name=NOPEZ9" });
    expect(missing.status).toBe(404);
    expect(
      (await rest(sim.restUrl, "product/find", { token: accessToken, query: "name=NQ" })).body,
    ).toMatchObject({ valuePerPoint: 20 });
  });

  it("T11 session limit: a third login revokes the oldest session, which gets a shutdown event and a close", async () => {
    const { sim } = await setup();
    const first = await login(sim);
    const socket = await openTrading(sim, first.accessToken);
    await login(sim);
    expect(sim.revocations()).toHaveLength(0);
    await login(sim);
    await waitUntil(() => socket.closed, { what: "revoked socket closed" });
    const shutdown = socket.events("shutdown")[0]?.d;
    expect(shutdown).toMatchObject({ reasonCode: "ConnectionQuotaReached" });
    expect(sim.revocations()).toEqual([
      expect.objectContaining({ user: "jdoe", reason: "ConnectionQuotaReached" }),
    ]);
    expect((await rest(sim.restUrl, "account/list", { token: first.accessToken })).status).toBe(401);
    expect(sim.liveSessions("jdoe")).toBe(2);
  });

  it("T12 token expiry and renewal: renew extends the session, authorized sockets survive expiry", async () => {
    const { sim } = await setup();
    const { accessToken } = await login(sim);
    const socket = await openTrading(sim, accessToken);
    const renewed = await rest(sim.restUrl, "auth/renewaccesstoken", { token: accessToken });
    const body = renewed.body as { accessToken: string; expirationTime: string };
    expect(body.accessToken).toEqual(expect.any(String));
    expect(sim.liveSessions("jdoe")).toBe(1);
    expect(sim.requests({ endpoint: "auth/accesstokenrequest" })).toHaveLength(1);
    sim.expireToken("jdoe");
    expect((await rest(sim.restUrl, "account/list", { token: body.accessToken })).status).toBe(401);
    expect((await rest(sim.restUrl, "auth/renewaccesstoken", { token: body.accessToken })).status).toBe(401);
    const list = await socket.call("account/list");
    expect(list.s).toBe(200);
    const fresh = await RawSocket.open(sim.wsUrl);
    sockets.push(fresh);
    expect((await fresh.authorize(body.accessToken)).s).toBe(401);
  });

  it("T13 market data: authorize with either token, subscribe by name or id, quotes on price changes, unsubscribe", async () => {
    const { sim, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken, mdAccessToken } = await login(sim);
    const md = await RawSocket.open(sim.mdUrl);
    sockets.push(md);
    expect((await md.authorize(mdAccessToken)).s).toBe(200);
    const other = await RawSocket.open(sim.mdUrl);
    sockets.push(other);
    expect((await other.authorize(accessToken)).s).toBe(200);
    const trading = await RawSocket.open(sim.wsUrl);
    sockets.push(trading);
    expect((await trading.authorize(mdAccessToken)).s).toBe(401);
    expect((await md.call("md/subscribeQuote", { symbol: mnq })).s).toBe(200);
    const contractId = sim.contract(mnq).contract.id;
    expect((await other.call("md/subscribeQuote", { symbol: contractId })).s).toBe(200);
    await waitUntil(() => md.events("md").length === 1, { what: "initial quote" });
    sim.setPrice(mnq, dec("21001.25"));
    await waitUntil(() => md.events("md").length === 2 && other.events("md").length === 2, {
      what: "quotes",
    });
    type QuoteEvent = { quotes: { contractId: number; entries: Record<string, { price?: number }> }[] };
    const quote = (md.events("md")[1]?.d as QuoteEvent | undefined)?.quotes[0];
    expect(quote?.contractId).toBe(contractId);
    expect(quote?.entries.Trade?.price).toBe(21001.25);
    expect(quote?.entries.Bid?.price).toBe(21001);
    expect((await md.call("md/unsubscribeQuote", { symbol: mnq })).s).toBe(200);
    sim.setPrice(mnq, dec("21002"));
    await waitUntil(() => other.events("md").length === 3, { what: "other socket quote" });
    expect(md.events("md")).toHaveLength(2);
  });

  it("T14 dropSockets terminates without a close frame; shutdown sends the event first", async () => {
    const { sim } = await setup();
    const { accessToken } = await login(sim);
    const a = await openTrading(sim, accessToken);
    expect(sim.dropSockets({ user: "jdoe" })).toBe(1);
    await waitUntil(() => a.closed, { what: "drop" });
    expect(a.closeFrame).toBeUndefined();
    const b = await openTrading(sim, accessToken);
    sim.shutdown("Maintenance");
    await waitUntil(() => b.closed, { what: "shutdown" });
    expect(b.events("shutdown")[0]?.d).toMatchObject({ reasonCode: "Maintenance" });
    expect(b.closeFrame).toMatch(/^c\[3000,/);
  });

  it("T15 duplicateClOrdIds lists a clOrdId placed twice", async () => {
    const { sim, accountId, mnq } = await setup();
    sim.setPrice(mnq, dec("21000"));
    const { accessToken } = await login(sim);
    const body = {
      accountId,
      action: "Buy",
      symbol: mnq,
      orderQty: 1,
      orderType: "Market",
      isAutomated: true,
      clOrdId: "dup",
    };
    await rest(sim.restUrl, "order/placeorder", { token: accessToken, body });
    expect(sim.duplicateClOrdIds()).toEqual([]);
    await rest(sim.restUrl, "order/placeorder", { token: accessToken, body });
    expect(sim.duplicateClOrdIds()).toEqual(["dup"]);
  });
});
