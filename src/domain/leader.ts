/**
 * Leader copying, pure. A leader is a broker sub-account whose own fills (orders the relay did not place:
 * a human at the broker, another tool) are copied to a recorder's followers. Each leader fill becomes one
 * signal carrying the leader's position before and after it; a follower is then moved toward its share
 * of the leader's position after the fill:
 *
 *   share = sign(after) * floor(|after| * multiplier), capped at maxContracts (rounded toward zero)
 *
 * | leader move            | signal            | follower                                             |
 * |------------------------|-------------------|------------------------------------------------------|
 * | flat -> long N         | buy (open)        | opens its share                                      |
 * | long N -> long M > N   | buy (add)         | adds up to its share; never reduces                  |
 * | long N -> long M < N   | sell, long (trim) | closes down to its share; never adds, never crosses 0 |
 * | -> flat                | exit              | closes everything                                    |
 * | long -> short          | sell (reverse)    | closes, then opens its short share                   |
 *
 * Moving to a share (rather than replaying the fill's size) makes a signal idempotent: a burst of
 * partial fills of one leader order, each a signal, leaves the follower at the last share whatever the
 * order they are planned in, and a follower that missed a signal catches up on the next one.
 */
import { type Dec, dec, SCALE } from "./decimal";
import { withinTradingHours } from "./hours";
import type { Decision, ExitSpec, Intent, Plan } from "./planner";
import type { RecorderSettings } from "./settings";
import type { Signal } from "./signal";
import type { Side } from "./venue/types";

/** The leader's own position in the contract (signed contracts) before and after one fill. */
export interface LeaderMove {
  before: number;
  after: number;
}

export type LeaderMoveKind = "open" | "add" | "trim" | "exit" | "reverse";

/** What the leader did, or undefined when its position did not change. */
export function moveKind(move: LeaderMove): LeaderMoveKind | undefined {
  const { before, after } = move;
  if (before === after) return undefined;
  if (after === 0) return "exit";
  if (before === 0) return "open";
  if (Math.sign(before) !== Math.sign(after)) return "reverse";
  return Math.abs(after) > Math.abs(before) ? "add" : "trim";
}

/** A leader move read back from storage, or undefined when it is not one. */
export function parseLeaderMove(value: unknown): LeaderMove | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { before, after } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(before) || !Number.isSafeInteger(after)) return undefined;
  return { before: before as number, after: after as number };
}

/**
 * The signal for one leader fill. `fillKey` is the fill's identity at its venue (see orders/fills.ts
 * `fillKey`): the alert id is derived from it, so the same fill delivered again is a duplicate.
 */
export function leaderSignal(o: {
  move: LeaderMove;
  contract: string;
  at: Date;
  fillKey: string;
  price?: Dec;
}): Signal | undefined {
  const kind = moveKind(o.move);
  if (!kind) return undefined;
  const { before, after } = o.move;
  const qty = Math.abs(after - before);
  const signal: Signal = {
    ticker: o.contract.toUpperCase(),
    action: kind === "exit" ? "exit" : after - before > 0 ? "buy" : "sell",
    quantity: dec(BigInt(qty)),
    time: o.at,
    alertId: leaderAlertId(o.fillKey),
    prevMarketPosition: direction(before),
    marketPosition: direction(after),
    positionSize: dec(BigInt(after)),
    leader: { before, after },
  };
  // A trim is a partial exit: "sell" while staying long (runs whatever its age, like a strategy's).
  if (kind === "trim") signal.sentiment = after > 0 ? "long" : "short";
  if (kind === "exit") signal.sentiment = "flat";
  if (o.price !== undefined) signal.price = o.price;
  return signal;
}

/** The alert id of a leader fill: at most 128 characters, the same for every delivery of the fill. */
export function leaderAlertId(fillKey: string): string {
  return `leader:${fillKey}`.slice(0, 128);
}

const direction = (n: number) => (n > 0 ? "long" : n < 0 ? "short" : "flat");

/**
 * A follower's share of a leader position: the multiplier applied to the size and rounded toward zero
 * (a follower never holds more than its share), capped at `maxContracts`.
 */
export function followerShare(leader: number, multiplier: Dec, maxContracts?: number): number {
  const size = Number((BigInt(Math.abs(leader)) * multiplier) / SCALE);
  const capped = maxContracts === undefined ? size : Math.min(size, maxContracts);
  return leader < 0 && capped > 0 ? -capped : capped;
}

