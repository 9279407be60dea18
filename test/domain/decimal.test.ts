import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  add,
  dec,
  div,
  mul,
  roundToStep,
  stepsIn,
  sub,
  toNum,
  toStr,
  tryDec,
} from "../../src/domain/decimal";

describe("decimal", () => {
  it("parses the shapes TradingView sends", () => {
    expect(toStr(dec("21000.25"))).toBe("21000.25");
    expect(toStr(dec(21000.25))).toBe("21000.25");
    expect(toStr(dec(" 1 "))).toBe("1");
    expect(toStr(dec("-0.5"))).toBe("-0.5");
    expect(toStr(dec(".5"))).toBe("0.5");
    expect(toStr(dec("1e-7"))).toBe("0.0000001");
    expect(toStr(dec(1e21))).toBe("1000000000000000000000");
    expect(tryDec("abc")).toBeUndefined();
    expect(tryDec("")).toBeUndefined();
    expect(tryDec(".")).toBeUndefined();
    expect(tryDec(Number.NaN)).toBeUndefined();
    expect(tryDec({})).toBeUndefined();
  });

  it("adds without float drift", () => {
    let total = dec(0);
    for (let i = 0; i < 10; i++) total = add(total, dec("0.1"));
    expect(toStr(total)).toBe("1");
  });

  it("multiplies P&L exactly (ZN: 1/64 point x $1000)", () => {
    expect(toStr(mul(dec("0.015625"), dec(1000)))).toBe("15.625");
    expect(toStr(mul(sub(dec("21010.25"), dec("21000")), dec(2)))).toBe("20.5");
  });

  it("rounds prices to ticks", () => {
    expect(toStr(roundToStep(dec("21000.13"), dec("0.25")))).toBe("21000.25");
    expect(toStr(roundToStep(dec("21000.12"), dec("0.25")))).toBe("21000");
    expect(toStr(roundToStep(dec("21000.01"), dec("0.25"), "up"))).toBe("21000.25");
    expect(toStr(roundToStep(dec("21000.24"), dec("0.25"), "down"))).toBe("21000");
    expect(stepsIn(dec("-1.3"), dec("0.25"))).toBe(-5);
    expect(stepsIn(dec("-1.3"), dec("0.25"), "down")).toBe(-6);
  });

  it("round-trips through text and numbers", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 8 }), (units, places) => {
        const text = (units / 10 ** places).toFixed(places);
        expect(toNum(dec(text))).toBeCloseTo(Number(text), 6);
        expect(toStr(dec(toStr(dec(text))))).toBe(toStr(dec(text)));
      }),
    );
  });

  it("divides with rounding half away from zero", () => {
    expect(toStr(div(dec(1), dec(3)))).toBe("0.333333333");
    expect(toStr(div(dec(2), dec(3)))).toBe("0.666666667");
    expect(toStr(div(dec(-2), dec(3)))).toBe("-0.666666667");
    expect(() => div(dec(1), dec(0))).toThrow();
  });
});
