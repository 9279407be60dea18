/**
 * Session flatten (issue 14), pure: when did the recorder's trading hours last close? A window's end
 * counts only when trading is then closed: the end of 08:30-12:00 followed by 12:00-15:00 is not a close,
 * 15:00 is. Evaluated in the recorder's time zone (daylight saving by Intl), `days` naming the day a window
 * starts on, an overnight window (end before start) ending the next day, as in hours.ts.
 *
 * @example lastSessionClose(new Date("2026-11-20T21:05:00Z"), [{ start: "08:30", end: "15:00" }], "America/Chicago")
 *   // 2026-11-20T21:00:00Z (15:00 CST that Friday)
 */
import { withinTradingHours } from "./hours";
import { DAYS, type TradingWindow } from "./settings";
import { wallClockInstants } from "./trading-day";

const DAY_MS = 86_400_000;
/** How far back a close is looked for: a window on one weekday closes at least once a week. */
const LOOKBACK_DAYS = 8;

const dates = new Map<string, Intl.DateTimeFormat>();

function localDate(at: Date, timeZone: string): number {
  let f = dates.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dates.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day));
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function ymd(utcMidnight: number) {
  const d = new Date(utcMidnight);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The latest instant at or before `at` when the trading windows closed, or undefined (no windows). */
export function lastSessionClose(at: Date, windows: TradingWindow[], timeZone: string): Date | undefined {
  const today = localDate(at, timeZone);
  let best: number | undefined;
  for (let back = 0; back <= LOOKBACK_DAYS; back++) {
    const startDay = today - back * DAY_MS;
    const weekday = DAYS[new Date(startDay).getUTCDay()];
    for (const w of windows) {
      const start = minutesOf(w.start);
      const end = minutesOf(w.end);
      if (start === end || (w.days && weekday && !w.days.includes(weekday))) continue;
      const endDay = end < start ? startDay + DAY_MS : startDay;
      // The night clocks go back, an end time comes twice; the night they jump past it, it is the jump.
      for (const instant of wallClockInstants(ymd(endDay), end, timeZone)) {
        const close = instant.getTime();
        if (close > at.getTime() || (best !== undefined && close <= best)) continue;
        // A close is open -> closed: a hand-over to another window is not one, nor a window the jump skipped.
        if (withinTradingHours(instant, windows, timeZone)) continue;
        if (!withinTradingHours(new Date(close - 60_000), windows, timeZone)) continue;
        best = close;
      }
    }
  }
  return best === undefined ? undefined : new Date(best);
}
