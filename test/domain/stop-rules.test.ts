/**
 * Break-even and trailing stop rules (src/domain/stop-rules.ts): one table row per rule and edge, then
 * properties over generated quote paths.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { add, type Dec, dec, sub, times, toStr } from "../../src/domain/decimal";
import {
  advance,
  firstStop,
  type ManagedPosition,
  nativeTrailFits,
  type StopRules,
  type StopState,
} from "../../src/domain/stop-rules";

const OFF: StopRules = {
  trailingStop: false,
  trailTriggerTicks: 0,
  trailStepTicks: 1,
  breakEvenTicks: 0,
  breakEvenOffsetTicks: 0,
};

function position(side: "buy" | "sell", rules: Partial<StopRules>, entry = "21000"): ManagedPosition {
  return { side, entry: dec(entry), tickSize: dec("0.25"), stopLossTicks: 8, rules: { ...OFF, ...rules } };
}

/** Feeds quotes one by one; returns every stop move as text and the final state. */
function run(m: ManagedPosition, quotes: string[], start?: Partial<StopState>) {
  let state: StopState = { best: m.entry, stop: firstStop(m), breakEvenDone: false, ...start };
  const moves: string[] = [];
  for (const q of quotes) {
    const r = advance(m, state, dec(q));
    state = r.state;
    if (r.move) moves.push(`${r.move.kind}@${toStr(r.move.stop)}`);
  }
  return { moves, state };
}

describe("stop rules (table)", () => {
  const rows: {
    id: string;
    what: string;
    side: "buy" | "sell";
    rules: Partial<StopRules>;
    quotes: string[];
    moves: string[];
    entry?: string;
  }[] = [
    {
      id: "S01",
      what: "nothing on: the stop never moves",
      side: "buy",
      rules: {},
      quotes: ["21005", "21010"],
      moves: [],
    },
    {
      id: "S02",
      what: "break-even after 8 ticks moves a long's stop to entry + 1 tick, once",
      side: "buy",
      rules: { breakEvenTicks: 8, breakEvenOffsetTicks: 1 },
      quotes: ["21001.75", "21002", "21003", "21001", "21004"],
      moves: ["break_even@21000.25"],
    },
    {
      id: "S03",
      what: "break-even on a short mirrors it: entry - offset",
      side: "sell",
      rules: { breakEvenTicks: 4, breakEvenOffsetTicks: 2 },
      quotes: ["20999.25", "20999", "20998"],
      moves: ["break_even@20999.5"],
    },
    {
      id: "S04",
      what: "break-even with an off-tick average rounds to the profit side (never locks a loss)",
      side: "buy",
      entry: "21000.1",
      rules: { breakEvenTicks: 4, breakEvenOffsetTicks: 0 },
      quotes: ["21001.25"],
      moves: ["break_even@21000.25"],
    },
    {
      id: "S05",
      what: "break-even whose level the market already reached waits (offset >= ticks)",
      side: "buy",
      rules: { breakEvenTicks: 2, breakEvenOffsetTicks: 2 },
      quotes: ["21000.5", "21000.75"],
      moves: ["break_even@21000.5"],
    },
    {
      id: "S06",
      what: "trailing from the start, step 1: the stop follows the best price 8 ticks behind",
      side: "buy",
      rules: { trailingStop: true },
      quotes: ["21000.25", "21001", "21000.5", "21002"],
      moves: ["trail@20998.25", "trail@20999", "trail@21000"],
    },
    {
      id: "S07",
      what: "trailing in steps of 4 ticks: moves only when a whole step is covered",
      side: "buy",
      rules: { trailingStop: true, trailStepTicks: 4 },
      quotes: ["21000.75", "21001", "21001.75", "21002", "21003"],
      moves: ["trail@20999", "trail@21000", "trail@21001"],
    },
    {
      id: "S08",
      what: "trailing waits for its trigger (6 ticks of profit), then follows",
      side: "buy",
      rules: { trailingStop: true, trailTriggerTicks: 6 },
      quotes: ["21001", "21001.25", "21001.5", "21002"],
      moves: ["trail@20999.5", "trail@21000"],
    },
    {
      id: "S09",
      what: "a short's trail follows the lowest price above it",
      side: "sell",
      rules: { trailingStop: true, trailStepTicks: 2 },
      quotes: ["20999.75", "20999.5", "21000", "20998.5"],
      moves: ["trail@21001.5", "trail@21000.5"],
    },
    {
      id: "S10",
      what: "break-even and trailing: break-even first, then the trail takes over when tighter",
      side: "buy",
      rules: { trailingStop: true, trailTriggerTicks: 12, breakEvenTicks: 4, breakEvenOffsetTicks: 1 },
      quotes: ["21001", "21002", "21003", "21003.5"],
      moves: ["break_even@21000.25", "trail@21001", "trail@21001.5"],
    },
    {
      id: "S11",
      what: "a gap back toward the stop never loosens it, and a trail never crosses the market",
      side: "buy",
      rules: { trailingStop: true },
      quotes: ["21003", "20999.5", "21002"],
      moves: ["trail@21001"],
    },
  ];
  for (const r of rows) {
    it(`${r.id} ${r.what}`, () => {
      expect(run(position(r.side, r.rules, r.entry), r.quotes).moves).toEqual(r.moves);
    });
  }

  it("S12 a quote far through the trail is capped one tick behind the last price", () => {
    // A best price of 21010 the manager never acted on (a restart), and the market back at 21001.
    const m = position("buy", { trailingStop: true });
    const r = advance(m, { best: dec("21010"), stop: dec("20998"), breakEvenDone: false }, dec("21001"));
    expect(r.move && toStr(r.move.stop)).toBe("21000.75");
  });

  it("S13 break-even fired before a restart does not fire again", () => {
    const m = position("buy", { breakEvenTicks: 4 });
    expect(run(m, ["21002"], { breakEvenDone: true }).moves).toEqual([]);
  });

  it("S14 native trailing fits only trigger 0, step 1, no break-even", () => {
    expect(nativeTrailFits({ ...OFF, trailingStop: true })).toBe(true);
    expect(nativeTrailFits({ ...OFF, trailingStop: true, trailStepTicks: 2 })).toBe(false);
    expect(nativeTrailFits({ ...OFF, trailingStop: true, trailTriggerTicks: 1 })).toBe(false);
    expect(nativeTrailFits({ ...OFF, trailingStop: true, breakEvenTicks: 4 })).toBe(false);
    expect(nativeTrailFits(OFF)).toBe(false);
  });
});

