/** Trading days: 17:00 Chicago rolls, daylight saving, weekends folded into Monday, other rolls. */
import { describe, expect, it } from "vitest";
import {
  dayEnd,
  dayStart,
  localClock,
  nextBoundary,
  nextDay,
  previousDay,
  tradingDay,
  validRule,
} from "../../src/domain/trading-day";

const CHI = { roll: "17:00", timeZone: "America/Chicago" };
const at = (iso: string) => new Date(iso);

describe("trading day", () => {
  it("D01 a Chicago weekday rolls at 17:00 local, not at midnight", () => {
    // 2026-01-13 is a Tuesday; CST = UTC-6, so 17:00 local is 23:00Z.
    expect(tradingDay(at("2026-01-13T22:59:59Z"), CHI)).toBe("2026-01-13");
    expect(tradingDay(at("2026-01-13T23:00:00Z"), CHI)).toBe("2026-01-14");
    expect(tradingDay(at("2026-01-14T05:59:00Z"), CHI)).toBe("2026-01-14"); // 23:59 local on the 13th
    expect(tradingDay(at("2026-01-14T06:00:00Z"), CHI)).toBe("2026-01-14"); // local midnight changes nothing
  });

  it("D02 daylight saving moves the roll to 22:00Z in summer and back in November", () => {
    // DST starts Sunday 2026-03-08; Monday 2026-03-09 17:00 CDT = 22:00Z.
    expect(tradingDay(at("2026-03-09T21:59:00Z"), CHI)).toBe("2026-03-09");
    expect(tradingDay(at("2026-03-09T22:00:00Z"), CHI)).toBe("2026-03-10");
    expect(dayEnd("2026-03-09", CHI).toISOString()).toBe("2026-03-09T22:00:00.000Z");
    // Monday's day began on Friday 2026-03-06 17:00 CST (23:00Z), before the change.
    expect(dayStart("2026-03-09", CHI).toISOString()).toBe("2026-03-06T23:00:00.000Z");
    // DST ends Sunday 2026-11-01: Monday's roll is 23:00Z again, Friday's was 22:00Z.
    expect(dayEnd("2026-11-02", CHI).toISOString()).toBe("2026-11-02T23:00:00.000Z");
    expect(dayStart("2026-11-02", CHI).toISOString()).toBe("2026-10-30T22:00:00.000Z");
  });

  it("D03 Friday evening, Saturday and Sunday belong to Monday", () => {
    expect(tradingDay(at("2026-01-16T22:59:00Z"), CHI)).toBe("2026-01-16"); // Fri 16:59
    expect(tradingDay(at("2026-01-16T23:00:00Z"), CHI)).toBe("2026-01-19"); // Fri 17:00
    expect(tradingDay(at("2026-01-17T18:00:00Z"), CHI)).toBe("2026-01-19"); // Saturday
    expect(tradingDay(at("2026-01-18T23:30:00Z"), CHI)).toBe("2026-01-19"); // Sunday evening open
    expect(previousDay("2026-01-19")).toBe("2026-01-16");
    expect(nextDay("2026-01-16")).toBe("2026-01-19");
    expect(nextBoundary(at("2026-01-17T12:00:00Z"), CHI).toISOString()).toBe("2026-01-19T23:00:00.000Z");
  });

  it("D04 a day's end is the next day's start, and every instant falls inside its own day", () => {
    for (
      let ms = Date.parse("2026-03-01T00:00:00Z");
      ms < Date.parse("2026-03-20T00:00:00Z");
      ms += 37 * 60_000
    ) {
      const day = tradingDay(new Date(ms), CHI);
      expect(dayStart(day, CHI).getTime()).toBeLessThanOrEqual(ms);
      expect(dayEnd(day, CHI).getTime()).toBeGreaterThan(ms);
      expect(dayStart(nextDay(day), CHI).getTime()).toBe(dayEnd(day, CHI).getTime());
    }
  });

  it("D05 a midnight roll gives calendar days; other zones work", () => {
    const utc = { roll: "00:00", timeZone: "UTC" };
    expect(tradingDay(at("2026-01-13T00:00:00Z"), utc)).toBe("2026-01-13");
    expect(tradingDay(at("2026-01-13T23:59:00Z"), utc)).toBe("2026-01-13");
    expect(dayEnd("2026-01-13", utc).toISOString()).toBe("2026-01-14T00:00:00.000Z");
    const ny = { roll: "18:00", timeZone: "America/New_York" };
    expect(tradingDay(at("2026-07-07T21:59:00Z"), ny)).toBe("2026-07-07"); // 17:59 EDT
    expect(tradingDay(at("2026-07-07T22:00:00Z"), ny)).toBe("2026-07-08");
  });

  it("D06 local clock and rule validation", () => {
    expect(localClock(at("2026-03-09T15:42:10Z"), "America/Chicago")).toBe("10:42");
    expect(validRule(CHI)).toBe(true);
    expect(validRule({ roll: "25:00", timeZone: "America/Chicago" })).toBe(false);
    expect(validRule({ roll: "17:00", timeZone: "Mars/Olympus" })).toBe(false);
  });
});
