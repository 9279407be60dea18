import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { withinTradingHours } from "../../src/domain/hours";
import { plan } from "../../src/domain/planner";
import { recorderSettingsSchema, type TradingWindow } from "../../src/domain/settings";
import type { Signal } from "../../src/domain/signal";

const now = new Date("2026-11-20T15:00:00Z"); // Friday 09:00 in Chicago
const base = (signal: Partial<Signal>, net: number, settings: Record<string, unknown> = {}) =>
  plan({
    signal: { ticker: "MNQ1!", action: "buy", ...signal },
    recorder: recorderSettingsSchema.parse({ quantity: 1, ...settings }),
    overrides: {},
    multiplier: dec(1),
    position: { netQty: net },
    now,
    receivedAt: now,
  });

describe("trading hours", () => {
  it("windows are in the recorder's time zone, overnight windows included, daylight saving handled", () => {
    const w = [{ start: "08:30", end: "15:00" }];
    expect(withinTradingHours(new Date("2026-11-20T14:31:00Z"), w, "America/Chicago")).toBe(true); // 08:31 CST
    expect(withinTradingHours(new Date("2026-11-20T14:29:00Z"), w, "America/Chicago")).toBe(false);
    expect(withinTradingHours(new Date("2026-07-20T13:31:00Z"), w, "America/Chicago")).toBe(true); // 08:31 CDT
    const night: TradingWindow[] = [
      { start: "18:00", end: "09:30", days: ["sun", "mon", "tue", "wed", "thu"] },
    ];
    expect(withinTradingHours(new Date("2026-11-23T01:00:00Z"), night, "America/New_York")).toBe(true); // Sun 20:00
    expect(withinTradingHours(new Date("2026-11-21T01:00:00Z"), night, "America/New_York")).toBe(false); // Fri 20:00
    expect(withinTradingHours(new Date("2026-11-20T14:00:00Z"), night, "America/New_York")).toBe(true); // Fri 09:00, Thu's night
  });

  it("outside the window entries are skipped with the reason, exits still go through", () => {
    const s = { tradingWindows: [{ start: "10:00", end: "11:00" }] };
    expect(base({ action: "buy" }, 0, s)).toMatchObject({ decision: "skipped_outside_hours", intents: [] });
    expect(base({ action: "exit" }, 2, s).decision).toBe("closed");
  });
});

describe("position-sync guard", () => {
  const prevFlat: Partial<Signal> = {
    action: "buy",
    prevMarketPosition: "flat",
    marketPosition: "long",
    positionSize: dec(2),
  };
  it("off: the alert's positions are ignored", () => {
    expect(base(prevFlat, 3).decision).toBe("ignored_same_direction");
  });
  it("skip: an out-of-sync follower is left alone, with the reason", () => {
    const p = base(prevFlat, -1, { positionSync: "skip" });
    expect(p).toMatchObject({ decision: "skipped_out_of_sync", intents: [] });
    expect(p.reason).toBe(
      "out of sync: the strategy was flat before this alert, the follower is short 1; skipped",
    );
  });
  it("flatten: the follower is closed and not reopened", () => {
    const p = base(prevFlat, -1, { positionSync: "flatten" });
    expect(p.decision).toBe("flattened_out_of_sync");
    expect(p.intents).toEqual([{ kind: "cancelExits" }, { kind: "close", side: "buy", qty: 1 }]);
  });
  it("resync: the follower goes to the strategy's position after this order", () => {
    expect(base(prevFlat, -1, { positionSync: "resync" }).intents).toEqual([
      { kind: "cancelExits" },
      { kind: "close", side: "buy", qty: 1 },
      { kind: "entry", leg: "entry", side: "buy", qty: 2 },
      { kind: "protect" },
    ]);
    expect(base(prevFlat, 5, { positionSync: "resync" }).intents).toEqual([
      { kind: "cancelExits" },
      { kind: "close", side: "sell", qty: 3 },
      { kind: "protect" },
    ]);
    expect(
      base({ ...prevFlat, positionSize: dec(4) }, 1, { positionSync: "resync", maxContracts: 3 }).intents,
    ).toEqual([
      { kind: "entry", leg: "add", side: "buy", qty: 2 },
      { kind: "cancelExits" },
      { kind: "protect" },
    ]);
  });
  it("in sync: the normal table applies", () => {
    expect(base({ ...prevFlat }, 0, { positionSync: "skip" }).decision).toBe("opened");
  });
});

