import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signatureTimestamp } from "../../src/brokers/webull/sign";
import { dec } from "../../src/domain/decimal";
import { expectedSignature, WebullSim } from "../../src/sim/webull";
import { type RawCall, rawCall } from "../support/webull";

const APP = { appKey: "sim-app-1", appSecret: "sim-secret-1" };
const ACCOUNT = "4MHS0LDRC1AKG6PIQIV3T6EI5U";
const PLACE = "/openapi/trade/order/place";
const CANCEL = "/openapi/trade/order/cancel";

/** A manual clock: rate limits and the timestamp window are checked without sleeping. */
let clock = Date.parse("2025-11-14T15:30:00Z");
let sim: WebullSim;

function call(extra: Partial<RawCall> & Pick<RawCall, "method" | "path">) {
  return rawCall({ baseUrl: sim.baseUrl, ...APP, now: clock, ...extra });
}

function newOrder(clientOrderId: string, fields: Record<string, string> = {}) {
  return {
    account_id: ACCOUNT,
    new_orders: [
      {
        combo_type: "NORMAL",
        client_order_id: clientOrderId,
        symbol: "ESZ5",
        instrument_type: "FUTURES",
        market: "US",
        order_type: "LIMIT",
        limit_price: "4500",
        quantity: "1",
        side: "BUY",
        time_in_force: "DAY",
        entrust_type: "QTY",
        ...fields,
      },
    ],
  };
}

const detail = (clientOrderId: string) =>
  call({
    method: "GET",
    path: "/openapi/trade/order/detail",
    query: [
      ["account_id", ACCOUNT],
      ["client_order_id", clientOrderId],
    ],
  });

beforeEach(async () => {
  clock = Date.parse("2025-11-14T15:30:00Z");
  sim = new WebullSim({ now: () => clock });
  await sim.start();
  sim.addApp({ ...APP, accounts: [{ accountId: ACCOUNT, balance: dec(50_000) }] });
  sim.setPrice("ESZ5", dec("4510"));
});

afterEach(async () => {
  expect(sim.duplicateClientOrderIds()).toEqual([]);
  await sim.stop();
});

describe("Webull simulator: signing", () => {
  it("W01 a correctly signed request is accepted and recorded as valid", async () => {
    const reply = await call({ method: "GET", path: "/openapi/account/list" });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([expect.objectContaining({ account_id: ACCOUNT })]);
    const [logged] = sim.requests("/openapi/account/list");
    expect(logged).toMatchObject({ signatureValid: true, appKey: APP.appKey, status: 200 });
  });

  it("W02 a body changed after signing is refused and places nothing", async () => {
    const reply = await call({
      method: "POST",
      path: PLACE,
      body: newOrder("w02-a"),
      sendBody: JSON.stringify(newOrder("w02-a", { quantity: "9" })),
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ error_code: "INVALID_SIGNATURE" });
    expect(sim.orders()).toHaveLength(0);
    expect(sim.requests(PLACE)[0]).toMatchObject({ signatureValid: false, authError: "INVALID_SIGNATURE" });
  });

  it("W03 a signature made with the wrong secret is refused", async () => {
    const reply = await call({ method: "POST", path: PLACE, body: newOrder("w03"), appSecret: "not-it" });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ error_code: "INVALID_SIGNATURE" });
    expect(sim.orders()).toHaveLength(0);
  });

  it("W04 a timestamp outside the skew window is refused, one inside is accepted", async () => {
    const stale = signatureTimestamp(new Date(clock - 5 * 60_000));
    const old = await call({ method: "GET", path: "/openapi/account/list", timestamp: stale });
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error_code: "TIMESTAMP_EXPIRED" });
    const near = signatureTimestamp(new Date(clock - 30_000));
    expect((await call({ method: "GET", path: "/openapi/account/list", timestamp: near })).status).toBe(200);
    const malformed = await call({
      method: "GET",
      path: "/openapi/account/list",
      timestamp: "2025-11-14 15:30",
    });
    expect(malformed.body).toMatchObject({ error_code: "INVALID_TIMESTAMP" });
  });

  it("W05 a replayed nonce is refused even with a valid signature", async () => {
    const first = await call({ method: "POST", path: PLACE, body: newOrder("w05") });
    expect(first.status).toBe(200);
    const replay = await call({ method: "POST", path: PLACE, body: newOrder("w05"), headers: first.sent });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error_code: "DUPLICATE_NONCE" });
    expect(sim.ordersFor("w05")).toHaveLength(1);
    // The replay never authenticated, so it does not count as a client re-send.
    expect(sim.requests(PLACE).filter((r) => r.signatureValid)).toHaveLength(1);
  });

  it("W06 an unknown app key and a missing header are refused", async () => {
    const unknown = await call({ method: "GET", path: "/openapi/account/list", appKey: "nobody" });
    expect(unknown).toMatchObject({ status: 401, body: { error_code: "INVALID_APP_KEY" } });
    const missing = await call({
      method: "GET",
      path: "/openapi/account/list",
      headers: { "x-signature": "" },
    });
    expect(missing).toMatchObject({ status: 401, body: { error_code: "MISSING_SIGNATURE_HEADER" } });
  });

  it("W07 the verifier reproduces a signature computed independently from the algorithm", () => {
    // Vector computed with Python's urllib quote / hashlib / hmac from the reference algorithm.
    const rawBody = JSON.stringify(newOrder("cr4k9xq2m7v1b8n3d5f6-entry"));
    const signature = expectedSignature(
      {
        path: PLACE,
        query: [],
        rawBody,
        headers: {
          "x-app-key": "a1b2c3d4e5f6",
          "x-signature-algorithm": "HMAC-SHA1",
          "x-signature-version": "1.0",
          "x-signature-nonce": "2f1c5d0e-8b7a-4e3f-9c21-6d5a4b3c2e10",
          "x-timestamp": "2025-11-14T15:30:00Z",
          host: "api.webull.com",
        },
      },
      "s3cr3t-app-secret",
    );
    expect(signature).toBe("tUdNvxUjZD3d5w8NBus+wB+rn4E=");
  });

  it("W08 an app given an access token requires it", async () => {
    sim.addApp({ appKey: "tok-app", appSecret: "tok-secret", accessToken: "approved-token", accounts: [] });
    const base = {
      method: "GET" as const,
      path: "/openapi/account/list",
      appKey: "tok-app",
      appSecret: "tok-secret",
    };
    expect((await call(base)).body).toMatchObject({ error_code: "INVALID_TOKEN" });
    expect((await call({ ...base, headers: { "x-access-token": "approved-token" } })).status).toBe(200);
  });
});

