/**
 * Entry filters (src/domain/filters.ts) through the copy planner: one table row per rule, then properties.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { countSameDirection, type EntryHistory, invertSignal } from "../../src/domain/filters";
import { type Plan, plan } from "../../src/domain/planner";
import { recorderSettingsSchema } from "../../src/domain/settings";
import { ACTIONS, type Signal } from "../../src/domain/signal";

const now = new Date("2026-11-20T15:00:00Z");
const none: EntryHistory = { entriesToday: 0, sameDirectionSignals: 0 };
const run = (
  signal: Partial<Signal>,
  net: number,
  settings: Record<string, unknown> = {},
  history: EntryHistory | undefined = none,
  overrides: Record<string, unknown> = {},
): Plan =>
  plan({
    signal: { ticker: "MNQ1!", action: "buy", ...signal },
    recorder: recorderSettingsSchema.parse({ quantity: 1, ...settings }),
    overrides,
    multiplier: dec(1),
    position: { netQty: net },
    now,
    receivedAt: now,
    ...(history ? { history } : {}),
  });
const entries = (p: Plan) => p.intents.filter((i) => i.kind === "entry");
const ago = (s: number) => new Date(now.getTime() - s * 1000);

describe("inverse", () => {
  const inv = { inverse: true };
  it.each([
    ["F01 buy while flat opens short", { action: "buy" }, 0, "opened", [{ side: "sell", qty: 1 }]],
    ["F02 sell while flat opens long", { action: "sell" }, 0, "opened", [{ side: "buy", qty: 1 }]],
    [
      "F03 buy while short (inverted: a same-direction sell) is ignored",
      { action: "buy" },
      -1,
      "ignored_same_direction",
      [],
    ],
    ["F04 sell while short reverses to long", { action: "sell" }, -1, "reversed", [{ side: "buy", qty: 1 }]],
    [
      "F05 sentiment long opens short",
      { action: "add", sentiment: "long" },
      -1,
      "added",
      [{ side: "sell", qty: 1 }],
    ],
  ] as const)("%s", (_name, signal, net, decision, want) => {
    const p = run(signal as Partial<Signal>, net, { ...inv, avgDown: decision === "added" });
    expect(p.decision).toBe(decision);
    expect(
      entries(p).map((e) => ({ side: e.kind === "entry" && e.side, qty: e.kind === "entry" && e.qty })),
    ).toEqual(want);
  });
  it("F06 exits, closes, flats and cancels are unchanged, and exits keep their distances", () => {
    for (const action of ["exit", "close", "flat"] as const)
      expect(run({ action }, 2, inv).intents).toEqual(run({ action }, 2).intents);
    expect(run({ action: "cancel" }, 0, inv).intents).toEqual([{ kind: "cancelEntries" }]);
    const p = run({ action: "buy", takeProfit: { ticks: 8 }, stopLoss: { ticks: 4 } }, 0, inv);
    expect(p.exits).toMatchObject({ targets: [{ ticks: 8, trimPercent: 100 }], stopLossTicks: 4 });
  });
  it("F07 a strategy's partial exit (sell, staying long) is a partial exit of the inverted short", () => {
    const p = run({ action: "sell", sentiment: "long", quantity: dec(1) }, -2, inv);
    expect(p.decision).toBe("closed_partial");
    expect(p.intents).toContainEqual({ kind: "close", side: "buy", qty: 1 });
  });
  it("F08 the strategy's positions are swapped too, so the sync guard compares like with like", () => {
    const s = invertSignal({
      ticker: "X",
      action: "buy",
      marketPosition: "long",
      prevMarketPosition: "flat",
      positionSize: dec(2),
    });
    expect(s).toMatchObject({ action: "sell", marketPosition: "short", prevMarketPosition: "flat" });
    expect(s.positionSize).toBe(dec(-2));
    const p = run({ action: "buy", prevMarketPosition: "short", marketPosition: "long" }, 1, {
      inverse: true,
      positionSync: "skip",
    });
    expect(p.decision).toBe("reversed"); // inverted: prev long = the follower's long, in sync
  });
  it("F09 a trader's inverse overrides the recorder's", () => {
    expect(entries(run({ action: "buy" }, 0, {}, none, { inverse: true }))[0]).toMatchObject({
      side: "sell",
    });
  });
});

describe("direction", () => {
  it.each([
    ["F10 long only: sell while flat is refused", "long", { action: "sell" }, 0, "skipped_direction", []],
    ["F11 long only: buy while flat opens", "long", { action: "buy" }, 0, "opened", ["entry", "protect"]],
    [
      "F12 long only: sell while long closes the long, never opens a short",
      "long",
      { action: "sell" },
      2,
      "closed",
      ["cancelExits", "close"],
    ],
    [
      "F13 short only: buy while short closes the short",
      "short",
      { action: "buy" },
      -1,
      "closed",
      ["cancelExits", "close"],
    ],
    ["F14 short only: buy while flat is refused", "short", { action: "buy" }, 0, "skipped_direction", []],
    ["F15 long only: exit closes", "long", { action: "exit" }, 3, "closed", ["cancelExits", "close"]],
    [
      "F16 both: sell while long reverses",
      "both",
      { action: "sell" },
      1,
      "reversed",
      ["cancelExits", "close", "entry", "protect"],
    ],
  ] as const)("%s", (_n, direction, signal, net, decision, kinds) => {
    const p = run(signal as Partial<Signal>, net, { direction });
    expect(p.decision).toBe(decision);
    expect(p.intents.map((i) => i.kind)).toEqual(kinds);
    if (decision === "skipped_direction") expect(p.reason).toMatch(/trades (long|short) only/);
    if (net > 0 && decision === "closed")
      expect(p.intents).toContainEqual({ kind: "close", side: "sell", qty: net });
  });
  it("F17 direction applies after inverse: a long-only inverse follower refuses buys (they are shorts)", () => {
    expect(run({ action: "buy" }, 0, { direction: "long", inverse: true }).decision).toBe(
      "skipped_direction",
    );
    expect(run({ action: "sell" }, 0, { direction: "long", inverse: true }).decision).toBe("opened");
  });
});

describe("cooldown", () => {
  const s = { cooldownSeconds: 60, avgDown: true };
  it.each([
    ["F20 an entry 30 s after the last one is refused", { action: "buy" }, 0, ago(30), "skipped_cooldown"],
    ["F21 at exactly the cooldown it opens", { action: "buy" }, 0, ago(60), "opened"],
    ["F22 an add inside the cooldown is refused", { action: "buy" }, 1, ago(5), "skipped_cooldown"],
    ["F23 a reverse inside the cooldown keeps its close", { action: "sell" }, 1, ago(5), "closed"],
    ["F24 an exit inside the cooldown goes", { action: "exit" }, 1, ago(1), "closed"],
    ["F25 no entry yet: opens", { action: "buy" }, 0, undefined, "opened"],
  ] as const)("%s", (_n, signal, net, last, decision) => {
    const p = run(signal as Partial<Signal>, net, s, { ...none, ...(last ? { lastEntryAt: last } : {}) });
    expect(p.decision).toBe(decision);
    expect(entries(p)).toHaveLength(decision === "opened" ? 1 : 0);
    if (decision === "skipped_cooldown")
      expect(p.reason).toMatch(/cooldown: the last entry was \d+ s ago \(cooldown 60 s\)/);
    if (net === 1 && signal.action === "sell") expect(p.reason).toMatch(/new entry refused: cooldown/);
  });
  it("F26 cooldown 0 (the default) never refuses", () => {
    expect(run({ action: "buy" }, 0, {}, { ...none, lastEntryAt: now }).decision).toBe("opened");
  });
});

describe("max entries per trading day", () => {
  it.each([
    ["F30 below the limit opens", 1, { action: "buy" }, 0, "opened"],
    ["F31 at the limit is refused", 2, { action: "buy" }, 0, "skipped_max_entries"],
    ["F32 at the limit an add is refused", 2, { action: "buy" }, 1, "skipped_max_entries"],
    ["F33 at the limit an exit goes", 5, { action: "close" }, 1, "closed"],
    ["F34 at the limit a reverse only closes", 2, { action: "sell" }, 1, "closed"],
  ] as const)("%s", (_n, today, signal, net, decision) => {
    const p = run(
      signal as Partial<Signal>,
      net,
      { maxEntriesPerDay: 2, avgDown: true },
      { ...none, entriesToday: today },
    );
    expect(p.decision).toBe(decision);
    if (decision === "skipped_max_entries")
      expect(p.reason).toBe(`entry refused: ${today} entries already this trading day (max 2)`);
  });
});

describe("add only every Nth same-direction signal", () => {
  it.each([
    [0, "skipped_add_every"],
    [1, "skipped_add_every"],
    [2, "added"],
    [3, "skipped_add_every"],
    [5, "added"],
  ] as const)("F40 with addEvery 3 and %i same-direction signals before: %s", (before, decision) => {
    const p = run(
      { action: "buy" },
      1,
      { avgDown: true, addEvery: 3 },
      { ...none, sameDirectionSignals: before },
    );
    expect(p.decision).toBe(decision);
    if (decision === "skipped_add_every")
      expect(p.reason).toMatch(
        new RegExp(`same-direction signal ${before + 1} in this position; adds only every 3`),
      );
  });
  it("F41 avg-down off still ignores same-direction signals (the one 'ignore same direction' setting)", () => {
    expect(run({ action: "buy" }, 1, { avgDown: false, addEvery: 2 }).decision).toBe(
      "ignored_same_direction",
    );
  });
  it("F42 opens and reverses are not thinned", () => {
    expect(run({ action: "buy" }, 0, { addEvery: 3 }).decision).toBe("opened");
    expect(run({ action: "sell" }, 1, { addEvery: 3 }).decision).toBe("reversed");
  });
  it("F43 counting: same-direction entries and bare adds count; exits, opposites and partial exits do not", () => {
    const sig = (s: Partial<Signal>): Signal => ({ ticker: "MNQ1!", action: "buy", ...s });
    const list = [
      sig({ action: "buy" }),
      sig({ action: "add" }),
      sig({ action: "sell" }),
      sig({ action: "exit" }),
      sig({ action: "sell", sentiment: "long" }),
      sig({ action: "add", sentiment: "long" }),
      sig({ action: "cancel" }),
    ];
    expect(countSameDirection(list, "buy", false)).toBe(3);
    expect(countSameDirection(list, "sell", false)).toBe(2); // sell, bare add
    expect(countSameDirection(list, "sell", true)).toBe(3); // inverted: buy, add, add-long
  });
});

describe("properties", () => {
  const signalArb: fc.Arbitrary<Signal> = fc.record(
    {
      ticker: fc.constant("MNQ1!"),
      action: fc.constantFrom(...ACTIONS),
      sentiment: fc.constantFrom("long", "short", "flat"),
      marketPosition: fc.constantFrom("long", "short", "flat"),
      prevMarketPosition: fc.constantFrom("long", "short", "flat"),
      positionSize: fc.integer({ min: -5, max: 5 }).map((n) => dec(n)),
      quantity: fc.integer({ min: 1, max: 5 }).map((n) => dec(n)),
    },
    { requiredKeys: ["ticker", "action"] },
  );
  const historyArb: fc.Arbitrary<EntryHistory> = fc.record({
    lastEntryAt: fc.integer({ min: 0, max: 600 }).map(ago),
    entriesToday: fc.integer({ min: 0, max: 10 }),
    sameDirectionSignals: fc.integer({ min: 0, max: 10 }),
  });
  const settingsArb = fc.record({
    cooldownSeconds: fc.integer({ min: 0, max: 300 }),
    maxEntriesPerDay: fc.integer({ min: 1, max: 5 }),
    addEvery: fc.integer({ min: 1, max: 4 }),
    direction: fc.constantFrom("both", "long", "short"),
    inverse: fc.boolean(),
    avgDown: fc.boolean(),
    onOpposite: fc.constantFrom("reverse", "close"),
  });

  it("P10 inverting twice is the identity", () => {
    fc.assert(
      fc.property(signalArb, (s) => {
        expect(invertSignal(invertSignal(s))).toEqual(s);
      }),
    );
  });

  it("P11 filters only ever remove entries: every close, cancel and exit of the unfiltered plan stays", () => {
    fc.assert(
      fc.property(
        signalArb,
        fc.integer({ min: -3, max: 3 }),
        settingsArb,
        historyArb,
        (s, net, settings, h) => {
          const filtered = run(s, net, settings, h);
          const { maxEntriesPerDay: _, ...noMax } = settings;
          const unfiltered = run(
            s,
            net,
            { ...noMax, cooldownSeconds: 0, addEvery: 1, direction: "both" },
            undefined,
          );
          const closes = (p: Plan) =>
            p.intents.filter((i) => i.kind === "close" || i.kind === "cancelEntries");
          expect(closes(filtered)).toEqual(closes(unfiltered));
          // New exposure only where the unfiltered plan had it, never more of it.
          const qty = (p: Plan) => entries(p).reduce((n, e) => n + (e.kind === "entry" ? e.qty : 0), 0);
          expect(qty(filtered)).toBeLessThanOrEqual(qty(unfiltered));
        },
      ),
    );
  });

  it("P12 a follower never opens or adds on a refused side", () => {
    fc.assert(
      fc.property(
        signalArb,
        fc.integer({ min: -3, max: 3 }),
        settingsArb,
        historyArb,
        (s, net, settings, h) => {
          const p = run(s, net, settings, h);
          for (const e of entries(p)) {
            if (e.kind !== "entry") continue;
            if (settings.direction === "long") expect(e.side).toBe("buy");
            if (settings.direction === "short") expect(e.side).toBe("sell");
          }
        },
      ),
    );
  });
});