describe("sizing", () => {
  it("alert quantity times the multiplier, rounded down; adds use addQuantity", () => {
    const p = plan({
      signal: { ticker: "MNQ1!", action: "buy", quantity: dec(3) },
      recorder: recorderSettingsSchema.parse({ quantity: 1 }),
      overrides: {},
      multiplier: dec("1.5"),
      position: { netQty: 0 },
      now,
      receivedAt: now,
    });
    expect(p.intents[0]).toEqual({ kind: "entry", leg: "entry", side: "buy", qty: 4 });
    const add = base({ action: "add" }, 2, { addQuantity: 2 });
    expect(add.intents[0]).toEqual({ kind: "entry", leg: "add", side: "buy", qty: 2 });
    expect(base({ action: "buy", quantity: dec(1) }, 0).intents[0]).toMatchObject({ qty: 1 });
    const tiny = plan({
      signal: { ticker: "MNQ1!", action: "buy" },
      recorder: recorderSettingsSchema.parse({ quantity: 1 }),
      overrides: {},
      multiplier: dec("0.5"),
      position: { netQty: 0 },
      now,
      receivedAt: now,
    });
    expect(tiny).toMatchObject({ decision: "ignored_zero_size", intents: [] });
    // An opposite signal whose new side rounds to 0 still closes the old side: the strategy left it.
    const tinyReverse = plan({
      signal: { ticker: "MNQ1!", action: "sell" },
      recorder: recorderSettingsSchema.parse({ quantity: 1 }),
      overrides: {},
      multiplier: dec("0.5"),
      position: { netQty: 2 },
      now,
      receivedAt: now,
    });
    expect(tinyReverse).toMatchObject({
      decision: "closed",
      intents: [{ kind: "cancelExits" }, { kind: "close", side: "sell", qty: 2 }],
    });
  });

  it("trader overrides beat the alert's exits, which beat the recorder's", () => {
    const p = plan({
      signal: { ticker: "MNQ1!", action: "buy", takeProfit: { ticks: 20 }, stopLoss: { ticks: 30 } },
      recorder: recorderSettingsSchema.parse({
        takeProfit: [{ ticks: 10, trimPercent: 100 }],
        stopLossTicks: 10,
      }),
      overrides: { stopLossTicks: 5 },
      multiplier: dec(1),
      position: { netQty: 0 },
      now,
      receivedAt: now,
    });
    expect(p.exits).toMatchObject({ targets: [{ ticks: 20, trimPercent: 100 }], stopLossTicks: 5 });
  });
});

describe("the relay-wide cap on one order (MAX_ORDER_CONTRACTS)", () => {
  const capped = (signal: Partial<Signal>, net: number, multiplier: string, max: number) =>
    plan({
      signal: { ticker: "MNQ1!", action: "buy", ...signal },
      recorder: recorderSettingsSchema.parse({ quantity: 1 }),
      overrides: {},
      multiplier: dec(multiplier),
      position: { netQty: net },
      now,
      receivedAt: now,
      maxOrderContracts: max,
    });
  it("an entry above the cap after the multiplier is refused whole, with the reason", () => {
    const p = capped({ quantity: dec(60) }, 0, "2", 100);
    expect(p).toMatchObject({ decision: "blocked_max_contracts", intents: [] });
    expect(p.reason).toMatch(
      /an order of 120 contracts is more than this relay allows .*MAX_ORDER_CONTRACTS 100/,
    );
    expect(capped({ quantity: dec(50) }, 0, "2", 100).decision).toBe("opened");
  });
  it("a reversal above the cap still closes, and does not reopen", () => {
    const p = capped({ action: "sell", quantity: dec(60) }, 3, "2", 100);
    expect(p.decision).toBe("closed");
    expect(p.intents.map((i) => i.kind)).toEqual(["cancelExits", "close"]);
  });
  it("an exit of any size is never capped", () => {
    expect(capped({ action: "exit" }, 500, "1", 100).intents).toContainEqual({
      kind: "close",
      side: "sell",
      qty: 500,
    });
  });
});
