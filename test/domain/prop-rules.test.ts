/**
 * Prop-firm rules as pure functions: one table row per case, then properties over generated paths
 * (the floor never goes down, never passes the lock, intraday is never below eod on the same path).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Dec, dec, toStr } from "../../src/domain/decimal";
import { PRESET_NAMES, PROP_PRESETS } from "../../src/domain/prop-presets";
import {
  contractsInUse,
  dailyLossBreached,
  drawdownBreached,
  drawdownLeft,
  floorLocked,
  initialTrail,
  lossLeft,
  maxContractsRefusal,
  profitTargetHit,
  profitTargetLeft,
  raiseHigh,
  type TrailingDrawdown,
  type TrailState,
  worstCase,
} from "../../src/domain/prop-rules";
import { propRulesSchema, resolvePropRules } from "../../src/domain/prop-settings";

const td = (mode: "eod" | "intraday", amount: number, lock: number | null): TrailingDrawdown => ({
  mode,
  amount: dec(amount),
  lock: lock === null ? null : dec(lock),
  action: "fail",
});
const view = (s: TrailState) => ({ highWater: toStr(s.highWater), floor: toStr(s.floor) });

describe("trailing floor (table)", () => {
  const START = dec(50_000);
  it.each([
    // [id, mode, amount, lock, balances fed in order, high-water, floor]
    ["F01 start", 2500, 100, [], "50000", "47500"],
    ["F02 a new high trails the floor up", 2500, 100, [51_000], "51000", "48500"],
    ["F03 a lower balance never lowers it", 2500, 100, [51_000, 49_000], "51000", "48500"],
    ["F04 the floor stops at start + lock", 2500, 100, [52_600], "52600", "50100"],
    ["F05 past the lock it stays, the high-water still rises", 2500, 100, [53_000, 60_000], "60000", "50100"],
    ["F06 lock 0 stops at the starting balance (Topstep)", 2000, 0, [52_500], "52500", "50000"],
    ["F07 no lock trails without end", 2000, null, [60_000], "60000", "58000"],
    ["F08 cents are exact", 2500, 100, ["50600.75"], "50600.75", "48100.75"],
  ] as const)("%s", (_id, amount, lock, balances, high, floor) => {
    const t = td("intraday", amount, lock);
    let s = initialTrail(START, t);
    for (const b of balances) s = raiseHigh(s, dec(b), START, t);
    expect(view(s)).toEqual({ highWater: high, floor });
  });

  it("F09 a seeded high-water mark starts the floor from it (an account part-way through its plan)", () => {
    expect(view(initialTrail(START, td("eod", 2000, 0), dec(51_200)))).toEqual({
      highWater: "51200",
      floor: "49200",
    });
    expect(view(initialTrail(START, td("eod", 2000, 0), dec(40_000)))).toEqual({
      highWater: "50000",
      floor: "48000",
    });
  });

  it("F10 locked once the floor reaches the lock level", () => {
    const t = td("intraday", 2500, 100);
    expect(floorLocked(raiseHigh(initialTrail(START, t), dec(52_599), START, t), START, t)).toBe(false);
    expect(floorLocked(raiseHigh(initialTrail(START, t), dec(52_600), START, t), START, t)).toBe(true);
    expect(floorLocked(initialTrail(START, td("eod", 2000, null)), START, td("eod", 2000, null))).toBe(false);
  });
});

describe("breach checks (table)", () => {
  it.each([
    ["B01 above the floor", "48000.25", "48000", false, "0.25"],
    ["B02 touching the floor is a breach", "48000", "48000", true, "0"],
    ["B03 below it", "47990", "48000", true, "-10"],
  ] as const)("%s", (_id, equity, floor, breached, left) => {
    expect(drawdownBreached(dec(equity), dec(floor))).toBe(breached);
    expect(toStr(drawdownLeft(dec(equity), dec(floor)))).toBe(left);
  });

  it.each([
    ["B04 below the target", "1499.99", "1500", false, "0.01"],
    ["B05 at the target", "1500", "1500", true, "0"],
    ["B06 past it", "1700", "1500", true, "0"],
  ] as const)("%s", (_id, pnl, target, hit, left) => {
    expect(profitTargetHit(dec(pnl), dec(target))).toBe(hit);
    expect(toStr(profitTargetLeft(dec(pnl), dec(target)))).toBe(left);
  });

  it.each([
    ["B07 inside the daily loss", "-999", "1000", false, "1"],
    ["B08 at it", "-1000", "1000", true, "0"],
    ["B09 a winning day", "250", "1000", false, "1250"],
  ] as const)("%s", (_id, pnl, limit, breached, left) => {
    expect(dailyLossBreached(dec(pnl), dec(limit))).toBe(breached);
    expect(toStr(lossLeft(dec(pnl), dec(limit)))).toBe(left);
  });
});

describe("max contracts (table)", () => {
  const e = (contract: string, netQty: number, workingBuy = 0, workingSell = 0) => ({
    contract,
    netQty,
    workingBuy,
    workingSell,
  });
  it.each([
    ["C01 a long's take-profit and stop add nothing", [e("MNQZ6", 2, 0, 4)], 2],
    ["C02 a working buy limit counts", [e("MNQZ6", 0, 3, 0)], 3],
    ["C03 a working limit on the position's side adds to it", [e("MNQZ6", 2, 1, 2)], 3],
    ["C04 contracts add up across symbols", [e("MNQZ6", -2, 0, 0), e("MESZ6", 1, 0, 1)], 3],
  ] as const)("%s", (_id, exposures, n) => {
    expect(contractsInUse([...exposures])).toBe(n);
    expect(exposures.map((x) => worstCase(x)).reduce((a, b) => a + b, 0)).toBe(n);
  });

  it.each([
    ["C05 fits", 3, [e("MNQZ6", 1)], { side: "buy", qty: 2, closeQty: 0 }, undefined],
    [
      "C06 one over",
      3,
      [e("MNQZ6", 1)],
      { side: "buy", qty: 3, closeQty: 0 },
      "max contracts 3: 1 open or working, this buy of 3 MNQZ6 would make 4",
    ],
    [
      "C07 working entries count",
      3,
      [e("MNQZ6", 0, 2, 0)],
      { side: "buy", qty: 2, closeQty: 0 },
      "max contracts 3: 2 open or working, this buy of 2 MNQZ6 would make 4",
    ],
    ["C08 a reversal closes first", 2, [e("MNQZ6", 2)], { side: "sell", qty: 2, closeQty: 2 }, undefined],
    [
      "C09 an entry that lowers the count passes even over the limit",
      1,
      [e("MNQZ6", 3)],
      { side: "sell", qty: 1, closeQty: 3 },
      undefined,
    ],
  ] as const)("%s", (_id, max, exposures, entry, reason) => {
    expect(maxContractsRefusal(max, [...exposures], { contract: "MNQZ6", ...entry })).toBe(reason);
  });
});

describe("settings and presets", () => {
  it("S01 every preset resolves with its numbers; explicit fields override it", () => {
    for (const name of PRESET_NAMES) {
      const r = resolvePropRules({ riskPreset: name });
      expect(r.ok, name).toBe(true);
      expect(PROP_PRESETS[name].trailingDrawdown?.action).toBe("fail");
    }
    const r = resolvePropRules({
      riskPreset: "apex-50k",
      maxContracts: 4,
      trailingDrawdown: { amount: "2000", action: "pause" },
      dailyProfitTarget: { amount: "1000" },
    });
    expect(r.ok && r.rules).toMatchObject({
      preset: "apex-50k",
      startingBalance: dec(50_000),
      maxContracts: 4,
      trailingDrawdown: { mode: "intraday", amount: dec(2000), lock: dec(100), action: "pause" },
      dailyProfitTarget: { amount: dec(1000), action: "pause" },
      dailyLossLimit: null,
    });
    const none = resolvePropRules({
      riskPreset: "topstep-50k",
      trailingDrawdown: null,
      dailyLossLimit: null,
    });
    expect(none.ok && none.rules).toMatchObject({
      trailingDrawdown: null,
      dailyLossLimit: null,
      maxContracts: 5,
    });
  });

  it.each([
    [
      "S02 a trailing drawdown needs a starting balance",
      [{ trailingDrawdown: { mode: "eod", amount: 2000 } }],
      /startingBalance/,
    ],
    ["S03 a mode", [{ startingBalance: 50000, trailingDrawdown: { amount: 2000 } }], /say eod or intraday/],
    ["S04 unknown keys refused", [{ riskPreset: "apex-50k", trail: 1 }], /unrecognized|Unrecognized/],
    ["S05 unknown preset refused", [{ riskPreset: "apex-51k" }], /riskPreset/],
    ["S06 one login-wide entry", [{ maxContracts: 1 }, { maxContracts: 2 }], /only one entry/],
    ["S07 dollars above zero", [{ dailyProfitTarget: { amount: -5 } }], /greater than 0/],
  ] as const)("%s", (_id, input, message) => {
    const r = propRulesSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(message);
  });
});

describe("trailing floor (properties)", () => {
  const dollars = fc.integer({ min: 40_000_00, max: 60_000_00 }).map((c) => (dec(c) / 100n) as Dec);
  const path = fc.array(dollars, { minLength: 1, maxLength: 60 });
  const rule = fc.record({
    amount: fc.integer({ min: 1, max: 5000 }),
    lock: fc.option(fc.integer({ min: 0, max: 500 }), { nil: null }),
  });
  const START = dec(50_000);

  it("P01 the floor never goes down and never passes start + lock", () => {
    fc.assert(
      fc.property(path, rule, (balances, r) => {
        const t = td("intraday", r.amount, r.lock);
        let s = initialTrail(START, t);
        for (const b of balances) {
          const next = raiseHigh(s, b, START, t);
          expect(next.floor >= s.floor).toBe(true);
          expect(next.highWater >= s.highWater).toBe(true);
          if (r.lock !== null) expect(next.floor <= START + dec(r.lock)).toBe(true);
          s = next;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("P02 intraday floor >= eod floor for the same path (eod sees only each day's last balance)", () => {
    fc.assert(
      fc.property(fc.array(path, { minLength: 1, maxLength: 10 }), rule, (days, r) => {
        const intra = td("intraday", r.amount, r.lock);
        const eod = td("eod", r.amount, r.lock);
        let a = initialTrail(START, intra);
        let b = initialTrail(START, eod);
        for (const day of days) {
          for (const x of day) a = raiseHigh(a, x, START, intra);
          b = raiseHigh(b, day[day.length - 1] as Dec, START, eod);
          expect(a.floor >= b.floor).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("P03 the floor is always high-water - amount, or the lock level once reached", () => {
    fc.assert(
      fc.property(path, rule, (balances, r) => {
        const t = td("intraday", r.amount, r.lock);
        let s = initialTrail(START, t);
        for (const b of balances) s = raiseHigh(s, b, START, t);
        const trailed = s.highWater - dec(r.amount);
        const cap = r.lock === null ? undefined : START + dec(r.lock);
        expect(s.floor).toBe(cap !== undefined && trailed > cap ? cap : trailed);
      }),
      { numRuns: 2000 },
    );
  });

  it("P04 an entry never lowers the count, and a refused one would end above the limit", () => {
    const exposure = fc.record({
      contract: fc.constantFrom("MNQZ6", "MESZ6"),
      netQty: fc.integer({ min: -10, max: 10 }),
      workingBuy: fc.integer({ min: 0, max: 5 }),
      workingSell: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(exposure, { selector: (e) => e.contract, maxLength: 2 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom<"buy" | "sell">("buy", "sell"),
        fc.integer({ min: 1, max: 10 }),
        (exposures, max, side, qty) => {
          const entry = { contract: "MNQZ6", side, qty, closeQty: 0 };
          expect(contractsInUse(exposures, entry)).toBeGreaterThanOrEqual(contractsInUse(exposures));
          const reason = maxContractsRefusal(max, exposures, entry);
          if (reason) expect(contractsInUse(exposures, entry)).toBeGreaterThan(max);
          else
            expect(contractsInUse(exposures, entry)).toBeLessThanOrEqual(
              Math.max(max, contractsInUse(exposures)),
            );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
