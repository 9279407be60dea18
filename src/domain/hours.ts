/**
 * Trading-hours windows, evaluated in the recorder's time zone (daylight saving handled by Intl).
 * A window whose end is before its start runs overnight (e.g. 18:00-09:30); `days` name the day the
 * window starts on.
 */
import { DAYS, type TradingWindow } from "./settings";

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(at: Date, timeZone: string): { day: number; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  const day = DAYS.indexOf(String(parts.weekday).toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  return { day, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** True when `at` falls inside any window, or when there are no windows at all. */
export function withinTradingHours(at: Date, windows: TradingWindow[], timeZone: string): boolean {
  if (windows.length === 0) return true;
  const { day, minutes } = localParts(at, timeZone);
  return windows.some((w) => {
    const start = toMinutes(w.start);
    const end = toMinutes(w.end);
    const days = w.days?.map((d) => DAYS.indexOf(d));
    const startsOn = (d: number) => !days || days.includes(d);
    if (start <= end) return startsOn(day) && minutes >= start && minutes < end;
    // Overnight: the evening part belongs to today's window, the morning part to yesterday's.
    return (startsOn(day) && minutes >= start) || (startsOn((day + 6) % 7) && minutes < end);
  });
}
