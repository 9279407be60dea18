/**
 * Properties of the copy planner and the exit computation, over thousands of generated cases.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { add, dec, roundToStep, sub, times } from "../../src/domain/decimal";
import { settingsTargets } from "../../src/domain/exit-units";
import { allocateTargets, exitOrders } from "../../src/domain/exits";
import { type Intent, plan } from "../../src/domain/planner";
import { recorderSettingsSchema } from "../../src/domain/settings";
import type { Signal } from "../../src/domain/signal";

const TICKS = ["0.25", "0.1", "0.01", "0.005", "0.0005", "0.03125", "0.015625", "0.0078125", "1", "5"].map(
  dec,
);
const tick = fc.constantFrom(...TICKS);
const target = fc.record({
  ticks: fc.integer({ min: 1, max: 400 }),
  trimPercent: fc.integer({ min: 1, max: 100 }),
});

describe("exit orders (properties)", () => {
  it("P01 take-profit quantities never exceed the position; a final cumulative 100% covers it exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.array(target, { maxLength: 10 }), (qty, targets) => {
        const legs = allocateTargets(qty, targets);
        const total = legs.reduce((s, l) => s + l.qty, 0);
        expect(total).toBeLessThanOrEqual(qty);
        expect(legs.every((l) => l.qty > 0)).toBe(true);
        const cumulative = targets.reduce((s, t) => s + t.trimPercent, 0);
        if (cumulative >= 100) expect(total).toBe(qty);
      }),
      { numRuns: 5000 },
    );
  });

  it("P02 every contract has a stop, no stop is at <= 0 or on the wrong side, prices sit on the tick grid", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<"buy" | "sell">("buy", "sell"),
        fc.integer({ min: 1, max: 500 }),
        tick,
        fc.integer({ min: 1, max: 400_000 }),
        fc.array(target, { maxLength: 6 }),
        fc.integer({ min: 0, max: 5000 }),
        (side, qty, tickSize, fillTicks, targets, stopLossTicks) => {
          const fillPrice = times(tickSize, fillTicks);
          const { legs, problem } = exitOrders({ side, qty, fillPrice, tickSize, targets, stopLossTicks });
          const long = side === "buy";
          for (const l of legs) {
            expect(l.price > 0n).toBe(true);
            expect(roundToStep(l.price, tickSize)).toBe(l.price);
            expect(l.side).toBe(long ? "sell" : "buy");
            if (l.type === "stop") expect(long ? l.price < fillPrice : l.price > fillPrice).toBe(true);
            else expect(long ? l.price > fillPrice : l.price < fillPrice).toBe(true);
          }
          const stops = legs.filter((l) => l.type === "stop").reduce((s, l) => s + l.qty, 0);
          const tps = legs.filter((l) => l.type === "limit").reduce((s, l) => s + l.qty, 0);
          expect(tps).toBeLessThanOrEqual(qty);
          if (stopLossTicks > 0 && !problem) expect(stops).toBe(qty);
          if (stopLossTicks === 0) expect(stops).toBe(0);
          // A stop the market could never reach (below 0 for a long) is reported, not placed.
          const wouldBe = long
            ? sub(fillPrice, times(tickSize, stopLossTicks))
            : add(fillPrice, times(tickSize, stopLossTicks));
          if (stopLossTicks > 0 && wouldBe <= 0n) expect(problem).toMatch(/impossible price/);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("P03 no exit at all from a missing or zero fill price, and the position is reported unprotected", () => {
    for (const fillPrice of [undefined, dec(0)]) {
      const r = exitOrders({
        side: "buy",
        qty: 2,
        fillPrice,
        tickSize: dec("0.25"),
        targets: [{ ticks: 8, trimPercent: 100 }],
        stopLossTicks: 8,
      });
      expect(r.legs).toEqual([]);
      expect(r.problem).toMatch(/no fill price/);
    }
  });

  it("P04 take-profit 0 places no take-profit (never a default)", () => {
    const settings = recorderSettingsSchema.parse({
      takeProfit: [{ ticks: 0, trimPercent: 100 }],
      stopLossTicks: 0,
    });
    expect(settings.takeProfit).toEqual([]);
    const r = exitOrders({
      side: "buy",
      qty: 1,
      fillPrice: dec("100"),
      tickSize: dec("0.25"),
      targets: settingsTargets(settings.takeProfit).targets,
      stopLossTicks: 0,
    });
    expect(r.legs).toEqual([]);
  });
});

const settingsArb = fc.record({
  quantity: fc.integer({ min: 1, max: 20 }),
  addQuantity: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  avgDown: fc.boolean(),
  maxContracts: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  onOpposite: fc.constantFrom<"reverse" | "close">("reverse", "close"),
  positionSync: fc.constantFrom<"off" | "skip" | "flatten" | "resync">("off", "skip", "flatten", "resync"),
  stopLossTicks: fc.integer({ min: 0, max: 50 }),
});

const signalArb: fc.Arbitrary<Signal> = fc.record(
  {
    ticker: fc.constant("MNQ1!"),
    action: fc.constantFrom<Signal["action"]>("buy", "sell", "exit", "close", "flat", "cancel", "add"),
    sentiment: fc.option(fc.constantFrom<"long" | "short" | "flat">("long", "short", "flat"), {
      nil: undefined,
    }),
    quantity: fc.option(
      fc.integer({ min: 1, max: 25 }).map((q) => dec(q)),
      { nil: undefined },
    ),
    prevMarketPosition: fc.option(fc.constantFrom<"long" | "short" | "flat">("long", "short", "flat"), {
      nil: undefined,
    }),
    marketPosition: fc.option(fc.constantFrom<"long" | "short" | "flat">("long", "short", "flat"), {
      nil: undefined,
    }),
    positionSize: fc.option(
      fc.integer({ min: -25, max: 25 }).map((q) => dec(q)),
      { nil: undefined },
    ),
  },
  { requiredKeys: ["ticker", "action"] },
) as fc.Arbitrary<Signal>;

/** The trader's position after carrying out the intents (closes and entries at market). */
function after(net: number, intents: Intent[]): { net: number; peak: number } {
  let position = net;
  let peak = Math.abs(net);
  for (const i of intents) {
    if (i.kind === "close" || i.kind === "entry") {
      position += i.side === "buy" ? i.qty : -i.qty;
      peak = Math.max(peak, Math.abs(position));
    }
  }
  return { net: position, peak };
}