describe("Webull simulator: orders", () => {
  it("W09 order lifecycle: place, open, replace, fill, positions, balance, history", async () => {
    const placed = await call({ method: "POST", path: PLACE, body: newOrder("w09-entry") });
    expect(placed.status).toBe(200);
    expect(placed.body).toEqual({ client_order_id: "w09-entry", order_id: expect.any(String) });

    const open = await call({
      method: "GET",
      path: "/openapi/trade/order/open",
      query: [["account_id", ACCOUNT]],
    });
    expect(open.body).toMatchObject({
      has_next: false,
      orders: [{ client_order_id: "w09-entry", order_status: "SUBMITTED", qty: "1", limit_price: "4500" }],
    });

    const replaced = await call({
      method: "POST",
      path: "/openapi/trade/order/replace",
      body: {
        account_id: ACCOUNT,
        modify_orders: [{ client_order_id: "w09-entry", quantity: "2", limit_price: "4505" }],
      },
    });
    expect(replaced.status).toBe(200);

    sim.setPrice("ESZ5", dec("4505"));
    const filled = await detail("w09-entry");
    expect(filled.body).toMatchObject({
      client_order_id: "w09-entry",
      orders: [
        { order_status: "FILLED", qty: "2", filled_qty: "2", filled_price: "4505", category: "US_FUTURES" },
      ],
    });

    const positions = await call({
      method: "GET",
      path: "/openapi/assets/positions",
      query: [["account_id", ACCOUNT]],
    });
    expect(positions.body).toMatchObject({
      positions: [{ symbol: "ESZ5", side: "LONG", quantity: "2", cost_price: "4505" }],
    });

    const exit = await call({
      method: "POST",
      path: PLACE,
      body: newOrder("w09-bad", { order_type: "MARKET", side: "SELL", quantity: "2", limit_price: "" }),
    });
    // limit_price "" is not a decimal: refused before anything is stored.
    expect(exit.status).toBe(400);
    const { limit_price: _drop, ...market } = newOrder("w09-exit", {
      order_type: "MARKET",
      side: "SELL",
      quantity: "2",
    }).new_orders[0] as Record<string, string>;
    sim.setPrice("ESZ5", dec("4515"));
    const sold = await call({
      method: "POST",
      path: PLACE,
      body: { account_id: ACCOUNT, new_orders: [market] },
    });
    expect(sold.status).toBe(200);
    const balance = await call({
      method: "GET",
      path: "/openapi/assets/balance",
      query: [["account_id", ACCOUNT]],
    });
    // 2 contracts x 10 points x $50.
    expect(balance.body).toMatchObject({ total_cash_balance: "51000", day_realized_profit_loss: "1000" });

    const history = await call({
      method: "GET",
      path: "/openapi/trade/order/history",
      query: [["account_id", ACCOUNT]],
    });
    const ids = (history.body as { orders: { client_order_id: string }[] }).orders.map(
      (o) => o.client_order_id,
    );
    expect(ids).toEqual(["w09-exit", "w09-entry"]);
  });

  it("W10 duplicate client_order_id, off-tick price and unknown contract are refused with 417", async () => {
    expect((await call({ method: "POST", path: PLACE, body: newOrder("w10") })).status).toBe(200);
    const dup = await call({ method: "POST", path: PLACE, body: newOrder("w10") });
    expect(dup).toMatchObject({ status: 417, body: { error_code: "DUPLICATE_CLIENT_ORDER_ID" } });
    const offTick = await call({
      method: "POST",
      path: PLACE,
      body: newOrder("w10-b", { limit_price: "4500.1" }),
    });
    expect(offTick).toMatchObject({ status: 417, body: { error_code: "INVALID_PRICE" } });
    const continuous = await call({
      method: "POST",
      path: PLACE,
      body: newOrder("w10-c", { symbol: "ES1!" }),
    });
    expect(continuous).toMatchObject({ status: 417, body: { error_code: "INVALID_SYMBOL" } });
    expect(sim.orders()).toHaveLength(1);
    // The duplicate was sent twice by this client: the helper reports it, then we clear it for afterEach.
    expect(sim.duplicateClientOrderIds()).toEqual(["w10"]);
    sim.clearRecords();
  });

  it("W11 a market order with no quote is acknowledged and then FAILED", async () => {
    const body = newOrder("w11", { symbol: "NQZ5", order_type: "MARKET" });
    delete (body.new_orders[0] as Record<string, unknown>).limit_price;
    expect((await call({ method: "POST", path: PLACE, body })).status).toBe(200);
    expect((await detail("w11")).body).toMatchObject({
      orders: [{ order_status: "FAILED", reason: "NoQuote" }],
    });
  });

  it("W12 equities trade with a multiplier of 1", async () => {
    sim.setPrice("AAPL", dec("190.25"));
    const body = newOrder("w12", {
      symbol: "AAPL",
      instrument_type: "EQUITY",
      order_type: "MARKET",
      quantity: "10",
    });
    delete (body.new_orders[0] as Record<string, unknown>).limit_price;
    expect((await call({ method: "POST", path: PLACE, body })).status).toBe(200);
    sim.setPrice("AAPL", dec("191.25"));
    const positions = await call({
      method: "GET",
      path: "/openapi/assets/positions",
      query: [["account_id", ACCOUNT]],
    });
    expect(positions.body).toMatchObject({
      positions: [{ symbol: "AAPL", category: "US_STOCK", quantity: "10", unrealized_profit_loss: "10" }],
    });
  });

  it("W13 cancel is limited to 1 request/s per app id", async () => {
    for (const id of ["w13-a", "w13-b"]) {
      expect((await call({ method: "POST", path: PLACE, body: newOrder(id) })).status).toBe(200);
    }
    const first = await call({
      method: "POST",
      path: CANCEL,
      body: { account_id: ACCOUNT, client_order_id: "w13-a" },
    });
    expect(first.status).toBe(200);
    const second = await call({
      method: "POST",
      path: CANCEL,
      body: { account_id: ACCOUNT, client_order_id: "w13-b" },
    });
    expect(second.status).toBe(429);
    expect(second.headers["retry-after"]).toBe("1");
    expect((await detail("w13-b")).body).toMatchObject({ orders: [{ order_status: "SUBMITTED" }] });
    clock += 1_000;
    const later = await call({
      method: "POST",
      path: CANCEL,
      body: { account_id: ACCOUNT, client_order_id: "w13-b" },
    });
    expect(later.status).toBe(200);
    clock += 1_000;
    const again = await call({
      method: "POST",
      path: CANCEL,
      body: { account_id: ACCOUNT, client_order_id: "w13-b" },
    });
    expect(again).toMatchObject({ status: 417, body: { error_code: "ORDER_NOT_CANCELLABLE" } });
  });
});

