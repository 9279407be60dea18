/**
 * The per-alert stop aliases (trail, trail_trigger, trail_freq, breakeven, breakeven_offset): one row per
 * spelling, refusals in the sender's words, storage round trip, and precedence trader > alert > recorder.
 */
import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { plan } from "../../src/domain/planner";
import { recorderSettingsSchema, traderOverridesSchema } from "../../src/domain/settings";
import { normalizeSignal, type Signal, signalFromJson, signalToJson } from "../../src/domain/signal";

const read = (extra: Record<string, unknown>) =>
  normalizeSignal({ ticker: "MNQ1!", action: "buy", ...extra });

describe("stop aliases in the alert", () => {
  const rows: { id: string; alert: Record<string, unknown>; stops: Record<string, unknown> }[] = [
    { id: "A01", alert: { trail: 1 }, stops: { trailingStop: true } },
    { id: "A02", alert: { trail: "0" }, stops: { trailingStop: false } },
    { id: "A03", alert: { trail: true }, stops: { trailingStop: true } },
    { id: "A04", alert: { trail_trigger: "12" }, stops: { trailTriggerTicks: 12 } },
    { id: "A05", alert: { trail_freq: 4 }, stops: { trailStepTicks: 4 } },
    { id: "A06", alert: { breakeven: 8 }, stops: { breakEvenTicks: 8 } },
    { id: "A07", alert: { breakeven: 0 }, stops: { breakEvenTicks: 0 } },
    { id: "A08", alert: { breakeven_offset: "2" }, stops: { breakEvenOffsetTicks: 2 } },
    {
      id: "A09",
      alert: { trail: 1, trail_trigger: 0, trail_freq: 1, breakeven: 10, breakeven_offset: 1 },
      stops: {
        trailingStop: true,
        trailTriggerTicks: 0,
        trailStepTicks: 1,
        breakEvenTicks: 10,
        breakEvenOffsetTicks: 1,
      },
    },
  ];
  for (const r of rows) {
    it(`${r.id} ${JSON.stringify(r.alert)}`, () => {
      const result = read(r.alert);
      expect(result.ok && result.signal.stops).toEqual(r.stops);
      // Stored and read back (a resumed execution) it is the same.
      if (result.ok) expect(signalFromJson(signalToJson(result.signal)).stops).toEqual(r.stops);
    });
  }

  const refused: { id: string; alert: Record<string, unknown>; message: RegExp }[] = [
    { id: "A10", alert: { trail: 2 }, message: /Field "trail" must be 1 \(trail the stop\) or 0/ },
    { id: "A11", alert: { trail: "yes" }, message: /Field "trail"/ },
    {
      id: "A12",
      alert: { trail_freq: 0 },
      message: /Field "trail_freq" must be a whole number of ticks from 1/,
    },
    { id: "A13", alert: { breakeven: 1.5 }, message: /Field "breakeven" must be a whole number/ },
    { id: "A14", alert: { breakeven_offset: "-1" }, message: /Field "breakeven_offset"/ },
    { id: "A15", alert: { trail_trigger: "1,5" }, message: /Field "trail_trigger"/ },
  ];
  for (const r of refused) {
    it(`${r.id} refuses ${JSON.stringify(r.alert)}`, () => {
      const result = read(r.alert);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toMatch(r.message);
    });
  }

  it("A16 no alias: nothing stored, and the fingerprint input is unchanged", () => {
    const result = read({});
    expect(result.ok && result.signal.stops).toBeUndefined();
    if (result.ok) expect(Object.keys(signalToJson(result.signal))).not.toContain("trail");
  });
});

describe("stop settings precedence (trader > alert > recorder)", () => {
  const now = new Date("2026-11-20T15:00:00Z");
  const exits = (
    signal: Partial<Signal>,
    recorder: Record<string, unknown>,
    overrides: Record<string, unknown>,
  ) =>
    plan({
      signal: { ticker: "MNQ1!", action: "buy", ...signal },
      recorder: recorderSettingsSchema.parse({ stopLossTicks: 8, ...recorder }),
      overrides: traderOverridesSchema.parse(overrides),
      multiplier: dec(1),
      position: { netQty: 0 },
      now,
      receivedAt: now,
    }).exits;

  it("A17 the recorder's rules apply when nothing overrides them", () => {
    expect(exits({}, { breakEvenTicks: 8, breakEvenOffsetTicks: 1 }, {}).stops).toEqual({
      trailingStop: false,
      trailTriggerTicks: 0,
      trailStepTicks: 1,
      breakEvenTicks: 8,
      breakEvenOffsetTicks: 1,
    });
  });

  it("A18 the alert beats the recorder, field by field", () => {
    const s = exits(
      { stops: { breakEvenTicks: 4, trailingStop: true } },
      { breakEvenTicks: 8, breakEvenOffsetTicks: 1 },
      {},
    );
    expect(s.stops).toMatchObject({ breakEvenTicks: 4, breakEvenOffsetTicks: 1, trailingStop: true });
  });

  it("A19 the trader beats the alert", () => {
    const s = exits(
      { stops: { breakEvenTicks: 4, trailStepTicks: 2 } },
      {},
      { breakEvenTicks: 12, trailingStop: true },
    );
    expect(s.stops).toMatchObject({ breakEvenTicks: 12, trailStepTicks: 2, trailingStop: true });
  });

  it("A20 nothing that moves the stop: no stop management in the plan", () => {
    expect(exits({}, {}, {}).stops).toBeUndefined();
    expect(exits({ stops: { breakEvenTicks: 0 } }, { breakEvenTicks: 8 }, {}).stops).toBeUndefined();
  });

  it("A21 settings refuse a step under 1 tick and unknown spellings", () => {
    expect(recorderSettingsSchema.safeParse({ trailStepTicks: 0 }).success).toBe(false);
    expect(recorderSettingsSchema.safeParse({ trail_freq: 2 }).success).toBe(false);
    expect(traderOverridesSchema.safeParse({ breakEvenOffsetTicks: -1 }).success).toBe(false);
  });
});
