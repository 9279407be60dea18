/**
 * Which trading day each account is in: the relay's roll (TRADING_DAY_ROLL / TRADING_DAY_TIME_ZONE) or the
 * account's own override, cached until the day ends so the entry gate costs a map lookup. Also notices
 * when a roll in use has passed, for the daily summary.
 */
import { type DayRule, dayEnd, dayStart, tradingDay, validRule } from "../domain/trading-day";
import type { AccountLossSettings } from "./repo";

export class TradingDays {
  private readonly valid = new Map<string, boolean>();
  private readonly days = new Map<string, { day: string; from: number; until: number }>();
  private readonly lastSeen = new Map<string, string>();

  constructor(
    private readonly defaults: DayRule,
    private readonly settings: () => Map<string, AccountLossSettings>,
    private readonly now: () => Date,
  ) {}

  /** The account's rule; an invalid override falls back to the relay's. */
  ruleOf(accountId: string): DayRule {
    const s = this.settings().get(accountId);
    const d = this.defaults;
    const rule = { roll: s?.tradingDayRoll ?? d.roll, timeZone: s?.tradingDayTimeZone ?? d.timeZone };
    const key = keyOf(rule);
    let valid = this.valid.get(key);
    if (valid === undefined) {
      valid = validRule(rule);
      this.valid.set(key, valid);
    }
    return valid ? rule : d;
  }

  dayOf(accountId: string): string {
    return this.dayFor(this.ruleOf(accountId));
  }

  dayFor(rule: DayRule): string {
    const key = keyOf(rule);
    const t = this.now().getTime();
    const cached = this.days.get(key);
    if (cached && t >= cached.from && t < cached.until) return cached.day;
    const day = tradingDay(new Date(t), rule);
    this.days.set(key, { day, from: dayStart(day, rule).getTime(), until: dayEnd(day, rule).getTime() });
    return day;
  }

  /** Every rule in use among these accounts, plus the relay's own. */
  rules(accountIds: string[]): DayRule[] {
    const out = new Map<string, DayRule>([[keyOf(this.defaults), this.defaults]]);
    for (const id of accountIds) {
      const r = this.ruleOf(id);
      out.set(keyOf(r), r);
    }
    return [...out.values()];
  }

  /** Rules whose day changed since the last call, with the day that ended (first call: none). */
  rolled(accountIds: string[]): { rule: DayRule; endedDay: string }[] {
    const out: { rule: DayRule; endedDay: string }[] = [];
    for (const rule of this.rules(accountIds)) {
      const day = this.dayFor(rule);
      const previous = this.lastSeen.get(keyOf(rule));
      this.lastSeen.set(keyOf(rule), day);
      if (previous && previous !== day) out.push({ rule, endedDay: previous });
    }
    return out;
  }

  sameRule(a: DayRule, b: DayRule): boolean {
    return keyOf(a) === keyOf(b);
  }
}

const keyOf = (r: DayRule) => `${r.roll}|${r.timeZone}`;
