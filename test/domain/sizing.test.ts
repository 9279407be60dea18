/**
 * Risk sizing (src/domain/sizing.ts) through the copy planner, the alert aliases risk_dollars and
 * risk_percentage (src/domain/signal-risk.ts), and the settings that go with them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PRODUCTS, tickValue } from "../../src/domain/contract";
import { type Dec, dec, mul, SCALE, times } from "../../src/domain/decimal";
import { type Plan, plan } from "../../src/domain/planner";
import {
  effectiveSettings,
  overridesProblems,
  recorderSettingsSchema,
  recorderSettingsWithin,
  stopAndSizingProblems,
  traderOverridesSchema,
} from "../../src/domain/settings";
import { normalizeSignal, type Signal, signalFromJson, signalToJson } from "../../src/domain/signal";
import { riskContracts } from "../../src/domain/sizing";

const now = new Date("2026-11-20T15:00:00Z");
const MNQ = { tickSize: dec("0.25"), valuePerPoint: dec(2) }; // $0.50 a tick
const run = (
  o: {
    signal?: Partial<Signal>;
    settings?: Record<string, unknown>;
    overrides?: Record<string, unknown>;
    net?: number;
    balance?: Dec;
    multiplier?: string;
    maxOrderContracts?: number;
  } = {},
): Plan =>
  plan({
    signal: { ticker: "MNQ1!", action: "buy", ...o.signal },
    recorder: recorderSettingsSchema.parse({ stopLossTicks: 20, ...o.settings }),
    overrides: traderOverridesSchema.parse(o.overrides ?? {}),
    multiplier: dec(o.multiplier ?? "1"),
    position: { netQty: o.net ?? 0 },
    now,
    receivedAt: now,
    contract: MNQ,
    ...(o.balance !== undefined ? { balance: o.balance } : {}),
    ...(o.maxOrderContracts !== undefined ? { maxOrderContracts: o.maxOrderContracts } : {}),
  });
const qty = (p: Plan) => p.intents.find((i) => i.kind === "entry")?.qty ?? 0;

describe("risk sizing rows", () => {
  it("S01 dollars: $100 over a 20-tick MNQ stop ($10 a contract) is 10 contracts, whatever the alert's quantity", () => {
    const p = run({ settings: { riskDollars: 100 }, signal: { quantity: dec(3) } });
    expect(p.decision).toBe("opened");
    expect(qty(p)).toBe(10);
    expect(p.reason).toBe("opened long 10 (risk $100 / $10 a contract (20 ticks x $0.5))");
  });
  it("S02 rounded down: $99.99 is 9 contracts", () => {
    expect(qty(run({ settings: { riskDollars: 99.99 } }))).toBe(9);
  });
  it("S03 percent of the broker's balance: 0.5% of $50,000 over $10 a contract is 25", () => {
    const p = run({ settings: { riskPercent: 0.5 }, balance: dec(50_000) });
    expect(qty(p)).toBe(25);
    expect(p.reason).toMatch(/risk \$250 \(0\.5% of the balance \$50000\)/);
  });
  it("S04 the multiplier scales the budget", () => {
    expect(qty(run({ settings: { riskDollars: 100 }, multiplier: "0.5" }))).toBe(5);
  });
  it("S05 capped by maxContracts, then by MAX_ORDER_CONTRACTS (capped, never refused whole)", () => {
    expect(qty(run({ settings: { riskDollars: 1000, maxContracts: 7 } }))).toBe(7);
    const p = run({ settings: { riskDollars: 1000 }, maxOrderContracts: 30 });
    expect(qty(p)).toBe(30);
    expect(p.reason).toMatch(/capped from 100 by MAX_ORDER_CONTRACTS 30/);
  });
  it("S06 a budget under one contract's risk is ignored_zero_size, with the numbers", () => {
    const p = run({ settings: { riskDollars: 9.99 } });
    expect(p).toMatchObject({ decision: "ignored_zero_size", intents: [] });
    expect(p.reason).toBe(
      "risk $9.99 is less than one contract's stop risk, $10 a contract (20 ticks x $0.5)",
    );
  });
  it("S07 the stop in dollars or points measures the risk the same way", () => {
    expect(qty(run({ settings: { riskDollars: 100, stopLossTicks: 0, stopLoss: { dollars: 25 } } }))).toBe(4);
    expect(qty(run({ settings: { riskDollars: 100, stopLossTicks: 0, stopLoss: { points: 2.5 } } }))).toBe(
      20,
    );
  });
  it("S08 a stop in percent needs the alert's price; with it, it is measured there", () => {
    const s = { riskDollars: 100, stopLossTicks: 0, stopLoss: { percent: 0.1 } };
    expect(run({ settings: s }).decision).toBe("skipped_risk_sizing");
    // 0.1% of 20000 = 20 points = 80 ticks = $40 a contract -> 2
    expect(qty(run({ settings: s, signal: { price: dec(20_000) } }))).toBe(2);
  });
  it("S09 no balance from the broker, or an alert that removes the stop: refused with the reason", () => {
    expect(run({ settings: { riskPercent: 1 } })).toMatchObject({
      decision: "skipped_risk_sizing",
      reason: "risk sizing: the broker reported no balance for this account",
    });
    expect(run({ settings: { riskDollars: 100 }, signal: { stopLoss: { ticks: 0 } } })).toMatchObject({
      decision: "skipped_risk_sizing",
      reason: "risk sizing: this signal has no stop to measure the risk by",
    });
  });
  it("S10 precedence trader > alert > recorder; an alert budget turns fixed sizing into risk sizing", () => {
    expect(qty(run({ signal: { riskDollars: dec(50) } }))).toBe(5);
    expect(qty(run({ settings: { riskDollars: 100 }, signal: { riskDollars: dec(30) } }))).toBe(3);
    expect(
      qty(
        run({
          settings: { riskDollars: 100 },
          signal: { riskDollars: dec(30) },
          overrides: { riskDollars: 70 },
        }),
      ),
    ).toBe(7);
    expect(
      qty(run({ settings: { riskDollars: 100 }, signal: { riskPercent: dec(1) }, balance: dec(2000) })),
    ).toBe(2);
  });
  it("S12 a reverse that cannot be sized still closes the old side", () => {
    const p = run({ settings: { riskDollars: 5 }, net: 2, signal: { action: "sell" } });
    expect(p.decision).toBe("closed");
    expect(p.intents).toEqual([{ kind: "cancelExits" }, { kind: "close", side: "sell", qty: 2 }]);
    expect(p.reason).toMatch(
      /^closed long 2; new entry refused: risk \$5 is less than one contract's stop risk/,
    );
  });
  it("S11 adds use addQuantity when it is set, else the risk size; closes are never risk-sized", () => {
    const s = { riskDollars: 100, avgDown: true };
    expect(qty(run({ settings: { ...s, addQuantity: 1 }, net: 2 }))).toBe(1);
    expect(qty(run({ settings: s, net: 2 }))).toBe(10);
    expect(run({ settings: s, net: 4, signal: { action: "exit" } }).intents).toContainEqual({
      kind: "close",
      side: "sell",
      qty: 4,
    });
  });
});

describe("risk sizing properties", () => {
  const roots = Object.keys(PRODUCTS);
  it("P20 never risks more than the budget, never more than the cap, and one more contract would", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...roots),
        fc.integer({ min: 1, max: 5_000_000 }), // cents
        fc.integer({ min: 1, max: 400 }), // stop ticks
        fc.integer({ min: 1, max: 10_000 }), // multiplier in hundredths
        fc.integer({ min: 1, max: 200 }),
        (root, cents, ticks, hundredths, cap) => {
          const product = PRODUCTS[root] ?? { tickSize: "1", valuePerPoint: "1" };
          const tv = tickValue({
            tickSize: dec(product.tickSize),
            valuePerPoint: dec(product.valuePerPoint),
          });
          const budget = { dollars: ((BigInt(cents) * SCALE) / 100n) as Dec };
          const m = ((BigInt(hundredths) * SCALE) / 100n) as Dec;
          const n = riskContracts(budget, m, ticks, tv);
          const allowed = mul(budget.dollars, m);
          const risk = (k: number) => times(times(tv, ticks), k);
          expect(risk(n) <= allowed).toBe(true);
          expect(risk(n + 1) > allowed).toBe(true);
          const p = plan({
            signal: { ticker: root, action: "buy", riskDollars: budget.dollars },
            recorder: recorderSettingsSchema.parse({ stopLossTicks: ticks, maxContracts: cap }),
            overrides: {},
            multiplier: m,
            position: { netQty: 0 },
            now,
            receivedAt: now,
            contract: { tickSize: dec(product.tickSize), valuePerPoint: dec(product.valuePerPoint) },
            maxOrderContracts: 100,
          });
          const sent = qty(p);
          expect(sent).toBeLessThanOrEqual(Math.min(cap, 100, n));
          expect(risk(sent) <= allowed).toBe(true);
          if (n === 0) expect(p.decision).toBe("ignored_zero_size");
          else expect(sent).toBe(Math.min(n, cap, 100));
        },
      ),
    );
  });
});

describe("alert aliases risk_dollars and risk_percentage", () => {
  const parse = (extra: Record<string, unknown>) =>
    normalizeSignal({ ticker: "MNQ1!", action: "buy", ...extra });
  it.each([
    [{ risk_dollars: 150 }, { riskDollars: dec(150) }],
    [{ risk_dollars: "187.5" }, { riskDollars: dec("187.5") }],
    [{ risk_percentage: "1.5" }, { riskPercent: dec("1.5") }],
    [{ risk_percentage: 0.25 }, { riskPercent: dec("0.25") }],
  ])("S20 %j is read", (extra, want) => {
    const r = parse(extra);
    expect(r.ok && r.signal).toMatchObject(want);
  });
  it.each([
    [{ risk_dollars: 100, risk_percentage: 1 }, 'Use either "risk_dollars" or "risk_percentage", not both.'],
    [{ risk_dollars: "1,5" }, /Field "risk_dollars" must be dollars, like 150, written plainly/],
    [{ risk_percentage: 0 }, /must be above 0 and at most 100/],
    [{ risk_percentage: 101 }, /must be above 0 and at most 100/],
    [{ risk_dollars: "1e3" }, /written plainly/],
    [{ risk_dollars: true }, /written plainly/],
  ])("S21 %j is refused", (extra, message) => {
    const r = parse(extra);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });
  it("S22 stored and read back unchanged (the executor reads signals back from the database)", () => {
    const r = parse({ risk_percentage: "0.75" });
    if (!r.ok) throw new Error(r.message);
    expect(signalFromJson(signalToJson(r.signal))).toEqual(r.signal);
  });
});

describe("sizing settings", () => {
  it.each([
    [{ riskDollars: 100 }, /risk sizing divides the risk by the stop's distance/],
    [{ riskDollars: 100, riskPercent: 1, stopLossTicks: 8 }, /either riskDollars or riskPercent/],
    [{ stopLossTicks: 8, stopLoss: { dollars: 20 } }, /either stopLossTicks or stopLoss/],
    [{ stopLoss: { dollars: 20, points: 2 } }, /exactly one of points, dollars, percent/],
    [{ riskDollars: 10.005, stopLossTicks: 4 }, /dollars and cents/],
    [{ riskPercent: 0, stopLossTicks: 4 }, /./],
  ])("S30 %j is refused", (settings, message) => {
    const r = recorderSettingsWithin(100).safeParse(settings);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join("; ")).toMatch(message);
  });
  it("S31 a trader's stop or budget in one spelling replaces the recorder's other spelling", () => {
    const rec = recorderSettingsSchema.parse({ stopLoss: { dollars: 20 }, riskPercent: 1 });
    const eff = effectiveSettings(rec, { stopLossTicks: 12, riskDollars: 50 });
    expect(eff).toMatchObject({ stopLossTicks: 12, riskDollars: 50 });
    expect(eff.stopLoss).toBeUndefined();
    expect(eff.riskPercent).toBeUndefined();
    expect(stopAndSizingProblems(effectiveSettings(rec, { stopLossTicks: 0 }))[0]?.message).toMatch(
      /set stopLossTicks or stopLoss too/,
    );
    expect(overridesProblems(rec, { stopLossTicks: 3, stopLoss: { points: 1 } })[0]?.message).toMatch(
      /either stopLossTicks or stopLoss/,
    );
    expect(overridesProblems(rec, { riskDollars: 3, riskPercent: 1 })[0]?.message).toMatch(
      /either riskDollars/,
    );
    expect(overridesProblems(rec, { stopLossTicks: 4 })).toEqual([]);
  });
});