export interface LeaderPlanContext {
  move: LeaderMove;
  /** The follower's booked position (signed). */
  net: number;
  multiplier: Dec;
  settings: RecorderSettings;
  exits: ExitSpec;
  now: Date;
}

/**
 * The follower's plan for one leader move. A reducing move (trim, exit) only reduces; a growing move
 * (open, add, reverse) only grows toward the share. Entries outside the recorder's trading windows are
 * refused; closes always go. Staleness and the per-order cap are applied by the planner around this.
 */
export function leaderPlan(ctx: LeaderPlanContext): Plan {
  const { move, net, exits } = ctx;
  const kind = moveKind(move);
  const share = followerShare(move.after, ctx.multiplier, ctx.settings.maxContracts);
  const done = (decision: Decision, reason: string, intents: Intent[] = []): Plan => ({
    decision,
    reason,
    intents,
    exits,
  });
  const leaderWords = `leader ${label(move.before)} -> ${label(move.after)}`;
  if (!kind) return done("ignored_already_flat", `${leaderWords}: no change`);

  if (kind === "trim" || kind === "exit") {
    // Down to the share on the follower's own side; a follower on the other side is closed, not turned.
    const keep = Math.sign(net) === Math.sign(share) ? share : 0;
    if (Math.abs(keep) >= Math.abs(net)) {
      return done(
        net === 0 ? "ignored_already_flat" : "ignored_same_direction",
        `${leaderWords}; follower ${label(net)} is already at or inside its share (${label(keep)})`,
      );
    }
    const qty = Math.abs(net) - Math.abs(keep);
    return done(keep === 0 ? "closed" : "closed_partial", `${leaderWords}; closed ${qty} of ${label(net)}`, [
      { kind: "cancelExits" },
      { kind: "close", side: opposite(sideOf(net)), qty },
      ...(keep !== 0 ? [{ kind: "protect" } as const] : []),
    ]);
  }

  // open, add, reverse: toward the share in the leader's new direction.
  if (share === 0) {
    if (net !== 0 && Math.sign(net) !== Math.sign(move.after))
      return closeAll(done, net, `${leaderWords}; share rounds to 0`);
    return done("ignored_zero_size", `${leaderWords}; the follower's share rounds to 0 contracts`);
  }
  const side = sideOf(share);
  const crossing = net !== 0 && Math.sign(net) !== Math.sign(share);
  const held = crossing ? 0 : Math.abs(net);
  const grow = Math.abs(share) - held;
  if (grow <= 0) {
    return done(
      "ignored_same_direction",
      `${leaderWords}; follower ${label(net)} is already at its share (${label(share)})`,
    );
  }
  if (!withinTradingHours(ctx.now, ctx.settings.tradingWindows, ctx.settings.timeZone)) {
    const why = `${leaderWords}; entry refused outside the recorder's trading hours (${ctx.settings.timeZone})`;
    if (crossing) return closeAll(done, net, why);
    return done("skipped_outside_hours", why);
  }
  if (crossing) {
    return done("reversed", `${leaderWords}; reversed ${label(net)} to ${label(share)}`, [
      { kind: "cancelExits" },
      { kind: "close", side, qty: Math.abs(net) },
      { kind: "entry", leg: "entry", side, qty: grow },
      { kind: "protect" },
    ]);
  }
  if (net === 0) {
    return done("opened", `${leaderWords}; opened ${label(share)}`, [
      { kind: "entry", leg: "entry", side, qty: grow },
      { kind: "protect" },
    ]);
  }
  return done("added", `${leaderWords}; added ${grow} to ${label(net)}`, [
    { kind: "entry", leg: "add", side, qty: grow },
    { kind: "cancelExits" },
    { kind: "protect" },
  ]);
}

function closeAll(done: (d: Decision, r: string, i?: Intent[]) => Plan, net: number, why: string): Plan {
  return done("closed", `${why}; closed ${label(net)}`, [
    { kind: "cancelExits" },
    { kind: "close", side: opposite(sideOf(net)), qty: Math.abs(net) },
  ]);
}

const opposite = (s: Side): Side => (s === "buy" ? "sell" : "buy");
const sideOf = (n: number): Side => (n > 0 ? "buy" : "sell");
const label = (n: number) => (n === 0 ? "flat" : `${n > 0 ? "long" : "short"} ${Math.abs(n)}`);
