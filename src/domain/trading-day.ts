/**
 * Trading days. Futures days roll at a local time (17:00 America/Chicago by default), not at midnight:
 * with an evening roll the session from Monday 17:00 to Tuesday 17:00 is Tuesday's trading day. Time
 * zones and daylight saving are handled by Intl. Weekends fold into Monday: the session that opens on
 * Sunday evening (and anything after Friday's roll) belongs to Monday. Exchange holidays are not modelled.
 *
 * A roll before noon (e.g. "00:00") labels a session by the date it starts on instead, so a midnight roll
 * gives calendar days.
 *
 * @example
 *   const rule = { roll: "17:00", timeZone: "America/Chicago" };
 *   tradingDay(new Date("2026-03-09T22:00:00Z"), rule) // "2026-03-10" (17:00 CDT on Monday)
 *   dayEnd("2026-03-09", rule)                         // 2026-03-09T22:00:00.000Z
 */

export interface DayRule {
  /** Local time of the roll, "HH:MM" (24 h). */
  roll: string;
  /** IANA time zone of the roll, e.g. "America/Chicago". */
  timeZone: string;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface Local {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(ms: number, timeZone: string): Local {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return {
    year: out.year ?? 1970,
    month: out.month ?? 1,
    day: out.day ?? 1,
    hour: out.hour ?? 0,
    minute: out.minute ?? 0,
    second: out.second ?? 0,
  };
}

/** Offset of the zone at an instant, in ms (local wall clock = UTC + offset). */
function offsetAt(ms: number, timeZone: string): number {
  const l = localParts(ms, timeZone);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a local wall-clock time occurs in the zone: the first of two on the night clocks go back,
 * the jump itself on the night they skip it (wallClockInstants).
 */
export function zonedInstant(
  date: { year: number; month: number; day: number },
  minutes: number,
  timeZone: string,
): Date {
  return wallClockInstants(date, minutes, timeZone)[0];
}

/**
 * Every instant the zone's wall clock reads `minutes` on `date`: two on the night clocks go back, none
 * when clocks jump past it, and then the instant of the jump (the moment that time has passed).
 */
export function wallClockInstants(
  date: { year: number; month: number; day: number },
  minutes: number,
  timeZone: string,
): [Date, ...Date[]] {
  const naive = Date.UTC(date.year, date.month - 1, date.day, 0, minutes);
  // Offsets a day and a half either side: clocks change at most once in that span.
  const offsets = [
    ...new Set([offsetAt(naive - 129_600_000, timeZone), offsetAt(naive + 129_600_000, timeZone)]),
  ];
  const hits = offsets
    .map((o) => naive - o)
    .filter((t) => t + offsetAt(t, timeZone) === naive)
    .sort((a, b) => a - b);
  const [first, ...more] = hits;
  if (first !== undefined) return [new Date(first), ...more.map((t) => new Date(t))];
  // Skipped: the first second whose wall clock is past `minutes`.
  let lo = naive - Math.max(...offsets);
  let hi = naive - Math.min(...offsets);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (mid + offsetAt(mid, timeZone) >= naive) hi = mid;
    else lo = mid;
  }
  return [new Date(hi)];
}

export function rollMinutes(roll: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(roll);
  if (!m) throw new RangeError(`bad roll time "${roll}": use HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

const label = (utcMidnight: number) => new Date(utcMidnight).toISOString().slice(0, 10);

function parseLabel(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new RangeError(`bad trading day "${day}": use YYYY-MM-DD`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** Saturday and Sunday fold into the following Monday. */
function weekday(utcMidnight: number): number {
  const dow = new Date(utcMidnight).getUTCDay();
  if (dow === 6) return utcMidnight + 2 * DAY_MS;
  if (dow === 0) return utcMidnight + DAY_MS;
  return utcMidnight;
}

/** The trading day ("YYYY-MM-DD") that `at` belongs to. */
export function tradingDay(at: Date, rule: DayRule): string {
  const roll = rollMinutes(rule.roll);
  const l = localParts(at.getTime(), rule.timeZone);
  const minutes = l.hour * 60 + l.minute;
  let d = Date.UTC(l.year, l.month - 1, l.day);
  if (roll >= 12 * 60) {
    if (minutes >= roll) d += DAY_MS;
  } else if (minutes < roll) d -= DAY_MS;
  return label(weekday(d));
}

/** The instant the trading day ends (the roll that closes it): the next day starts exactly then. */
export function dayEnd(day: string, rule: DayRule): Date {
  const roll = rollMinutes(rule.roll);
  const d = parseLabel(day);
  // An evening roll closes the day on its own date; a morning roll closes it the next morning.
  const closeDate = new Date(roll >= 12 * 60 ? d : d + DAY_MS);
  return zonedInstant(
    { year: closeDate.getUTCFullYear(), month: closeDate.getUTCMonth() + 1, day: closeDate.getUTCDate() },
    roll,
    rule.timeZone,
  );
}

/** The trading day before `day` (Monday's previous day is Friday). */
export function previousDay(day: string): string {
  let d = parseLabel(day) - DAY_MS;
  while ([0, 6].includes(new Date(d).getUTCDay())) d -= DAY_MS;
  return label(d);
}

/** The trading day after `day` (Friday's next day is Monday). */
export function nextDay(day: string): string {
  return label(weekday(parseLabel(day) + DAY_MS));
}

/** The instant the trading day starts: the end of the previous one. */
export function dayStart(day: string, rule: DayRule): Date {
  return dayEnd(previousDay(day), rule);
}

/** The next roll after `at`: when the trading day containing `at` ends. */
export function nextBoundary(at: Date, rule: DayRule): Date {
  return dayEnd(tradingDay(at, rule), rule);
}

/** Local "HH:MM" of an instant in the zone, for messages ("limit hit at 10:42"). */
export function localClock(at: Date, timeZone: string): string {
  const l = localParts(at.getTime(), timeZone);
  return `${String(l.hour).padStart(2, "0")}:${String(l.minute).padStart(2, "0")}`;
}

/** True when the rule's roll and zone are valid. */
export function validRule(rule: DayRule): boolean {
  try {
    rollMinutes(rule.roll);
    new Intl.DateTimeFormat("en-US", { timeZone: rule.timeZone });
    return true;
  } catch {
    return false;
  }
}
