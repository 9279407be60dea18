/**
 * Issue 12 item 7, size sanity in the pure parts: an alert's quantity is a whole number of contracts written
 * plainly (never "1,5" read as 15), bounded by MAX_ORDER_CONTRACTS; other alert decimals never read a comma;
 * a trader multiplier is 0.01..100 in hundredths; recorder sizes are held to MAX_ORDER_CONTRACTS.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { dec, toStr } from "../../src/domain/decimal";
import {
  multiplierSchema,
  orderSizeProblem,
  recorderSettingsSchema,
  recorderSettingsWithin,
} from "../../src/domain/settings";
import { normalizeSignal, parseQuantity, QUANTITY_CEILING } from "../../src/domain/signal";

const buy = (extra: Record<string, unknown>) => ({ ticker: "MNQ1!", action: "buy", ...extra });
const refusal = (input: unknown, maxQuantity?: number): string => {
  const r = normalizeSignal(input, maxQuantity === undefined ? {} : { maxQuantity });
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(input)}`);
  return r.message;
};
const accepted = (input: unknown, maxQuantity?: number) => {
  const r = normalizeSignal(input, maxQuantity === undefined ? {} : { maxQuantity });
  if (!r.ok) throw new Error(r.message);
  return r.signal;
};

describe("alert quantity grammar", () => {
  const good: [unknown, number][] = [
    [1, 1],
    [2, 2],
    [3.0, 3], // JSON "3.0" parses to 3: the spelling is gone, the value is whole
    ["1", 1],
    ["2", 2],
    ["100", 100],
    [" 7 ", 7], // spaces around the digits are ignored
    ["007", 7],
    ["999999999", 999_999_999],
    [999_999_999, 999_999_999],
    [JSON.parse('{"q":1e3}').q, 1000], // the number literal 1e3 arrives as 1000
  ];
  it.each(good)("accepts %j as %d contracts", (value, contracts) => {
    expect(parseQuantity(value)).toEqual({ ok: true, contracts });
    for (const field of ["quantity", "qty", "contracts"]) {
      expect(toStr(accepted(buy({ [field]: value })).quantity ?? dec(0))).toBe(String(contracts));
    }
  });

  const bad: unknown[] = [
    "1,5",
    "1,000",
    1.5,
    "1.5",
    "1.0",
    "1.",
    ".5",
    "1e3",
    "1E3",
    "2e0",
    "2 3",
    "2 lots",
    "2x",
    "+2",
    "-2",
    -2,
    "0x10",
    "0b11",
    "Infinity",
    "-Infinity",
    "NaN",
    Number.POSITIVE_INFINITY,
    Number.NaN,
    0,
    -0,
    "0",
    "000",
    "",
    "   ",
    "２", // full-width digit
    "1\u00a02",
    "1_000",
    "1000000000",
    "2000000000",
    "99999999999999999999",
    1e9,
    2_000_000_000,
    1e300,
    true,
    null,
    [2],
    { value: 2 },
  ];
  it.each(bad)("refuses %j", (value) => {
    const r = parseQuantity(value);
    expect(r.ok).toBe(false);
    const message = refusal(buy({ quantity: value }));
    expect(message).toMatch(/^Field "quantity" /);
  });

  it("says what is wrong in a trader's words", () => {
    expect(refusal(buy({ quantity: "1,5" }))).toBe(
      'Field "quantity" must be a whole number of contracts written plainly, like 2 (got "1,5").',
    );
    expect(refusal(buy({ qty: "1e3" }))).toBe(
      'Field "qty" must be a whole number of contracts written plainly, like 2 (got "1e3").',
    );
    expect(refusal(buy({ contracts: -3 }))).toBe('Field "contracts" must be at least 1 contract (got -3).');
    expect(refusal(buy({ quantity: "2000000000" }), 100)).toBe(
      'Field "quantity" is more than this relay allows in one order: at most 100 contracts (MAX_ORDER_CONTRACTS), got "2000000000".',
    );
    expect(refusal(buy({ quantity: "2000000000" }))).toBe(
      'Field "quantity" is too large to be a number of contracts (got "2000000000").',
    );
    expect(refusal(buy({ quantity: 101 }), 100)).toMatch(
      /at most 100 contracts \(MAX_ORDER_CONTRACTS\), got 101/,
    );
  });

  it("holds every spelling of the quantity to the limit, and accepts the limit itself", () => {
    expect(toStr(accepted(buy({ quantity: 100 }), 100).quantity ?? dec(0))).toBe("100");
    expect(toStr(accepted(buy({ qty: "100" }), 100).quantity ?? dec(0))).toBe("100");
    for (const field of ["quantity", "qty", "contracts"]) {
      expect(refusal(buy({ [field]: "101" }), 100)).toMatch(new RegExp(`^Field "${field}" is more than`));
    }
    // An alias that is not the one used is still checked: junk is never silently ignored.
    expect(refusal(buy({ quantity: 1, contracts: "1,5" }), 100)).toMatch(/^Field "contracts"/);
    // The number literal 1e3 is 1000 by the time we see it: refused by the limit, not by its spelling.
    expect(refusal(JSON.parse('{"ticker":"MNQ1!","action":"buy","quantity":1e3}'), 100)).toMatch(
      /at most 100 contracts/,
    );
  });

  it("property: no string with a comma, dot or exponent is ever a quantity", () => {
    const spelled = fc.string({
      unit: fc.constantFrom("0", "1", "2", "5", "9", ",", ".", "e", "E", "+", "-", " "),
      minLength: 1,
      maxLength: 12,
    });
    fc.assert(
      fc.property(fc.oneof(spelled, fc.string()), fc.integer({ min: 1, max: 100_000 }), (s, max) => {
        fc.pre(/[.,eE]/.test(s));
        expect(parseQuantity(s, max).ok).toBe(false);
        expect(normalizeSignal(buy({ quantity: s }), { maxQuantity: max }).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: every accepted quantity is a whole number of contracts from 1 to the limit", () => {
    const anything = fc.oneof(
      fc.string({ unit: fc.constantFrom("0", "1", "3", "9", ",", ".", "e", "-", " "), maxLength: 12 }),
      fc.string(),
      fc.integer(),
      fc.integer({ min: -5, max: 200_000 }),
      fc.integer({ min: 0, max: 200_000 }).map(String),
      fc.double(),
      fc.constantFrom(Number.MAX_VALUE, Number.MIN_VALUE, 1e21, -0),
      fc.anything(),
    );
    let acceptedCount = 0;
    fc.assert(
      fc.property(anything, fc.integer({ min: 1, max: 100_000 }), (value, max) => {
        fc.pre(value !== undefined); // no quantity at all: the recorder's setting applies
        const r = parseQuantity(value, max);
        if (r.ok) {
          acceptedCount++;
          expect(Number.isInteger(r.contracts)).toBe(true);
          expect(r.contracts).toBeGreaterThanOrEqual(1);
          expect(r.contracts).toBeLessThanOrEqual(max);
        }
        const n = normalizeSignal(buy({ quantity: value }), { maxQuantity: max });
        if (n.ok) {
          const q = n.signal.quantity;
          expect(q).toBeDefined();
          const text = toStr(q ?? dec(0));
          expect(text).toMatch(/^[1-9]\d*$/);
          expect(Number(text)).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 3000 },
    );
    expect(acceptedCount).toBeGreaterThan(100); // the accept path was exercised, not only refusals
    expect(QUANTITY_CEILING).toBe(999_999_999);
  });
});

describe("other alert decimals", () => {
  it("never read a comma as a thousands separator, nor an exponent in a string", () => {
    expect(refusal(buy({ price: "21,000.25" }))).toMatch(
      /^Field "price" must be a number written plainly, with a dot for decimals and no thousands separators/,
    );
    expect(refusal(buy({ price: "1,5" }))).toMatch(/no thousands separators.*got "1,5"/);
    expect(refusal(buy({ price: "2.1e4" }))).toMatch(
      /^Field "price" "2.1e4" is not a number written plainly/,
    );
    expect(refusal(buy({ tp: "1,5" }))).toMatch(/^Field "tp" must be a number written plainly/);
    expect(refusal(buy({ takeProfit: { ticks: "1,0" } }))).toMatch(/^Field "takeProfit/);
    expect(refusal(buy({ stopLoss: { points: "1,25" } }))).toMatch(/^Field "stopLoss/);
    expect(refusal(buy({ positionSize: "1,5" }))).toMatch(/^Field "positionSize"/);
    expect(refusal(buy({ price: "0x10" }))).toMatch(/^Field "price"/);
    expect(refusal(buy({ price: "Infinity" }))).toMatch(/^Field "price"/);
  });

  it("accept what TradingView actually sends: plain decimals, signed positions, JSON numbers", () => {
    const s = accepted(buy({ price: "21000.25", positionSize: "-1.5", tp: "10", sl: 8 }));
    expect(toStr(s.price ?? dec(0))).toBe("21000.25");
    expect(toStr(s.positionSize ?? dec(0))).toBe("-1.5");
    expect(s.takeProfit).toEqual({ ticks: 10 });
    expect(s.stopLoss).toEqual({ ticks: 8 });
    expect(toStr(accepted(buy({ price: 21000.25 })).price ?? dec(0))).toBe("21000.25");
    expect(toStr(accepted(buy({ price: " 0.0078125 " })).price ?? dec(0))).toBe("0.0078125");
  });

  it("bound magnitudes: nine digits before the point, ticks like the recorder settings", () => {
    expect(refusal(buy({ price: 1e300 }))).toBe('Field "price" is too large (got 1e+300).');
    expect(refusal(buy({ positionSize: "-1000000000" }))).toMatch(/^Field "positionSize" is too large/);
    expect(toStr(accepted(buy({ positionSize: "-999999999.5" })).positionSize ?? dec(0))).toBe(
      "-999999999.5",
    );
    expect(refusal(buy({ takeProfit: { ticks: 1e20 } }))).toMatch(/^Field "takeProfit/);
    expect(refusal(buy({ sl: 1_000_001 }))).toMatch(/^Field "sl" is too large/);
    expect(accepted(buy({ sl: 1_000_000 })).stopLoss).toEqual({ ticks: 1_000_000 });
  });
});

describe("trader multiplier", () => {
  const good: [unknown, string][] = [
    [0.01, "0.01"],
    ["0.01", "0.01"],
    [0.5, "0.5"],
    ["0.25", "0.25"],
    [1, "1"],
    ["1.5", "1.5"],
    ["1.50", "1.5"],
    [" 2 ", "2"],
    [100, "100"],
    ["100.00", "100"],
  ];
  it.each(good)("accepts %j", (value, text) => {
    const r = multiplierSchema.safeParse(value);
    expect(r.success).toBe(true);
    expect(toStr(r.data ?? dec(0))).toBe(text);
  });

  const bad: unknown[] = [
    1e300,
    "1e300",
    0,
    "0",
    -1,
    "-1",
    1e-9,
    "1e-9",
    0.001,
    "0.001",
    0.009,
    100.01,
    101,
    "101",
    "1,5",
    "1,000",
    "1e2",
    "NaN",
    Number.NaN,
    Number.POSITIVE_INFINITY,
    "Infinity",
    0.1 + 0.2, // 0.30000000000000004
    "1.505",
    "0.0100000000001",
    "",
    "abc",
    null,
    true,
  ];
  it.each(bad)("refuses %j with a clear message", (value) => {
    const r = multiplierSchema.safeParse(value);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(
      /^must be a number from 0\.01 to 100 with at most 2 decimal places, like 1\.5 \(got /,
    );
  });
});

describe("recorder sizes against MAX_ORDER_CONTRACTS", () => {
  it("refuses quantity, addQuantity and maxContracts above the limit, naming the setting", () => {
    for (const key of ["quantity", "addQuantity", "maxContracts"]) {
      const r = recorderSettingsWithin(100).safeParse({ [key]: 101 });
      expect(r.success, key).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual([key]);
      expect(r.error?.issues[0]?.message).toBe(
        "101 is more than this relay allows in one order: at most 100 contracts (MAX_ORDER_CONTRACTS)",
      );
      expect(recorderSettingsWithin(100).safeParse({ [key]: 100 }).success, key).toBe(true);
    }
    // A PATCH holds only the sizes it sets to the limit.
    expect(recorderSettingsWithin(100, ["avgDown"]).safeParse({ quantity: 500, avgDown: true }).success).toBe(
      true,
    );
    expect(recorderSettingsWithin(5).safeParse({}).success).toBe(true); // default quantity 1
    expect(recorderSettingsSchema.safeParse({ quantity: 500 }).success).toBe(true);
  });

  it("has a helper for the per-order cap", () => {
    expect(orderSizeProblem(100, 100)).toBeUndefined();
    expect(orderSizeProblem(101, 100)).toBe(
      "an order of 101 contracts is more than this relay allows in one order (MAX_ORDER_CONTRACTS 100)",
    );
  });

  it("MAX_ORDER_CONTRACTS defaults to 100 and is 1..100000", () => {
    const base = { DATA_DIR: "/tmp/x" };
    expect(loadConfig(base).MAX_ORDER_CONTRACTS).toBe(100);
    expect(loadConfig({ ...base, MAX_ORDER_CONTRACTS: "1" }).MAX_ORDER_CONTRACTS).toBe(1);
    expect(loadConfig({ ...base, MAX_ORDER_CONTRACTS: "100000" }).MAX_ORDER_CONTRACTS).toBe(100_000);
    for (const bad of ["0", "100001", "-5", "2.5", "lots"]) {
      expect(() => loadConfig({ ...base, MAX_ORDER_CONTRACTS: bad }), bad).toThrow(/MAX_ORDER_CONTRACTS/);
    }
  });
});