describe("Webull simulator: faults", () => {
  it("W14 rejectNext and rateLimit answer without processing; clearFaults restores", async () => {
    sim.rejectNext(PLACE, { error_code: "INSUFFICIENT_MARGIN", message: "not enough margin" });
    const refused = await call({ method: "POST", path: PLACE, body: newOrder("w14-a") });
    expect(refused).toMatchObject({ status: 417, body: { error_code: "INSUFFICIENT_MARGIN" } });
    sim.rateLimit(PLACE, 1);
    expect((await call({ method: "POST", path: PLACE, body: newOrder("w14-b") })).status).toBe(429);
    sim.rateLimit(PLACE, 5);
    sim.clearFaults();
    expect((await call({ method: "POST", path: PLACE, body: newOrder("w14-c") })).status).toBe(200);
    expect(sim.orders().map((o) => o.clientOrderId)).toEqual(["w14-c"]);
  });

  it("W15 swallowReplies processes the order but never answers; delayReplies answers late", async () => {
    sim.swallowReplies(PLACE, 1);
    const pending = call({ method: "POST", path: PLACE, body: newOrder("w15-a") });
    let settled = false;
    void pending.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await expect.poll(() => sim.ordersFor("w15-a").length).toBe(1);
    expect(sim.requests(PLACE)[0]?.swallowed).toBe(true);
    expect(sim.requests(PLACE)[0]?.status).toBeUndefined();
    sim.delayReplies(PLACE, 50, 1);
    const late = await call({ method: "POST", path: PLACE, body: newOrder("w15-b") });
    expect(late.status).toBe(200);
    expect(settled).toBe(false);
    // stop() in afterEach closes the swallowed connection; the client sees an error, not a reply.
    await sim.stop();
    await expect(pending).rejects.toThrow();
  });
});
