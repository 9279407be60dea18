/**
 * The alert-message builder against the real intake parser: whatever the builder produces, once TradingView
 * fills in its placeholders, is accepted by normalizeSignal and means what the builder's choices said.
 * Also the recorder form's mapping from typed values to the API's JSON.
 */
import { describe, expect, it } from "vitest";
import {
  type AlertOptions,
  buildAlert,
  check,
  DEFAULT_ALERT,
  FIXED_ACTIONS,
  readAlertOptions,
  SL_UNITS,
  samples,
  substitute,
  TP_UNITS,
} from "../../src/console/alert-builder";
import {
  changed,
  compactRows,
  controlOf,
  formFromRecorder,
  settingsBody,
} from "../../src/console/pages/recorder-form";
import { type Dec, toStr } from "../../src/domain/decimal";
import { normalizeSignal } from "../../src/domain/signal";

const str = (d: Dec | undefined) => (d === undefined ? undefined : toStr(d));
const NOW = new Date("2026-12-04T20:00:00.000Z");
const parse = (message: string, values: Record<string, string> = {}) =>
  normalizeSignal(JSON.parse(substitute(message, { ...samples(NOW), ...values })), { maxQuantity: 50 });
const build = (o: Partial<AlertOptions>) => buildAlert({ ...DEFAULT_ALERT, ...o });

describe("alert-message builder", () => {
  it("AB01 the default strategy message uses TradingView's placeholders and, filled in, is accepted as the strategy's order", () => {
    const { message, problems } = build({});
    expect(problems).toEqual({});
    for (const p of [
      "{{ticker}}",
      "{{strategy.order.action}}",
      "{{strategy.order.contracts}}",
      "{{close}}",
      "{{timenow}}",
      "{{strategy.order.id}}",
      "{{strategy.market_position}}",
      "{{strategy.prev_market_position}}",
      "{{strategy.position_size}}",
    ])
      expect(message).toContain(p);
    const r = parse(message);
    if (!r.ok) throw new Error(r.message);
    expect(r.signal).toMatchObject({
      ticker: "MNQ1!",
      action: "buy",
      sentiment: "long",
      prevMarketPosition: "flat",
      comment: "Long",
    });
    expect(str(r.signal.quantity)).toBe("1");
    expect(r.signal.time?.toISOString()).toBe(NOW.toISOString());
    expect(check(message, NOW)).toEqual({ ok: true });
  });

  it("AB02 a strategy's exit (sell to flat) reads as an exit, never a reversal: the sentiment is always sent", () => {
    const { message } = build({ position: false, price: false, time: false });
    const r = parse(message, { "strategy.order.action": "sell", "strategy.market_position": "flat" });
    if (!r.ok) throw new Error(r.message);
    expect(r.signal.action).toBe("sell");
    expect(r.signal.sentiment).toBe("flat");
  });

  it("AB03 every indicator action, with every override filled in, is accepted and carries the overrides", () => {
    for (const action of FIXED_ACTIONS) {
      const { message, problems } = build({
        kind: "indicator",
        action,
        quantity: "3",
        alertId: true,
        tp: "12.5",
        tpUnit: "points",
        sl: "8",
        slUnit: "ticks",
        trail: "1",
        trailTrigger: "4",
        trailFreq: "2",
        breakeven: "6",
        breakevenOffset: "1",
        riskDollars: "150",
      });
      expect(problems).toEqual({});
      expect(message).not.toContain("strategy.");
      const r = parse(message);
      if (!r.ok) throw new Error(`${action}: ${r.message}`);
      expect(r.signal.action).toBe(action);
      expect(r.signal.alertId).toBe(`${action} MNQ1! 2026-12-04T20:00:00Z`);
      expect(str(r.signal.quantity)).toBe("3");
      expect(str(r.signal.takeProfit?.points)).toBe("12.5");
      expect(r.signal.stopLoss).toEqual({ ticks: 8 });
      expect(r.signal.stops).toEqual({
        trailingStop: true,
        trailTriggerTicks: 4,
        trailStepTicks: 2,
        breakEvenTicks: 6,
        breakEvenOffsetTicks: 1,
      });
      expect(str(r.signal.riskDollars)).toBe("150");
    }
  });

  it("AB04 every take-profit and stop-loss unit the intake reads, numbers and placeholders alike, is accepted", () => {
    for (const tpUnit of TP_UNITS)
      for (const slUnit of SL_UNITS) {
        const values = tpUnit === "ticks" ? ["10", "{{plot_0}}"] : ["21010.5", "{{plot_1}}"];
        for (const v of values) {
          const { message, problems } = build({
            tpUnit,
            tp: v,
            slUnit,
            sl: slUnit === "ticks" ? "8" : "2.25",
          });
          expect(problems).toEqual({});
          expect(check(message, NOW)).toEqual({ ok: true });
        }
      }
    const pct = parse(
      build({ kind: "indicator", riskPercent: "1.5", tpUnit: "limitPrice", tp: "21010.5" }).message,
    );
    if (!pct.ok) throw new Error(pct.message);
    expect(str(pct.signal.riskPercent)).toBe("1.5");
    expect(str(pct.signal.takeProfit?.price)).toBe("21010.5");
  });

  it("AB05 values the intake would refuse are named and left out; the message still passes", () => {
    const { message, problems } = build({
      quantity: "1,5",
      tp: "-2",
      sl: "2.5",
      slUnit: "ticks",
      trailFreq: "x",
      riskDollars: "100",
      riskPercent: "1",
    });
    expect(Object.keys(problems).sort()).toEqual(["quantity", "riskPercent", "sl", "tp", "trailFreq"]);
    expect(message).not.toMatch(/1,5|-2|2\.5|trail_freq|risk_/);
    // A refused quantity is left out, not replaced by the strategy's: the user sees the problem instead.
    expect(message).not.toContain("quantity");
    expect(check(message, NOW)).toEqual({ ok: true });
  });

  it("AB06 the GET form's options: a submitted form's unticked boxes are off, unknown choices fall back", () => {
    expect(readAlertOptions({})).toEqual(DEFAULT_ALERT);
    const o = readAlertOptions({
      built: "1",
      kind: "indicator",
      action: "nuke",
      tpUnit: "miles",
      price: "on",
    });
    expect(o).toMatchObject({ kind: "indicator", action: "buy", tpUnit: "ticks", price: true, time: false });
    expect(buildAlert(o).message).toBe('{"ticker":"{{ticker}}","action":"buy","price":"{{close}}"}');
  });
});

