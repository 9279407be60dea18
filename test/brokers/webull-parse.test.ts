import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEvent, BrokerOrder } from "../../src/brokers/port";
import { WebullApi } from "../../src/brokers/webull/api";
import { EventPoller } from "../../src/brokers/webull/events";
import { WebullHttp } from "../../src/brokers/webull/http";
import { toBrokerOrder, toNewOrder, toPosition } from "../../src/brokers/webull/parse";
import { orderViewSchema, positionViewSchema } from "../../src/brokers/webull/wire";
import { specFromTable } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId } from "../../src/domain/ids";
import { memoryLogger } from "../support/webull";

const ACCOUNT = asBrokerAccountId("4MHS0LDRC1AKG6PIQIV3T6EI5U");
const ES = specFromTable("ESZ6", new Date("2026-11-01T00:00:00Z"));
if (!ES) throw new Error("ES missing");
const base = { clientOrderId: asClientOrderId("cr1-entry"), brokerAccountId: ACCOUNT, contract: ES, qty: 1 };

describe("Webull parse", () => {
  it("P01 builds new_orders entries: market DAY, resting GTC, stop as STOP_LOSS, equities with CORE", () => {
    expect(toNewOrder({ ...base, side: "buy", type: "market" })).toEqual({
      combo_type: "NORMAL",
      client_order_id: "cr1-entry",
      symbol: "ESZ6",
      instrument_type: "FUTURES",
      market: "US",
      order_type: "MARKET",
      quantity: "1",
      side: "BUY",
      time_in_force: "DAY",
      entrust_type: "QTY",
    });
    expect(toNewOrder({ ...base, side: "sell", type: "stop", stopPrice: dec("6010.25") })).toMatchObject({
      order_type: "STOP_LOSS",
      stop_price: "6010.25",
      time_in_force: "GTC",
      side: "SELL",
    });
    const aapl = { name: "AAPL", root: "AAPL", tickSize: dec("0.01"), valuePerPoint: dec(1) };
    expect(
      toNewOrder({ ...base, contract: aapl, side: "buy", type: "limit", price: dec("190.5") }),
    ).toMatchObject({
      instrument_type: "EQUITY",
      support_trading_session: "CORE",
      limit_price: "190.5",
    });
    expect(toNewOrder({ ...base, side: "sell", type: "stop" })).toEqual({
      invalid: "stop order without a stop price",
    });
    expect(toNewOrder({ ...base, qty: 1.5, side: "buy", type: "market" })).toMatchObject({
      invalid: expect.any(String),
    });
  });

  it("P02 reads the documented trade-event order payload", () => {
    // Payload from reference/webull.md (W3 fd-events/trading-events), the fields an order view shares.
    const view = orderViewSchema.parse({
      account_id: "4MHSXXXX",
      order_id: "036LXXXX",
      client_order_id: "db74f1XXXX",
      order_status: "PARTIAL_FILLED",
      symbol: "AAPL",
      qty: "10.00",
      filled_price: "180.00",
      filled_qty: "1.00",
      side: "BUY",
      category: "US_STOCK",
      order_type: "LIMIT",
      scene_type: "FILLED",
    });
    expect(toBrokerOrder(view, ACCOUNT)).toEqual({
      brokerOrderId: "036LXXXX",
      clientOrderId: "db74f1XXXX",
      brokerAccountId: "4MHSXXXX",
      contract: "AAPL",
      side: "buy",
      type: "limit",
      qty: 10,
      filledQty: 1,
      avgFillPrice: dec(180),
      status: "working",
    });
    const failed = orderViewSchema.parse({
      ...view,
      order_status: "FAILED",
      filled_qty: "0",
      reason: "NoQuote",
    });
    expect(toBrokerOrder(failed, ACCOUNT)).toMatchObject({ status: "rejected", reason: "NoQuote" });
    expect(toBrokerOrder({ ...view, order_status: "SOMETHING_NEW" }, ACCOUNT).status).toBe("pending");
  });

  it("P03 reads short positions as negative", () => {
    const short = positionViewSchema.parse({
      symbol: "ESZ6",
      side: "SHORT",
      quantity: "2",
      cost_price: "6000.25",
    });
    expect(toPosition(short, ACCOUNT)).toEqual({
      brokerAccountId: ACCOUNT,
      contract: "ESZ6",
      netPos: -2,
      avgPrice: dec("6000.25"),
    });
  });
});

describe("Webull poller diffing", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  function poller() {
    const events: BrokerEvent[] = [];
    const http = new WebullHttp({
      baseUrl: "http://127.0.0.1:9",
      appKey: "k",
      appSecret: "s",
      timeoutMs: 100,
    });
    const controller = new AbortController();
    stops.push(() => http.close());
    const p = new EventPoller({
      api: new WebullApi(http, controller.signal),
      accounts: () => [],
      emit: (e) => events.push(e),
      logger: memoryLogger().logger,
      intervalMs: 1_000,
      onHealth: () => undefined,
      onOrder: () => undefined,
      subscribed: () => new Set(),
      beforeRound: async () => true,
    });
    return { p, events };
  }

  const state = (
    filledQty: number,
    avg?: string,
    status: BrokerOrder["status"] = "working",
  ): BrokerOrder => ({
    brokerOrderId: asBrokerOrderId("W1"),
    clientOrderId: asClientOrderId("cr1-entry"),
    brokerAccountId: ACCOUNT,
    contract: "ESZ6",
    side: "buy",
    type: "limit",
    qty: 4,
    filledQty,
    ...(avg ? { avgFillPrice: dec(avg) } : {}),
    status,
  });

  it("P04 partial fills are reported once each, priced exactly from the running average", () => {
    const { p, events } = poller();
    p.watch({ ...state(0), status: "pending" });
    p.observe(state(1, "6000"), {});
    p.observe(state(1, "6000"), {});
    p.observe(state(3, "6000.5"), {});
    p.observe(state(4, "6000.5", "filled"), {});
    p.observe(state(4, "6000.5", "filled"), {});
    const fills = events.flatMap((e) => (e.type === "OrderFilled" ? [e.fill] : []));
    // 6000 x 1, then 2 lots at (6000.5 x 3 - 6000 x 1) / 2 = 6000.75, then 1 lot at 6000.5 x 4 - 6000.5 x 3.
    expect(fills.map((f) => [f.qty, f.price, f.cumQty])).toEqual([
      [1, dec("6000"), 1],
      [2, dec("6000.75"), 3],
      [1, dec("6000.5"), 4],
    ]);
    expect(events.filter((e) => e.type === "OrderUpdated")).toHaveLength(3);
  });

  it("P05 an order first seen already part-filled reports only later fills; a fill without price waits", () => {
    const { p, events } = poller();
    p.observe(state(2, "6000"), {});
    p.observe(state(3), {});
    expect(events.filter((e) => e.type === "OrderFilled")).toHaveLength(0);
    p.observe(state(3, "6001"), {});
    // Final without a price: kept, so the priced report that follows still counts.
    p.observe(state(4, undefined, "filled"), {});
    p.observe(state(4, "6001.25", "filled"), {});
    p.observe(state(4, "6001.25", "filled"), {});
    const fills = events.flatMap((e) => (e.type === "OrderFilled" ? [e.fill] : []));
    // (6001 x 3 - 6000 x 2) / 1 = 6003, then 6001.25 x 4 - 6001 x 3 = 6002.
    expect(fills.map((f) => [f.qty, f.price])).toEqual([
      [1, dec("6003")],
      [1, dec("6002")],
    ]);
  });
});
