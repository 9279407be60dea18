/**
 * Entry filters: which new exposure a trader takes from a signal. They act on entries and adds only;
 * exits, closes, flats, cancels and the closing half of a reverse always pass untouched.
 *
 * | rule (setting)              | refuses the entry when                                       | decision              |
 * |-----------------------------|--------------------------------------------------------------|-----------------------|
 * | inverse                     | (never refuses) buy <-> sell, long <-> short before planning | -                     |
 * | direction "long" / "short"  | the entry is on the other side; a reverse keeps its close    | skipped_direction     |
 * | addEvery N                  | an add is not the Nth, 2Nth... same-direction signal         | skipped_add_every     |
 * | cooldownSeconds             | the last entry's signal arrived less than that ago           | skipped_cooldown      |
 * | maxEntriesPerDay            | that many entries were made this trading day                 | skipped_max_entries   |
 *
 * Ignoring same-direction signals while in a position is `avgDown: false` (the planner's
 * ignored_same_direction); `addEvery` thins the adds `avgDown: true` allows.
 *
 * Pure: the counters come in as an `EntryHistory` the executor reads from the trader's executions.
 */
import type { Dec } from "./decimal";
import type { RecorderSettings } from "./settings";
import { runsWhateverItsAge, type Signal } from "./signal";
import type { Side } from "./venue/types";

/** What the trader did before this signal, read from its executions and orders. */
export interface EntryHistory {
  /** When the signal of the trader's last entry that filled (open, add, reverse) arrived. */
  lastEntryAt?: Date;
  /** Entries that filled in the current trading day. */
  entriesToday: number;
  /** Same-direction signals since the current position's opening signal (that one not counted). */
  sameDirectionSignals: number;
}

/** The plan shape the filters need (the planner's Plan, without importing it back). */
interface FilterablePlan {
  decision: string;
  intents: ({ kind: string; side?: Side } & Record<string, unknown>)[];
}

export interface FilterRefusal {
  decision: "skipped_direction" | "skipped_add_every" | "skipped_cooldown" | "skipped_max_entries";
  reason: string;
}

const INVERSE_SIDE = { long: "short", short: "long", flat: "flat" } as const;

/**
 * The signal a trader with `inverse` trades: buy <-> sell, long <-> short (sentiment and the strategy's
 * market positions, and the signed position size, so the position-sync guard compares like with like).
 * Exits, closes, flats, cancels, adds and every exit distance are unchanged.
 */
export function invertSignal(s: Signal): Signal {
  const out: Signal = { ...s };
  if (s.action === "buy") out.action = "sell";
  else if (s.action === "sell") out.action = "buy";
  if (s.sentiment) out.sentiment = INVERSE_SIDE[s.sentiment];
  if (s.marketPosition) out.marketPosition = INVERSE_SIDE[s.marketPosition];
  if (s.prevMarketPosition) out.prevMarketPosition = INVERSE_SIDE[s.prevMarketPosition];
  if (s.positionSize !== undefined) out.positionSize = -s.positionSize as Dec;
  return out;
}

/** The side a signal would enter on, or undefined for exits, cancels, partial exits and a bare add. */
export function entrySide(s: Signal): Side | undefined {
  if (runsWhateverItsAge(s)) return undefined;
  if (s.action === "buy" || s.action === "sell") return s.action;
  if (s.sentiment === "long") return "buy";
  if (s.sentiment === "short") return "sell";
  return undefined;
}

/**
 * How many of `signals` (received while in a position on `side`, after its opening signal) are
 * same-direction signals, as the trader sees them (after `inverse`). A bare "add" always is one.
 */
export function countSameDirection(signals: readonly Signal[], side: Side, inverse: boolean): number {
  let n = 0;
  for (const raw of signals) {
    const s = inverse ? invertSignal(raw) : raw;
    const entering = entrySide(s);
    if (entering === side || (entering === undefined && s.action === "add" && !runsWhateverItsAge(s))) n++;
  }
  return n;
}

const LONG_SHORT = { buy: "long", sell: "short" } as const;

/**
 * The first filter that refuses this plan's new exposure, or undefined. Plans without an entry pass.
 * `receivedAt` is the signal's arrival: cooldowns are measured between signal arrivals, so a signal
 * resumed after a restart is judged by when it came, not by when it ran.
 */
export function entryRefusal(
  p: FilterablePlan,
  settings: Pick<RecorderSettings, "direction" | "addEvery" | "cooldownSeconds" | "maxEntriesPerDay">,
  history: EntryHistory | undefined,
  receivedAt: Date,
): FilterRefusal | undefined {
  const entry = p.intents.find((i) => i.kind === "entry");
  if (!entry?.side) return undefined;
  const side = entry.side;
  if (settings.direction !== "both" && LONG_SHORT[side] !== settings.direction) {
    return {
      decision: "skipped_direction",
      reason: `this follower trades ${settings.direction} only; a ${LONG_SHORT[side]} entry is never opened`,
    };
  }
  if (!history) return undefined;
  if (p.decision === "added" && settings.addEvery > 1) {
    const nth = history.sameDirectionSignals + 1;
    if (nth % settings.addEvery !== 0) {
      const next = Math.ceil(nth / settings.addEvery) * settings.addEvery;
      return {
        decision: "skipped_add_every",
        reason: `same-direction signal ${nth} in this position; adds only every ${settings.addEvery} (next add at signal ${next})`,
      };
    }
  }
  if (settings.cooldownSeconds > 0 && history.lastEntryAt) {
    const since = receivedAt.getTime() - history.lastEntryAt.getTime();
    if (since < settings.cooldownSeconds * 1000) {
      return {
        decision: "skipped_cooldown",
        reason: `cooldown: the last entry was ${Math.max(0, Math.floor(since / 1000))} s ago (cooldown ${settings.cooldownSeconds} s)`,
      };
    }
  }
  if (settings.maxEntriesPerDay !== undefined && history.entriesToday >= settings.maxEntriesPerDay) {
    return {
      decision: "skipped_max_entries",
      reason: `${history.entriesToday} entries already this trading day (max ${settings.maxEntriesPerDay})`,
    };
  }
  return undefined;
}

/** Whether any filter needs the trader's history (so the executor reads it only then). */
export const needsHistory = (
  s: Pick<RecorderSettings, "addEvery" | "cooldownSeconds" | "maxEntriesPerDay">,
) => s.addEvery > 1 || s.cooldownSeconds > 0 || s.maxEntriesPerDay !== undefined;
