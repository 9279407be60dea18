/**
 * Exit units (src/domain/exit-units.ts, exits.ts): take-profits and stops in ticks, points, dollars per
 * contract or percent of price become whole ticks at exit time, exactly, through one converter.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PRODUCTS, tickValue } from "../../src/domain/contract";
import { type Dec, dec, SCALE, times, toStr } from "../../src/domain/decimal";
import { settingsExitSpec } from "../../src/domain/exit-units";
import { distanceTicks, exitOrders, resolveExitTicks } from "../../src/domain/exits";
import { plan } from "../../src/domain/planner";
import { recorderSettingsSchema, traderOverridesSchema } from "../../src/domain/settings";
import type { Signal } from "../../src/domain/signal";

const MNQ = { tickSize: dec("0.25"), tv: dec("0.5") };
const spec = (settings: Record<string, unknown>) => settingsExitSpec(recorderSettingsSchema.parse(settings));
const resolve = (settings: Record<string, unknown>, side: "buy" | "sell" = "buy", fill = "20000") =>
  resolveExitTicks(spec(settings), side, dec(fill), MNQ.tickSize, MNQ.tv);

describe("units, row by row (MNQ: tick 0.25, $0.50 a tick)", () => {
  it.each([
    ["U01 ticks, as before", { takeProfit: [{ ticks: 8, trimPercent: 100 }], stopLossTicks: 12 }, [8], 12],
    ["U02 points", { takeProfit: [{ points: 5, trimPercent: 100 }], stopLoss: { points: 2.5 } }, [20], 10],
    [
      "U03 dollars per contract",
      { takeProfit: [{ dollars: 10, trimPercent: 100 }], stopLoss: { dollars: 6 } },
      [20],
      12,
    ],
    // 0.1% of 20000 = 20 points = 80 ticks; 0.013% = 2.6 points = 10.4 ticks
    [
      "U04 percent of the fill",
      { takeProfit: [{ percent: 0.1, trimPercent: 100 }], stopLoss: { percent: 0.013 } },
      [80],
      10,
    ],
    [
      "U05 several targets in one unit, sorted",
      {
        takeProfit: [
          { dollars: 20, trimPercent: 100 },
          { dollars: 5, trimPercent: 50 },
        ],
      },
      [10, 40],
      0,
    ],
  ] as const)("%s", (_n, settings, targets, stop) => {
    const r = resolve(settings);
    expect(r.targets.map((t) => t.ticks)).toEqual(targets);
    expect(r.stopLossTicks).toBe(stop);
  });

  it("U06 rounding: a take-profit to the nearest tick, a stop toward the fill (never more risk), at least one tick", () => {
    // 0.3 points = 1.2 ticks: target 1, stop 1; 0.4 points = 1.6 ticks: target 2, stop 1
    expect(
      resolve({ takeProfit: [{ points: 0.4, trimPercent: 100 }], stopLoss: { points: 0.4 } }),
    ).toMatchObject({
      targets: [{ ticks: 2 }],
      stopLossTicks: 1,
    });
    // $0.30 is under one tick ($0.50): one tick, the nearest an order can be
    expect(
      resolve({ takeProfit: [{ dollars: 0.3, trimPercent: 100 }], stopLoss: { dollars: 0.3 } }),
    ).toMatchObject({
      targets: [{ ticks: 1 }],
      stopLossTicks: 1,
    });
    // $0.75 = 1.5 ticks: the target rounds half away to 2, the stop toward the fill to 1
    expect(
      resolve({ takeProfit: [{ dollars: 0.75, trimPercent: 100 }], stopLoss: { dollars: 0.75 } }),
    ).toMatchObject({
      targets: [{ ticks: 2 }],
      stopLossTicks: 1,
    });
  });

  it("U07 a take-profit of $10 on a long filled at 20000.25 lands at 20005.25, its stop of $6 at 19997.25", () => {
    const r = resolve(
      { takeProfit: [{ dollars: 10, trimPercent: 100 }], stopLoss: { dollars: 6 } },
      "buy",
      "20000.25",
    );
    const legs = exitOrders({
      side: "buy",
      qty: 2,
      fillPrice: dec("20000.25"),
      tickSize: MNQ.tickSize,
      ...r,
    }).legs;
    expect(legs.map((l) => [l.leg, l.qty, toStr(l.price)])).toEqual([
      ["tp1", 2, "20005.25"],
      ["sl1", 2, "19997.25"],
    ]);
    const short = resolve({ takeProfit: [{ dollars: 10, trimPercent: 100 }] }, "sell", "20000.25");
    const s = exitOrders({
      side: "sell",
      qty: 1,
      fillPrice: dec("20000.25"),
      tickSize: MNQ.tickSize,
      ...short,
    });
    expect(s.legs.map((l) => toStr(l.price))).toEqual(["19995.25"]);
  });

  it.each([
    [
      { takeProfit: [{ ticks: 4, points: 1, trimPercent: 100 }] },
      /exactly one of ticks, points, dollars, percent/,
    ],
    [{ takeProfit: [{ trimPercent: 100 }] }, /exactly one of ticks, points, dollars, percent \(got none\)/],
    [
      {
        takeProfit: [
          { ticks: 4, trimPercent: 50 },
          { points: 2, trimPercent: 100 },
        ],
      },
      /same unit/,
    ],
    [{ takeProfit: [{ points: 0, trimPercent: 100 }] }, /./],
    [{ stopLoss: { percent: 1e-10 } }, /./],
    [{ stopLoss: {} }, /exactly one of points, dollars, percent/],
  ])("U08 %j is refused", (settings, message) => {
    const r = recorderSettingsSchema.safeParse(settings);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join("; ")).toMatch(message);
  });
});

describe("precedence: trader > alert > recorder, whatever the unit", () => {
  const now = new Date("2026-11-20T15:00:00Z");
  const exits = (s: Record<string, unknown>, o: Record<string, unknown>, sig: Partial<Signal> = {}) =>
    plan({
      signal: { ticker: "MNQ1!", action: "buy", ...sig },
      recorder: recorderSettingsSchema.parse(s),
      overrides: traderOverridesSchema.parse(o),
      multiplier: dec(1),
      position: { netQty: 0 },
      now,
      receivedAt: now,
    }).exits;
  it("U10 the alert's stop beats the recorder's stop in dollars; a trader's stop in ticks beats both", () => {
    const rec = { stopLoss: { dollars: 20 }, takeProfit: [{ points: 10, trimPercent: 100 }] };
    expect(exits(rec, {})).toMatchObject({ stopLossTicks: 0, unitStop: { amount: dec(20) } });
    const alert = exits(rec, {}, { stopLoss: { ticks: 6 }, takeProfit: { amount: dec(5) } });
    expect(alert).toMatchObject({ stopLossTicks: 6, targets: [], alertTarget: { amount: dec(5) } });
    expect(alert.unitStop).toBeUndefined();
    expect(alert.unitTargets).toBeUndefined();
    const trader = exits(
      rec,
      { stopLossTicks: 9, takeProfit: [{ ticks: 3, trimPercent: 100 }] },
      { stopLoss: { ticks: 6 } },
    );
    expect(trader).toMatchObject({ stopLossTicks: 9, targets: [{ ticks: 3, trimPercent: 100 }] });
    expect(trader.unitStop).toBeUndefined();
    expect(trader.unitTargets).toBeUndefined();
    expect(exits({ stopLossTicks: 7 }, { stopLoss: { points: 1 } })).toMatchObject({
      stopLossTicks: 0,
      unitStop: { points: dec(1) },
    });
  });
});

describe("exact for every simulator contract (both simulators list the domain product table)", () => {
  const products = Object.entries(PRODUCTS).map(([root, p]) => ({
    root,
    tick: dec(p.tickSize),
    tv: tickValue({ tickSize: dec(p.tickSize), valuePerPoint: dec(p.valuePerPoint) }),
  }));
  const arb = fc.record({
    p: fc.constantFrom(...products),
    k: fc.integer({ min: 1, max: 5_000 }),
    fillTicks: fc.integer({ min: 1, max: 50_000_000 }),
    hundredthsPct: fc.integer({ min: 1, max: 2_000 }),
    up: fc.constantFrom<1 | -1>(1, -1),
  });

  it("P30 k ticks written as points or as dollars per contract are k ticks again, for targets and stops", () => {
    fc.assert(
      fc.property(arb, ({ p, k, up }) => {
        for (const role of ["target", "stop"] as const) {
          const fill = times(p.tick, 1000);
          expect(distanceTicks({ points: times(p.tick, k) }, up, fill, p.tick, p.tv, role)).toBe(k);
          expect(distanceTicks({ amount: times(p.tv, k) }, up, fill, p.tick, p.tv, role)).toBe(k);
        }
      }),
    );
  });

  it("P31 a percent of the fill: the target is the nearest tick, the stop the furthest tick not beyond it", () => {
    fc.assert(
      fc.property(arb, ({ p, fillTicks, hundredthsPct, up }) => {
        const fill = times(p.tick, fillTicks);
        const pct = ((BigInt(hundredthsPct) * SCALE) / 100n) as Dec;
        // exact distance in ticks as a fraction num/den of integers
        const num = fill * pct;
        const den = p.tick * 100n * SCALE;
        const target = distanceTicks({ percent: pct }, up, fill, p.tick, p.tv, "target");
        const stop = distanceTicks({ percent: pct }, up, fill, p.tick, p.tv, "stop");
        const t = BigInt(target);
        const s = BigInt(stop);
        // nearest: |t - num/den| <= 1/2, i.e. |2(t*den - num)| <= den (or at least one tick)
        const off = 2n * (t * den - num);
        expect(target === 1 || (off <= den && -off <= den)).toBe(true);
        // toward the fill: s <= num/den < s + 1 (or one tick when under one)
        if (num >= den) expect(s * den <= num && num < (s + 1n) * den).toBe(true);
        else expect(stop).toBe(1);
        // the stop price itself never lies beyond the asked distance
        if (num >= den) expect(times(p.tick, stop) * 100n * SCALE <= num).toBe(true);
      }),
    );
  });
});

describe("stored plans", () => {
  it("U11 exits in units survive the executions table (a plan resumed after a restart places the same exits)", async () => {
    const { planFromJson, planToJson } = await import("../../src/dispatch/executor");
    const now = new Date("2026-11-20T15:00:00Z");
    const p = plan({
      signal: { ticker: "MNQ1!", action: "buy" },
      recorder: recorderSettingsSchema.parse({
        takeProfit: [
          { percent: 0.05, trimPercent: 50 },
          { percent: 0.1, trimPercent: 100 },
        ],
        stopLoss: { dollars: 12.5 },
      }),
      overrides: {},
      multiplier: dec(1),
      position: { netQty: 0 },
      now,
      receivedAt: now,
    });
    const back = planFromJson(JSON.parse(JSON.stringify(planToJson(p))));
    expect(back).toEqual(p);
    expect(resolveExitTicks(back.exits, "buy", dec(20_000), MNQ.tickSize, MNQ.tv)).toEqual({
      targets: [
        { ticks: 40, trimPercent: 50 },
        { ticks: 80, trimPercent: 100 },
      ],
      stopLossTicks: 25,
    });
  });
});