describe("recorder form mapping", () => {
  it("AB07 typed rows become the API's lists (blank rows dropped, days kept), empty inputs null, and an edit sends only what changed", () => {
    const f = compactRows({
      name: "ES",
      quantity: "2",
      maxContracts: "",
      avgDown: "on",
      discordUserIds: "123456789012345678, 223456789012345678",
      stopUnit: "points",
      stopValue: "4.5",
      tpUnit: "ticks",
      "tp.0.distance": "",
      "tp.0.trim": "",
      "tp.3.distance": "8",
      "tp.3.trim": "50",
      "tp.7.distance": "16",
      "tp.7.trim": "100",
      "tw.2.start": "08:30",
      "tw.2.end": "15:00",
      "tw.2.days": ["mon", "fri"],
      "tw.5.start": "",
      "tw.5.end": "",
      "tw.5.days": [],
    });
    const body = settingsBody(f);
    expect(body).toMatchObject({
      quantity: 2,
      maxContracts: null,
      avgDown: true,
      inverse: false,
      discordUserIds: ["123456789012345678", "223456789012345678"],
      stopLossTicks: null,
      stopLoss: { points: 4.5 },
      takeProfit: [
        { ticks: 8, trimPercent: 50 },
        { ticks: 16, trimPercent: 100 },
      ],
      tradingWindows: [{ start: "08:30", end: "15:00", days: ["mon", "fri"] }],
    });
    // Something not a number goes as typed, for the API to refuse by name.
    expect(settingsBody({ quantity: "two" }).quantity).toBe("two");

    const stored = formFromRecorder({ name: "ES", ...body, stopLoss: { points: 4.5 }, stopLossTicks: 0 });
    const again = settingsBody(compactRows(stored));
    expect(changed(again, body)).toEqual({});
    expect(changed(again, { ...body, quantity: null })).toEqual({ quantity: null });
  });

  it("AB08 the API's field paths land on the control that holds them", () => {
    expect(controlOf("takeProfit.1.trimPercent")).toBe("tp.1");
    expect(controlOf("takeProfit")).toBe("takeProfit");
    expect(controlOf("tradingWindows.0.start")).toBe("tw.0");
    expect(controlOf("stopLoss")).toBe("stop");
    expect(controlOf("stopLossTicks")).toBe("stop");
    expect(controlOf("quantity")).toBe("quantity");
    expect(controlOf("discordUserIds.2")).toBe("discordUserIds");
  });
});
