import { describe, expect, it } from "vitest";
import { toStr } from "../../src/domain/decimal";
import {
  fingerprint,
  normalizeSignal,
  parseTime,
  type Signal,
  signalFromJson,
  signalToJson,
} from "../../src/domain/signal";

const ok = (input: unknown): Signal => {
  const r = normalizeSignal(input);
  if (!r.ok) throw new Error(r.message);
  return r.signal;
};
const refusal = (input: unknown): string => {
  const r = normalizeSignal(input);
  if (r.ok) throw new Error("accepted");
  return r.message;
};

describe("signal normalization", () => {
  it("reads TradingView's typical strategy alert with quoted numbers", () => {
    const s = ok({
      ticker: "MNQ1!",
      action: "buy",
      quantity: "2",
      price: "21000.25",
      time: "2026-11-21T15:04:05Z",
      sentiment: "long",
      prevMarketPosition: "flat",
      positionSize: "2",
    });
    expect(signalToJson(s)).toEqual({
      ticker: "MNQ1!",
      action: "buy",
      sentiment: "long",
      quantity: "2",
      price: "21000.25",
      time: "2026-11-21T15:04:05.000Z",
      prevMarketPosition: "flat",
      positionSize: "2",
    });
  });

  it("accepts every alias: symbol, data, qty, contracts, tp, sl, and action synonyms", () => {
    expect(ok({ symbol: "es1!", data: "SELL", qty: 3 })).toMatchObject({ ticker: "ES1!", action: "sell" });
    expect(toStr(ok({ ticker: "ES1!", action: "buy", contracts: "4" }).quantity ?? (0n as never))).toBe("4");
    expect(toStr(ok({ ticker: "ES1!", action: "buy", qty: 3 }).quantity ?? (0n as never))).toBe("3");
    expect(ok({ ticker: "ES1!", action: "long" }).action).toBe("buy");
    expect(ok({ ticker: "ES1!", action: "short" }).action).toBe("sell");
    expect(ok({ ticker: "ES1!", action: "flatten" }).action).toBe("flat");
    expect(ok({ ticker: "ES1!", sentiment: "flat" }).action).toBe("exit");
    expect(ok({ ticker: "ES1!", action: "buy", sentiment: "bullish" }).sentiment).toBe("long");
    expect(ok({ ticker: "ES1!", action: "sell", sentiment: "bearish" }).sentiment).toBe("short");
    expect(ok({ ticker: "ES1!", action: "buy", tp: 10, sl: "8" })).toMatchObject({
      takeProfit: { ticks: 10 },
      stopLoss: { ticks: 8 },
    });
    expect(
      ok({
        ticker: "ES1!",
        action: "buy",
        takeProfit: { limitPrice: "5010" },
        stopLoss: { type: "stop", stopPrice: 4990 },
      }),
    ).toMatchObject({
      takeProfit: { price: 5_010_000_000_000n },
      stopLoss: { price: 4_990_000_000_000n },
    });
    expect(ok({ ticker: "ES1!", action: "buy", takeProfit: { percent: "0.5" } }).takeProfit).toEqual({
      percent: 500_000_000n,
    });
    expect(ok({ ticker: "ES1!", action: "buy", id: 42 }).alertId).toBe("42");
  });

  it("refuses with messages that name the field", () => {
    expect(refusal({ action: "buy" })).toMatch(/needs a "ticker"/);
    expect(refusal({ ticker: "ES1!" })).toMatch(/needs an "action"/);
    expect(refusal({ ticker: "ES1!", action: "buy", quantity: 0 })).toBe(
      'Field "quantity" must be at least 1 contract (got 0).',
    );
    expect(refusal({ ticker: "ES1!", action: "buy", qty: 1.5 })).toBe(
      'Field "qty" must be a whole number of contracts written plainly, like 2 (got 1.5).',
    );
    expect(refusal({ ticker: "ES1!", action: "buy", quantity: "abc" })).toBe(
      'Field "quantity" is not a number: it must be a whole number of contracts written plainly, like 2 (got "abc").',
    );
    expect(refusal({ ticker: "ES1!", action: "buy", price: "-1" })).toBe(
      'Field "price" must be greater than 0.',
    );
    expect(refusal({ ticker: "ES1!", action: "buy", sentiment: "sideways" })).toMatch(
      /Unknown sentiment "sideways"/,
    );
    expect(refusal({ ticker: "ES1!", action: "buy", quantity: "{{strategy.order.contracts}}" })).toMatch(
      /placeholder/,
    );
    expect(refusal({ ticker: "ES1!", action: "buy", takeProfit: { ticks: 5, percent: 1 } })).toMatch(
      /exactly one of/,
    );
    expect(refusal({ ticker: "ES\u0000", action: "buy" })).toMatch(/control characters/);
    expect(refusal({ ticker: "ES1!", action: "buy", id: "x\ud800y" })).toMatch(
      /"id" contains control characters or broken Unicode/,
    );
    expect(refusal({ ticker: "ES1!", action: "buy", comment: "\udc00" })).toMatch(/broken Unicode/);
    expect(ok({ ticker: "ES1!", action: "buy", comment: "emoji \ud83d\ude00 ok" }).comment).toBe(
      "emoji 😀 ok",
    );
    expect(refusal({ ticker: "E".repeat(41), action: "buy" })).toMatch(/longer than 40/);
    expect(refusal("buy")).toMatch(/JSON object/);
    expect(refusal(null)).toMatch(/JSON object/);
  });

  it("reads ISO times and epoch seconds or milliseconds", () => {
    expect(parseTime("2026-11-21T15:04:05Z")?.toISOString()).toBe("2026-11-21T15:04:05.000Z");
    expect(parseTime("2026-11-21T15:04:05.123+01:00")?.toISOString()).toBe("2026-11-21T14:04:05.123Z");
    expect(parseTime(1_795_000_000)?.getTime()).toBe(1_795_000_000_000);
    expect(parseTime("1795000000123")?.getTime()).toBe(1_795_000_000_123);
    expect(parseTime("tomorrow")).toBeUndefined();
  });

  it("gives identical deliveries one fingerprint and different ones different fingerprints", () => {
    const a = ok({ ticker: "MNQ1!", action: "buy", quantity: "1", price: "21000" });
    const b = ok({ price: 21000, quantity: 1, action: "BUY", symbol: "mnq1!" });
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(
      fingerprint(ok({ ticker: "MNQ1!", action: "buy", quantity: "1", price: "21000.25" })),
    );
  });

  it("round-trips through its stored form", () => {
    const s = ok({
      ticker: "MNQ1!",
      action: "buy",
      tp: { amount: "50" },
      time: "2026-11-21T15:04:05Z",
      id: "x",
    });
    expect(signalFromJson(JSON.parse(JSON.stringify(signalToJson(s))))).toEqual(s);
  });
});