const TICKS = ["0.25", "0.1", "0.01", "0.005", "0.03125", "1"].map(dec);

const scenario = fc.record({
  side: fc.constantFrom<"buy" | "sell">("buy", "sell"),
  tick: fc.constantFrom(...TICKS),
  entryTicks: fc.integer({ min: 2_000, max: 100_000 }),
  /** Off-tick averages happen (several fills). */
  entryFraction: fc.integer({ min: 0, max: 3 }),
  stopLossTicks: fc.integer({ min: 1, max: 60 }),
  rules: fc.record({
    trailingStop: fc.boolean(),
    trailTriggerTicks: fc.integer({ min: 0, max: 30 }),
    trailStepTicks: fc.integer({ min: 1, max: 10 }),
    breakEvenTicks: fc.integer({ min: 0, max: 30 }),
    breakEvenOffsetTicks: fc.integer({ min: 0, max: 10 }),
  }),
  /** Quote path as tick moves from the entry. */
  path: fc.array(fc.integer({ min: -80, max: 80 }), { minLength: 1, maxLength: 60 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function walk(s: Scenario) {
  const entry = add(times(s.tick, s.entryTicks), ((s.tick / 4n) * BigInt(s.entryFraction)) as Dec);
  const m: ManagedPosition = {
    side: s.side,
    entry,
    tickSize: s.tick,
    stopLossTicks: s.stopLossTicks,
    rules: s.rules,
  };
  let state: StopState = { best: entry, stop: firstStop(m), breakEvenDone: false };
  const steps: { last: Dec; before: Dec; after: StopState; kind?: string }[] = [];
  for (const d of s.path) {
    const last = add(times(s.tick, s.entryTicks), times(s.tick, d));
    const r = advance(m, state, last);
    steps.push({ last, before: state.stop, after: r.state, ...(r.move ? { kind: r.move.kind } : {}) });
    state = r.state;
  }
  return { m, steps };
}

describe("stop rules (properties)", () => {
  it("P01 never loosens, always on the tick, never at or through the last price", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { m, steps } = walk(s);
        const long = m.side === "buy";
        for (const st of steps) {
          const stop = st.after.stop;
          if (long) expect(stop >= st.before).toBe(true);
          else expect(stop <= st.before).toBe(true);
          if (!st.kind) continue;
          expect(stop % m.tickSize).toBe(0n);
          if (long) expect(stop < st.last).toBe(true);
          else expect(stop > st.last).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("P02 break-even fires at most once per position, and only after its ticks of profit", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { m, steps } = walk(s);
        const fired = steps.filter((st) => st.kind === "break_even");
        expect(fired.length).toBeLessThanOrEqual(1);
        const flips = steps.filter(
          (st, i) => st.after.breakEvenDone && !(steps[i - 1]?.after.breakEvenDone ?? false),
        );
        expect(flips.length).toBeLessThanOrEqual(1);
        for (const st of fired) {
          const profit = m.side === "buy" ? sub(st.after.best, m.entry) : sub(m.entry, st.after.best);
          expect(profit >= times(m.tickSize, m.rules.breakEvenTicks)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("P03 trailing moves only in whole steps from the first stop, and only past its trigger", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { m, steps } = walk(s);
        const anchor = firstStop(m);
        const step = times(m.tickSize, m.rules.trailStepTicks);
        for (const st of steps.filter((x) => x.kind === "trail")) {
          expect((st.after.stop - anchor) % step).toBe(0n);
          const profit = m.side === "buy" ? sub(st.after.best, m.entry) : sub(m.entry, st.after.best);
          expect(profit >= times(m.tickSize, m.rules.trailTriggerTicks)).toBe(true);
          // Never closer to the best price than the stop-loss distance.
          const gap =
            m.side === "buy" ? sub(st.after.best, st.after.stop) : sub(st.after.stop, st.after.best);
          expect(gap >= times(m.tickSize, m.stopLossTicks)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
