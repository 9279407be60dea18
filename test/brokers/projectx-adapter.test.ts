import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEvent } from "../../src/brokers/port";
import { createProjectXFactory } from "../../src/brokers/projectx";
import { resolveConfig } from "../../src/brokers/projectx/config";
import { dec, toStr } from "../../src/domain/decimal";
import { asBrokerOrderId, asClientOrderId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { tcpHandles, waitUntil } from "../support/projectx";
import { API_KEY, type Harness, harness } from "../support/projectx-adapter";

let h: Harness | undefined;

afterEach(async () => {
  if (!h) return;
  expect(h.sim.duplicateCustomTags()).toEqual([]);
  expect(h.logs.join("\n")).not.toContain(API_KEY);
  for (const line of h.logs) expect(line).not.toMatch(/eyJ[\w-]+\.eyJ/);
  await h.stop();
  h = undefined;
});

const ofType = <T extends BrokerEvent["type"]>(events: BrokerEvent[], type: T) =>
  events.filter((e): e is Extract<BrokerEvent, { type: T }> => e.type === type);

describe("ProjectX adapter against the simulator", () => {
  it("S01 login failure is surfaced clearly and nothing is sent", async () => {
    h = await harness({ credentials: { userName: "jdoe", apiKey: "wrong-key" } });
    expect(h.session.status()).toMatchObject({
      state: "error",
      error: "ProjectX rejected the user name or API key (code 3 InvalidCredentials)",
      warm: false,
    });
    const contract = { ...h.mnq, brokerContractId: h.sim.contractId("MNQ") };
    const outcome = await h.session.placeOrder(h.order({ clientOrderId: "s01-entry", contract }));
    expect(outcome).toEqual({
      kind: "rejected",
      reason: "not sent: ProjectX rejected the user name or API key (code 3 InvalidCredentials)",
    });
    const lookup = await h.session.placeOrder(h.order({ clientOrderId: "s01-lookup" }));
    expect(lookup.kind === "rejected" && lookup.reason).toContain("(code 3 InvalidCredentials)");
    expect(h.sim.recorder.requestsTo("/api/Order/place")).toEqual([]);
    expect(h.logs.join("\n")).not.toContain("wrong-key");
    const sessionEvents = ofType(h.events, "SessionChanged").map((e) => e.status.state);
    expect(sessionEvents).toEqual(["connecting", "error"]);
    await h.stop();
    h = await harness({ credentials: { userName: "nobody", apiKey: "x" } });
    expect(h.session.status().error).toBe("ProjectX does not know this user name (code 1 UserNotFound)");
    const factory = createProjectXFactory({ logger: createLogger({ level: "silent" }) });
    expect(factory.validateCredentials({ userName: "jdoe" })).toEqual({
      ok: false,
      message: "ProjectX credentials: apiKey is required",
    });
    expect(
      factory.validateCredentials({ userName: "jdoe", apiKey: "k", firmHost: "api.alphaticks.projectx.com" }),
    ).toEqual({
      ok: true,
    });
    expect(
      factory.validateCredentials({ userName: "jdoe", apiKey: "k", firmHost: "gw.example.com" }),
    ).toEqual({
      ok: false,
      message: "ProjectX credentials: firmRtcHost is required when firmHost does not start with api.",
    });
    expect(factory.validateCredentials({ userName: "jdoe", apiKey: "k", bracketMode: "oco" })).toEqual({
      ok: false,
      message: "ProjectX credentials: bracketMode must be positionBrackets, autoOco or detect",
    });
  });

  it("S02 the token is refreshed through validate before it expires", async () => {
    h = await harness({ sim: { tokenLifetimeMs: 3_000 } });
    const loginAt = Date.now();
    expect(h.session.status().state).toBe("ready");
    await waitUntil(
      () => h?.sim.recorder.requestsTo("/api/Auth/validate").some((r) => r.status === 200),
      "validate",
    );
    // Past the first token's life: REST and a hub reconnect both work with the refreshed token.
    await waitUntil(() => Date.now() > loginAt + 3_500, "first token expired");
    expect(await h.session.positions(h.auto)).toEqual([]);
    h.sim.dropHubSockets();
    await waitUntil(
      () => h?.sim.hubConnections("user") === 1 && h.session.status().state === "ready",
      "hub back",
    );
    expect(h.sim.recorder.requests.filter((r) => r.status === 401)).toEqual([]);
    expect(h.sim.recorder.requestsTo("/api/Auth/loginKey").length).toBe(1);
    expect(h.logs.some((l) => l.includes('"event":"TokenRefreshed"'))).toBe(true);
  });

  it("S03 orders carry our client order id as customTag; a duplicate is refused in the broker's words", async () => {
    h = await harness();
    const outcome = await h.session.placeOrder(
      h.order({ clientOrderId: "s03-entry", type: "limit", price: dec("20990") }),
    );
    expect(outcome.kind).toBe("accepted");
    const [order] = h.sim.orders(Number(h.auto));
    expect(order).toMatchObject({ customTag: "s03-entry", status: 1, limitPrice: 20990, side: 0, type: 1 });
    if (outcome.kind === "accepted") expect(outcome.brokerOrderId).toBe(String(order?.id));
    const dup = await h.session.placeOrder(
      h.order({ clientOrderId: "s03-entry", type: "limit", price: dec("20990") }),
    );
    expect(dup).toMatchObject({
      kind: "rejected",
      code: "2",
      reason:
        "ProjectX rejected the order (code 2 OrderRejected): An order with this custom tag already exists for this account.",
    });
    expect(h.sim.orders(Number(h.auto)).length).toBe(1);
    expect(h.sim.duplicateCustomTags()).toEqual([
      { accountId: Number(h.auto), customTag: "s03-entry", count: 2 },
    ]);
    h.sim.recorder.clear();
    const found = await h.session.findOrder(h.auto, asClientOrderId("s03-entry"));
    expect(found).toMatchObject({ clientOrderId: "s03-entry", status: "working", price: dec("20990") });
    expect(await h.session.findOrder(h.auto, asClientOrderId("never-sent"))).toBeNull();
    const working = await h.session.workingOrders(h.auto);
    expect(working.map((o) => o.clientOrderId)).toEqual(["s03-entry"]);
  });

  it("S04 native brackets in Auto-OCO mode: children suspended, then working at prices from the real fill", async () => {
    h = await harness({ adapter: { bracketMode: "autoOco" } });
    h.sim.setPrice("MNQ", dec("21003.25"));
    const result = await h.session.placeWithBrackets(h.order({ clientOrderId: "s04-entry" }), {
      stopLossTicks: 40,
      takeProfitTicks: 80,
    });
    expect(result.mode).toBe("native");
    expect(result.entry.kind).toBe("accepted");
    expect(result.stopLoss?.kind).toBe("accepted");
    expect(result.takeProfit?.kind).toBe("accepted");
    const body = h.sim.recorder.requestsTo("/api/Order/place")[0]?.body;
    expect(body).toMatchObject({
      stopLossBracket: { ticks: -40, type: 4 },
      takeProfitBracket: { ticks: 80, type: 1 },
    });
    const updates = () => ofType(h?.events ?? [], "OrderUpdated").map((e) => e.order);
    await waitUntil(
      () => updates().filter((o) => o.clientOrderId === "s04-entry-SL" && o.status === "working").length > 0,
      "stop working",
    );
    const sl = updates().filter((o) => o.clientOrderId === "s04-entry-SL");
    expect(sl[0]).toMatchObject({ status: "pending", type: "stop" });
    expect(sl[0]?.stopPrice).toBeUndefined();
    expect(sl.at(-1)).toMatchObject({ status: "working", stopPrice: dec("20993.25"), side: "sell" });
    const tp = updates()
      .filter((o) => o.clientOrderId === "s04-entry-TP")
      .at(-1);
    expect(tp).toMatchObject({ status: "working", price: dec("21023.25"), side: "sell" });
    const fills = ofType(h.events, "OrderFilled").filter((e) => e.clientOrderId === "s04-entry");
    expect(fills.map((f) => toStr(f.fill.price))).toEqual(["21003.25"]);
    // A short on another contract signs the ticks the other way.
    const mes = await h.session.contract("MES1!");
    const short = await h.session.placeWithBrackets(
      { ...h.order({ clientOrderId: "s04-short" }), contract: mes, side: "sell" },
      { stopLossTicks: 8, takeProfitTicks: 16 },
    );
    expect(short.entry.kind).toBe("accepted");
    expect(h.sim.recorder.requestsTo("/api/Order/place")[1]?.body).toMatchObject({
      stopLossBracket: { ticks: 8 },
      takeProfitBracket: { ticks: -16 },
    });
    const working = await h.session.workingOrders(h.auto);
    const mesStop = working.find((o) => o.clientOrderId === "s04-short-SL");
    expect(mesStop).toMatchObject({ side: "buy", stopPrice: dec("6002") });
  });

  it("S05 Position-Brackets mode falls back to separate exits, linked by the adapter", async () => {
    h = await harness({ adapter: { bracketMode: "autoOco" } });
    const entry = { ...h.order({ clientOrderId: "s05-entry" }), brokerAccountId: h.pos };
    const result = await h.session.placeWithBrackets(entry, { stopLossTicks: 20, takeProfitTicks: 40 });
    expect(result.mode).toBe("separate");
    expect(result.unprotected).toBeUndefined();
    expect(result.entry).toMatchObject({ kind: "accepted", fill: { price: dec("21000"), qty: 1 } });
    const places = h.sim.recorder.placements.filter((p) => p.accountId === Number(h?.pos));
    expect(places.map((p) => [p.customTag, p.success])).toEqual([
      ["s05-entry", false],
      ["s05-entry", true],
      ["s05-entry-TP", true],
      ["s05-entry-SL", true],
    ]);
    const orders = h.sim.orders(Number(h.pos));
    expect(orders.find((o) => o.customTag === "s05-entry-SL")).toMatchObject({
      status: 1,
      type: 4,
      stopPrice: 20995,
    });
    expect(orders.find((o) => o.customTag === "s05-entry-TP")).toMatchObject({
      status: 1,
      type: 1,
      limitPrice: 21010,
    });
    expect(h.session.bracketMode(h.pos)).toBe("positionBrackets");
    // The target fills: the adapter cancels the stop.
    h.sim.setPrice("MNQ", dec("21010"));
    await waitUntil(
      () => h?.sim.orders(Number(h.pos)).find((o) => o.customTag === "s05-entry-SL")?.status === 3,
      "stop cancelled by the OCO link",
    );
    expect(h.sim.positions(Number(h.pos))).toEqual([]);
    // The learned mode sends no brackets to this account again.
    const second = await h.session.placeWithBrackets(
      { ...h.order({ clientOrderId: "s05-next" }), brokerAccountId: h.pos },
      { stopLossTicks: 20 },
    );
    expect(second.mode).toBe("separate");
    expect(h.sim.recorder.placements.filter((p) => p.customTag === "s05-next").length).toBe(1);
    expect(second.stopLoss?.kind).toBe("accepted");
  });

  it("S06 cancel: cancelled, then gone for a finished or unknown order", async () => {
    h = await harness();
    const placed = await h.session.placeOrder(
      h.order({ clientOrderId: "s06", type: "limit", price: dec("20000") }),
    );
    if (placed.kind !== "accepted") throw new Error("not accepted");
    expect(await h.session.cancelOrder(h.auto, placed.brokerOrderId)).toEqual({ kind: "cancelled" });
    const again = await h.session.cancelOrder(h.auto, placed.brokerOrderId);
    expect(again).toMatchObject({ kind: "gone" });
    expect(again.kind === "gone" && again.reason).toContain("Order is already cancelled.");
    const missing = await h.session.cancelOrder(h.auto, asBrokerOrderId("123"));
    expect(missing).toEqual({
      kind: "gone",
      reason: "ProjectX has no such order (code 2 OrderNotFound): Order not found.",
    });
    const filled = await h.session.placeOrder(h.order({ clientOrderId: "s06-mkt" }));
    if (filled.kind !== "accepted") throw new Error("not accepted");
    expect((await h.session.cancelOrder(h.auto, filled.brokerOrderId)).kind).toBe("gone");
    const modify = await h.session.modifyOrder(h.auto, filled.brokerOrderId, { price: dec("20001") });
    expect(modify).toMatchObject({ kind: "rejected", code: "3" });
  });

  it("S07 flatten cancels the contract's working orders and closes the position through closeContract", async () => {
    h = await harness();
    await h.session.placeOrder(h.order({ clientOrderId: "s07-a", qty: 2 }));
    await h.session.placeOrder(
      h.order({ clientOrderId: "s07-stop", side: "sell", qty: 2, type: "stop", stopPrice: dec("20900") }),
    );
    h.sim.setPrice("MNQ", dec("21004"));
    const outcome = await h.session.flatten(h.auto, h.mnq, asClientOrderId("s07-flat"));
    expect(outcome).toMatchObject({ kind: "accepted", fill: { price: dec("21004"), qty: 2 } });
    expect(h.sim.positions(Number(h.auto))).toEqual([]);
    expect(h.sim.orders(Number(h.auto)).find((o) => o.customTag === "s07-stop")?.status).toBe(3);
    expect(h.sim.recorder.closes).toMatchObject([{ contractId: h.mnq.brokerContractId, success: true }]);
    await waitUntil(
      () =>
        ofType(h?.events ?? [], "PositionChanged").some(
          (e) => e.position.netPos === 0 && e.position.contract === h?.mnq.name,
        ),
      "flat position event",
    );
    expect(await h.session.positions(h.auto)).toEqual([]);
    const again = await h.session.flatten(h.auto, h.mnq, asClientOrderId("s07-flat2"));
    expect(again).toMatchObject({ kind: "accepted", raw: { alreadyFlat: true } });
  });

  it("S07b a close the gateway refuses leaves the stop working: exits are cancelled only after the close", async () => {
    h = await harness();
    await h.session.placeOrder(h.order({ clientOrderId: "s07b-a", qty: 1 }));
    await h.session.placeOrder(
      h.order({ clientOrderId: "s07b-stop", side: "sell", qty: 1, type: "stop", stopPrice: dec("20900") }),
    );
    h.sim.rejectNext("/api/Position/closeContract", { errorCode: 5, errorMessage: "Order rejected by risk" });
    const outcome = await h.session.flatten(h.auto, h.mnq, asClientOrderId("s07b-flat"));
    expect(outcome.kind).toBe("rejected");
    expect(h.sim.orders(Number(h.auto)).find((o) => o.customTag === "s07b-stop")?.status).toBe(1);
    expect(h.sim.positions(Number(h.auto))).toHaveLength(1);
  });

  it("S08 a reply that never comes is unknown; findOrder settles it; exactly one order at the sim", async () => {
    h = await harness({ adapter: { requestTimeoutMs: 400 } });
    h.sim.swallowReplies("Order/place", 1);
    const outcome = await h.session.placeOrder(h.order({ clientOrderId: "s08-entry" }));
    expect(outcome.kind).toBe("unknown");
    expect(outcome.kind === "unknown" && outcome.reason).toMatch(/no reply from ProjectX/);
    const found = await h.session.findOrder(h.auto, asClientOrderId("s08-entry"));
    expect(found).toMatchObject({ clientOrderId: "s08-entry", status: "filled", filledQty: 1 });
    expect(h.sim.orders(Number(h.auto)).filter((o) => o.customTag === "s08-entry").length).toBe(1);
    expect(h.sim.recorder.requestsTo("/api/Order/place").length).toBe(1);
    h.sim.delayReplies("Order/cancel", 1_000);
    const resting = await h.session.placeOrder(
      h.order({ clientOrderId: "s08-limit", type: "limit", price: dec("20000") }),
    );
    if (resting.kind !== "accepted") throw new Error("not accepted");
    expect((await h.session.cancelOrder(h.auto, resting.brokerOrderId)).kind).toBe("unknown");
  });

  it("S09 hub drop: reconnect, re-subscribe, REST reconcile of what was missed, events flow again", async () => {
    h = await harness({ adapter: { reconnectDelaysMs: [300, 300] } });
    const placed = await h.session.placeOrder(
      h.order({ clientOrderId: "s09-limit", type: "limit", price: dec("20990") }),
    );
    if (placed.kind !== "accepted") throw new Error("not accepted");
    await waitUntil(
      () => ofType(h?.events ?? [], "OrderUpdated").some((e) => e.order.clientOrderId === "s09-limit"),
      "hub order",
    );
    h.sim.dropHubSockets();
    // Fills while the adapter is deaf: the hub will never replay this.
    h.sim.setPrice("MNQ", dec("20990"));
    await waitUntil(() => h?.session.status().state === "reconnecting", "reconnecting");
    await waitUntil(
      () => ofType(h?.events ?? [], "OrderFilled").find((e) => e.clientOrderId === "s09-limit"),
      "missed fill recovered by reconciliation",
    );
    await waitUntil(() => h?.session.status().state === "ready", "ready again");
    const subs = h.sim.recorder.invocations.filter(
      (i) => i.target === "SubscribeOrders" && i.arguments[0] === Number(h?.auto),
    );
    expect(subs.length).toBe(2);
    await waitUntil(
      () => ofType(h?.events ?? [], "PositionChanged").some((e) => e.position.netPos === 1),
      "position",
    );
    const before = ofType(h.events, "OrderUpdated").length;
    await h.session.placeOrder(h.order({ clientOrderId: "s09-after", type: "limit", price: dec("20000") }));
    await waitUntil(
      () =>
        ofType(h?.events ?? [], "OrderUpdated")
          .slice(before)
          .some((e) => e.order.clientOrderId === "s09-after"),
      "events flow after reconnect",
    );
    expect(ofType(h.events, "OrderFilled").filter((e) => e.clientOrderId === "s09-limit").length).toBe(1);
    await waitUntil(() => h?.logs.some((l) => l.includes('"event":"SessionResynced"')), "resync logged");
  });

  it("S10 the client-side window keeps a burst under the limit: no 429 reaches the gateway or the caller", async () => {
    h = await harness({
      sim: { rateLimit: { max: 200, windowMs: 1_000 } },
      adapter: { rateLimit: { max: 200, windowMs: 1_000 } },
    });
    const burst = await Promise.all(Array.from({ length: 230 }, () => h?.session.positions(h.auto)));
    expect(burst.every((rows) => Array.isArray(rows))).toBe(true);
    expect(h.sim.recorder.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(h.sim.recorder.requestsTo("/api/Position/searchOpen").length).toBeGreaterThanOrEqual(230);
    // Forced 429s are backed off and re-sent, never surfaced as a rejection.
    h.sim.rateLimitNow(1);
    const outcome = await h.session.placeOrder(h.order({ clientOrderId: "s10-entry" }));
    expect(outcome.kind).toBe("accepted");
    expect(h.sim.recorder.requests.filter((r) => r.status === 429).length).toBe(1);
    expect(h.sim.orders(Number(h.auto)).length).toBe(1);
  });

  it("S11 wrapped, bare and array event forms are all parsed", async () => {
    h = await harness();
    for (const [form, price] of [
      ["wrapped", "20000"],
      ["bare", "20001"],
      ["array", "20002"],
    ] as const) {
      h.sim.setEventForm(form);
      await h.session.placeOrder(h.order({ clientOrderId: `s11-${form}`, type: "limit", price: dec(price) }));
      await waitUntil(
        () => ofType(h?.events ?? [], "OrderUpdated").find((e) => e.order.clientOrderId === `s11-${form}`),
        `${form} order event`,
      );
    }
    const updates = ofType(h.events, "OrderUpdated").filter((e) => e.order.clientOrderId?.startsWith("s11-"));
    expect(
      updates.map((e) => [e.order.clientOrderId, toStr(e.order.price ?? dec(0)), e.order.status]),
    ).toEqual([
      ["s11-wrapped", "20000", "working"],
      ["s11-bare", "20001", "working"],
      ["s11-array", "20002", "working"],
    ]);
    for (const form of ["bare", "wrapped"] as const) {
      h.sim.setEventForm(form);
      await h.session.placeOrder(h.order({ clientOrderId: `s11-pos-${form}`, side: "sell" }));
      await waitUntil(
        () => ofType(h?.events ?? [], "PositionChanged").filter((e) => e.position.netPos === -1).length > 0,
        "short position",
      );
      await h.session.flatten(h.auto, h.mnq, asClientOrderId(`s11-flat-${form}`));
      await waitUntil(
        () => ofType(h?.events ?? [], "PositionChanged").at(-1)?.position.netPos === 0,
        `${form} close (action 2, type 0, size 0)`,
      );
      h.events.length = 0;
    }
  });

  it("S12 quotes and P&L-relevant events stream (partial quotes merged, realized net of fees)", async () => {
    h = await harness();
    await h.session.subscribeQuotes(h.mnq);
    await waitUntil(() => ofType(h?.events ?? [], "QuoteReceived").length > 0, "first quote");
    h.sim.setPrice("MNQ", dec("21000.5"));
    await waitUntil(
      () => ofType(h?.events ?? [], "QuoteReceived").some((q) => toStr(q.last) === "21000.5"),
      "quote",
    );
    expect(ofType(h.events, "QuoteReceived").at(-1)).toMatchObject({
      contract: h.mnq.name,
      last: dec("21000.5"),
    });
    h.sim.setPrice("MNQ", dec("21000"));
    await h.session.placeOrder(h.order({ clientOrderId: "s12-open" }));
    h.sim.setPrice("MNQ", dec("21010"));
    await h.session.placeOrder(h.order({ clientOrderId: "s12-close", side: "sell" }));
    const cash = await waitUntil(
      () =>
        ofType(h?.events ?? [], "CashChanged").find(
          (e) => e.realizedPnl !== undefined && toStr(e.realizedPnl) === "19.26",
        ),
      "realized P&L after the round turn",
    );
    expect(cash.brokerAccountId).toBe(h.auto);
    await waitUntil(
      () =>
        ofType(h?.events ?? [], "CashChanged").some(
          (e) => e.balance !== undefined && toStr(e.balance) === "50019.26",
        ),
      "balance event",
    );
    const fills = ofType(h.events, "OrderFilled").map((f) => [f.clientOrderId, toStr(f.fill.price), f.side]);
    expect(fills).toEqual([
      ["s12-open", "21000", "buy"],
      ["s12-close", "21010", "sell"],
    ]);
    const positions = ofType(h.events, "PositionChanged").map((e) => e.position.netPos);
    expect(positions).toEqual([1, 0]);
  });

  it("S14 placeOco links two plain exits; an exit that fills at once still cancels its partner", async () => {
    h = await harness();
    await h.session.placeOrder(h.order({ clientOrderId: "s14-entry", qty: 2 }));
    const exits = { side: "sell", qty: 2 } as const;
    // The target is marketable on arrival (limit sell below the market): it fills immediately.
    const [tp, sl] = await h.session.placeOco(
      h.order({ ...exits, clientOrderId: "s14-tp", type: "limit", price: dec("20999") }),
      h.order({ ...exits, clientOrderId: "s14-sl", type: "stop", stopPrice: dec("20950") }),
    );
    expect([tp.kind, sl.kind]).toEqual(["accepted", "accepted"]);
    await waitUntil(
      () => h?.sim.orders(Number(h.auto)).find((o) => o.customTag === "s14-sl")?.status === 3,
      "stop cancelled",
    );
    expect(h.sim.positions(Number(h.auto))).toEqual([]);
    // A refused leg is not linked: the other exit stays working.
    const [bad, good] = await h.session.placeOco(
      h.order({
        ...exits,
        clientOrderId: "s14-bad",
        type: "limit",
        price: dec("21100"),
        qty: 1,
        contract: { ...h.mnq, brokerContractId: "CON.F.US.NOPE.Z26" },
      }),
      h.order({ ...exits, clientOrderId: "s14-good", type: "limit", price: dec("21100"), qty: 1 }),
    );
    expect(bad).toMatchObject({ kind: "rejected", code: "8" });
    expect(bad.kind === "rejected" && bad.reason).toContain("ProjectX does not know this contract");
    expect(good.kind).toBe("accepted");
    expect(h.sim.orders(Number(h.auto)).find((o) => o.customTag === "s14-good")?.status).toBe(1);
  });

  it("S15 endpoints: TopstepX defaults, env overrides, per-firm hosts, ws and http hub bases", () => {
    const logger = createLogger({ level: "silent" });
    const creds = { userName: "u", apiKey: "k" };
    expect(resolveConfig({ logger, env: {} }, creds)).toMatchObject({
      apiUrl: "https://api.topstepx.com",
      rtcUrl: "https://rtc.topstepx.com",
      tokenRefreshAfterMs: 23 * 3_600_000,
      rateLimit: { max: 200, windowMs: 60_000 },
      bracketMode: "positionBrackets",
    });
    const env = { PROJECTX_API_URL: "http://127.0.0.1:9/", PROJECTX_RTC_URL: "ws://127.0.0.1:9" };
    expect(resolveConfig({ logger, env }, creds)).toMatchObject({
      apiUrl: "http://127.0.0.1:9",
      rtcUrl: "http://127.0.0.1:9",
    });
    expect(
      resolveConfig({ logger, env }, { ...creds, firmHost: "api.alphaticks.projectx.com" }),
    ).toMatchObject({
      apiUrl: "https://api.alphaticks.projectx.com",
      rtcUrl: "https://rtc.alphaticks.projectx.com",
    });
    expect(
      resolveConfig({ logger, env }, { ...creds, firmHost: "gw.firm.com", firmRtcHost: "wss://rt.firm.com" }),
    ).toMatchObject({ apiUrl: "https://gw.firm.com", rtcUrl: "https://rt.firm.com" });
  });

  it("S13 stop() releases every socket and timer handle", async () => {
    await waitUntil(() => tcpHandles() === 0 || undefined, "earlier tests' sockets closed", 5_000);
    h = await harness();
    await h.session.subscribeQuotes(h.mnq);
    expect(tcpHandles()).toBeGreaterThan(0);
    await h.session.stop();
    expect(h.session.status().state).toBe("idle");
    await h.sim.stop();
    await waitUntil(() => tcpHandles() === 0 || undefined, "handles released", 5_000);
    h = undefined;
  });
});