describe("copy planner (properties)", () => {
  const now = new Date("2026-11-21T15:00:00Z");

  it("P05 never exceeds max contracts, never closes more than the position, never opens on a stale signal", () => {
    fc.assert(
      fc.property(
        settingsArb,
        signalArb,
        fc.integer({ min: -30, max: 30 }),
        fc.constantFrom("1", "2", "0.5", "3", "0.1"),
        fc.integer({ min: 0, max: 120_000 }),
        (s, signal, net, multiplier, ageMs) => {
          const recorder = recorderSettingsSchema.parse(s);
          const p = plan({
            signal,
            recorder,
            overrides: {},
            multiplier: dec(multiplier),
            position: { netQty: net },
            now,
            receivedAt: new Date(now.getTime() - ageMs),
          });
          const { net: end, peak } = after(net, p.intents);
          const entered = p.intents.some((i) => i.kind === "entry");
          if (recorder.maxContracts !== undefined && entered) {
            expect(Math.abs(end)).toBeLessThanOrEqual(Math.max(recorder.maxContracts, Math.abs(net)));
            expect(peak).toBeLessThanOrEqual(Math.max(recorder.maxContracts, Math.abs(net)));
          }
          for (const i of p.intents) {
            if (i.kind === "close") expect(i.qty).toBeLessThanOrEqual(Math.abs(net));
            if (i.kind === "close" || i.kind === "entry") expect(i.qty).toBeGreaterThan(0);
          }
          // Closing never flips the position by itself: a flip is always close-to-flat then a new entry.
          const closes = p.intents.filter((i) => i.kind === "close");
          const closed = closes.reduce((sum, i) => sum + (i.kind === "close" ? i.qty : 0), 0);
          expect(closed).toBeLessThanOrEqual(Math.abs(net));
          if (ageMs > recorder.maxSignalAgeSeconds * 1000) expect(entered).toBe(false);
          // An entry is always followed by protection.
          if (entered) expect(p.intents.at(-1)?.kind).toBe("protect");
          expect(p.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("P06 exits and closes always go through, even when entries are refused for staleness", () => {
    const recorder = recorderSettingsSchema.parse({ quantity: 1 });
    const p = plan({
      signal: { ticker: "MNQ1!", action: "sell" },
      recorder,
      overrides: {},
      multiplier: dec(1),
      position: { netQty: 2 },
      now,
      receivedAt: new Date(now.getTime() - 600_000),
    });
    expect(p.intents.map((i) => i.kind)).toEqual(["cancelExits", "close"]);
    expect(p.decision).toBe("closed");
    expect(p.reason).toMatch(/new entry refused: the signal is 600 s old/);
  });
});
