/**
 * Session flatten, pure (src/domain/session-end.ts): when the recorder's trading hours last closed. One
 * row per case, then properties over random windows, zones and instants.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withinTradingHours } from "../../src/domain/hours";
import { lastSessionClose } from "../../src/domain/session-end";
import { DAYS, type TradingWindow } from "../../src/domain/settings";
import { wallClockInstants } from "../../src/domain/trading-day";

const CHI = "America/Chicago";
const day = [{ start: "08:30", end: "15:00" }];
const iso = (d: Date | undefined) => d?.toISOString();

describe("last session close", () => {
  it.each([
    ["S01 just after today's close", day, "2026-11-20T21:00:30Z", "2026-11-20T21:00:00.000Z"],
    ["S02 exactly at the close", day, "2026-11-20T21:00:00Z", "2026-11-20T21:00:00.000Z"],
    ["S03 inside the window: yesterday's close", day, "2026-11-20T20:59:00Z", "2026-11-19T21:00:00.000Z"],
    ["S04 summer time (CDT, UTC-5)", day, "2026-07-20T20:30:00Z", "2026-07-20T20:00:00.000Z"],
    [
      "S05 the day after spring forward (8 March 2026)",
      day,
      "2026-03-08T23:00:00Z",
      "2026-03-08T20:00:00.000Z",
    ],
    ["S06 the day of fall back (1 November 2026)", day, "2026-11-01T22:00:00Z", "2026-11-01T21:00:00.000Z"],
    [
      "S07 weekdays only: Monday morning looks back to Friday",
      [{ start: "08:30", end: "15:00", days: ["mon", "tue", "wed", "thu", "fri"] }],
      "2026-11-23T14:00:00Z",
      "2026-11-20T21:00:00.000Z",
    ],
    [
      "S08 overnight window: closes the next morning",
      [{ start: "18:00", end: "09:30", days: ["sun", "mon", "tue", "wed", "thu"] }],
      "2026-11-20T16:00:00Z",
      "2026-11-20T15:30:00.000Z",
    ],
    [
      "S09 overnight window started Thursday: no close on Saturday morning",
      [{ start: "18:00", end: "09:30", days: ["sun", "mon", "tue", "wed", "thu"] }],
      "2026-11-21T18:00:00Z",
      "2026-11-20T15:30:00.000Z",
    ],
    [
      "S10 adjacent windows: the hand-over is not a close",
      [
        { start: "08:30", end: "12:00" },
        { start: "12:00", end: "15:00" },
      ],
      "2026-11-20T20:00:00Z",
      "2026-11-19T21:00:00.000Z",
    ],
    ["S11 no windows: no close", [], "2026-11-20T21:00:30Z", undefined],
  ] as [string, TradingWindow[], string, string | undefined][])("%s", (_name, windows, at, want) => {
    expect(iso(lastSessionClose(new Date(at), windows, CHI))).toBe(want);
  });

  const LON = "Europe/London";
  it.each([
    [
      // London jumps 01:00 GMT -> 02:00 BST on 29 March 2026: 01:01 never happens, trading stops at the jump.
      "S12 an end the clocks jump past closes at the jump (P40, seed -327758666)",
      [{ start: "02:00", end: "01:01", days: ["sat"] }],
      "2026-03-29T01:01:00Z",
      "2026-03-29T01:00:00.000Z",
    ],
    [
      "S13 a window the jump skips whole never opened, so never closed",
      [{ start: "01:10", end: "01:20" }],
      "2026-03-29T03:00:00Z",
      "2026-03-28T01:20:00.000Z",
    ],
    [
      // London goes back 02:00 BST -> 01:00 GMT on 25 October 2026: 01:00-01:59 happens twice.
      "S14 an end the clocks pass twice closes twice: the first",
      [{ start: "00:30", end: "01:30" }],
      "2026-10-25T00:45:00Z",
      "2026-10-25T00:30:00.000Z",
    ],
    [
      "S15 an end the clocks pass twice closes twice: the second",
      [{ start: "00:30", end: "01:30" }],
      "2026-10-25T02:00:00Z",
      "2026-10-25T01:30:00.000Z",
    ],
  ] as [string, TradingWindow[], string, string | undefined][])("%s", (_name, windows, at, want) => {
    const close = lastSessionClose(new Date(at), windows, LON);
    expect(iso(close)).toBe(want);
    if (close) {
      expect(withinTradingHours(close, windows, LON)).toBe(false);
      expect(withinTradingHours(new Date(close.getTime() - 60_000), windows, LON)).toBe(true);
    }
  });
});

describe("wall clock instants", () => {
  const at = (year: number, month: number, day: number, hhmm: string, tz: string) =>
    wallClockInstants({ year, month, day }, Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3)), tz).map(
      (d) => d.toISOString(),
    );
  it("W01 an ordinary time happens once", () => {
    expect(at(2026, 11, 20, "15:00", CHI)).toEqual(["2026-11-20T21:00:00.000Z"]);
  });
  it("W02 a time the clocks jump past is the jump (Chicago 02:30 on 8 March 2026)", () => {
    expect(at(2026, 3, 8, "02:30", CHI)).toEqual(["2026-03-08T08:00:00.000Z"]);
  });
  it("W03 a time the clocks pass twice happens twice (Chicago 01:30 on 1 November 2026)", () => {
    expect(at(2026, 11, 1, "01:30", CHI)).toEqual(["2026-11-01T06:30:00.000Z", "2026-11-01T07:30:00.000Z"]);
  });
  it("W04 a zone without daylight saving", () => {
    expect(at(2026, 3, 8, "02:30", "Asia/Tokyo")).toEqual(["2026-03-07T17:30:00.000Z"]);
  });
});

const hhmm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
const windowArb: fc.Arbitrary<TradingWindow> = fc
  .record({
    start: hhmm,
    end: hhmm,
    days: fc.option(fc.subarray([...DAYS], { minLength: 1 }), { nil: undefined }),
  })
  .filter((w) => w.start !== w.end)
  .map((w) => (w.days ? w : { start: w.start, end: w.end }));
const zone = fc.constantFrom(CHI, "America/New_York", "Europe/London", "Asia/Tokyo", "UTC");
// Minutes from 2026-01-01, across both daylight-saving changes.
const instant = fc
  .integer({ min: 0, max: 365 * 24 * 60 })
  .map((m) => new Date(Date.UTC(2026, 0, 1) + m * 60_000));

describe("last session close (properties)", () => {
  it("P40 the close is in the past, trading is closed at it and was open the minute before", () => {
    fc.assert(
      fc.property(fc.array(windowArb, { minLength: 1, maxLength: 3 }), zone, instant, (windows, tz, at) => {
        const close = lastSessionClose(at, windows, tz);
        if (!close) return;
        expect(close.getTime()).toBeLessThanOrEqual(at.getTime());
        expect(withinTradingHours(close, windows, tz)).toBe(false);
        expect(withinTradingHours(new Date(close.getTime() - 60_000), windows, tz)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it("P41 no close is skipped: between a close and the next instant it reports, trading never closes", () => {
    fc.assert(
      fc.property(
        fc.array(windowArb, { minLength: 1, maxLength: 3 }),
        zone,
        instant,
        fc.integer({ min: 1, max: 2 * 24 * 60 }),
        (windows, tz, at, minutes) => {
          const first = lastSessionClose(at, windows, tz);
          const later = new Date(at.getTime() + minutes * 60_000);
          const second = lastSessionClose(later, windows, tz);
          if (!first || !second) return;
          expect(second.getTime()).toBeGreaterThanOrEqual(first.getTime());
          // Minute by minute from the first close to `later`: the last open -> closed step is `second`.
          let open = false;
          let last = first.getTime();
          for (let t = first.getTime(); t <= later.getTime(); t += 60_000) {
            const now = withinTradingHours(new Date(t), windows, tz);
            if (open && !now) last = t;
            open = now;
          }
          expect(second.getTime()).toBe(last);
        },
      ),
      { numRuns: 200 },
    );
  });
});
