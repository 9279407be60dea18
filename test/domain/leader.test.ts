/**
 * Leader copying, pure (src/domain/leader.ts): one table row per leader move, then properties over random
 * sequences of leader positions through the whole planner.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { followerShare, type LeaderMove, leaderSignal, moveKind } from "../../src/domain/leader";
import { type Intent, plan } from "../../src/domain/planner";
import { recorderSettingsSchema } from "../../src/domain/settings";
import { signalFromJson, signalToJson } from "../../src/domain/signal";

const now = new Date("2026-11-20T15:00:00Z"); // Friday 09:00 in Chicago

function planFor(
  move: LeaderMove,
  net: number,
  multiplier = "1",
  settings: Record<string, unknown> = {},
  at = now,
) {
  const signal = leaderSignal({ move, contract: "MNQZ6", at, fillKey: "v|id:1" });
  if (!signal) throw new Error("no move");
  // Through storage, as the dispatcher reads it back.
  const stored = signalFromJson(JSON.parse(JSON.stringify(signalToJson(signal))));
  return plan({
    signal: stored,
    recorder: recorderSettingsSchema.parse(settings),
    overrides: {},
    multiplier: dec(multiplier),
    position: { netQty: net },
    now,
    receivedAt: now,
  });
}

describe("leader moves as signals", () => {
  it.each([
    ["L01 flat -> long 2 is an open (buy 2)", 0, 2, "open", "buy", undefined],
    ["L02 long 2 -> long 5 is an add (buy 3)", 2, 5, "add", "buy", undefined],
    ["L03 long 5 -> long 2 is a trim (sell 3, staying long)", 5, 2, "trim", "sell", "long"],
    ["L04 long 2 -> flat is an exit", 2, 0, "exit", "exit", "flat"],
    ["L05 long 2 -> short 1 is a reverse (sell 3)", 2, -1, "reverse", "sell", undefined],
    ["L06 short 3 -> short 1 is a trim (buy 2, staying short)", -3, -1, "trim", "buy", "short"],
  ] as const)("%s", (_name, before, after, kind, action, sentiment) => {
    expect(moveKind({ before, after })).toBe(kind);
    const s = leaderSignal({ move: { before, after }, contract: "mnqz6", at: now, fillKey: "k" });
    expect(s).toMatchObject({ ticker: "MNQZ6", action, alertId: "leader:k", leader: { before, after } });
    expect(s?.sentiment).toBe(sentiment);
    expect(s?.quantity).toBe(dec(Math.abs(after - before)));
  });

  it("L07 no change is no signal; a webhook body cannot claim to be a leader's", () => {
    expect(leaderSignal({ move: { before: 2, after: 2 }, contract: "MNQZ6", at: now, fillKey: "k" })).toBe(
      undefined,
    );
    expect(signalFromJson({ ticker: "MNQ1!", action: "buy", leader: "x" }).leader).toBe(undefined);
  });
});

describe("follower plans for leader moves", () => {
  const kinds = (intents: Intent[]) =>
    intents.map((i) => (i.kind === "close" || i.kind === "entry" ? `${i.kind} ${i.side} ${i.qty}` : i.kind));
  it.each([
    ["L10 open: flat, leader 0 -> 3, x2 opens 6", 0, 3, 0, "2", "opened", ["entry buy 6", "protect"]],
    [
      "L11 add: long 4, leader 2 -> 5, x2 adds 6",
      2,
      5,
      4,
      "2",
      "added",
      ["entry buy 6", "cancelExits", "protect"],
    ],
    [
      "L12 trim: long 10, leader 5 -> 2, x2 closes 6",
      5,
      2,
      10,
      "2",
      "closed_partial",
      ["cancelExits", "close sell 6", "protect"],
    ],
    [
      "L13 trim rounds toward zero: long 1, leader 3 -> 1, x0.5 closes 1",
      3,
      1,
      1,
      "0.5",
      "closed",
      ["cancelExits", "close sell 1"],
    ],
    ["L14 exit: long 4, leader 2 -> 0 closes 4", 2, 0, 4, "2", "closed", ["cancelExits", "close sell 4"]],
    [
      "L15 reverse: long 2, leader 2 -> -3, x1 closes 2 and opens short 3",
      2,
      -3,
      2,
      "1",
      "reversed",
      ["cancelExits", "close sell 2", "entry sell 3", "protect"],
    ],
    ["L16 a trim never adds: long 1 below its share stays", 6, 4, 1, "1", "ignored_same_direction", []],
    ["L17 an add never reduces: long 9 above its share stays", 2, 3, 9, "1", "ignored_same_direction", []],
    ["L18 a share that rounds to 0 opens nothing", 0, 1, 0, "0.5", "ignored_zero_size", []],
    [
      "L19 a trim closes a follower on the other side, never turns it",
      5,
      2,
      -2,
      "1",
      "closed",
      ["cancelExits", "close buy 2"],
    ],
  ] as const)("%s", (_name, before, after, net, multiplier, decision, intents) => {
    const p = planFor({ before, after }, net, multiplier);
    expect(p.decision, p.reason).toBe(decision);
    expect(kinds(p.intents)).toEqual(intents);
  });

  it("L20 maxContracts caps the share; outside trading hours only the close of a reverse goes", () => {
    expect(kinds(planFor({ before: 0, after: 5 }, 0, "1", { maxContracts: 3 }).intents)).toEqual([
      "entry buy 3",
      "protect",
    ]);
    const hours = { tradingWindows: [{ start: "10:00", end: "11:00" }] };
    expect(planFor({ before: 0, after: 2 }, 0, "1", hours).decision).toBe("skipped_outside_hours");
    expect(kinds(planFor({ before: 2, after: -2 }, 2, "1", hours).intents)).toEqual([
      "cancelExits",
      "close sell 2",
    ]);
    expect(kinds(planFor({ before: 4, after: 1 }, 4, "1", hours).intents)).toEqual([
      "cancelExits",
      "close sell 3",
      "protect",
    ]);
  });

  it("L21 a leader fill older than maxSignalAgeSeconds (caught up after a reconnect) only reduces", () => {
    const old = new Date(now.getTime() - 120_000);
    expect(planFor({ before: 0, after: 2 }, 0, "1", {}, old).decision).toBe("skipped_stale");
    expect(kinds(planFor({ before: 3, after: 1 }, 3, "1", {}, old).intents)).toEqual([
      "cancelExits",
      "close sell 2",
      "protect",
    ]);
    expect(kinds(planFor({ before: 3, after: 0 }, 3, "1", {}, old).intents)).toEqual([
      "cancelExits",
      "close sell 3",
    ]);
  });

  it("L22 filters apply to a leader's copy (direction), inverse does not: the copy follows the leader's side", () => {
    expect(kinds(planFor({ before: 0, after: 2 }, 0, "1", { inverse: true }).intents)[0]).toBe("entry buy 2");
    expect(planFor({ before: 0, after: -2 }, 0, "1", { direction: "long" }).decision).toBe(
      "skipped_direction",
    );
    // Long-only: a leader reversing from long to short closes the follower's long and opens nothing.
    expect(kinds(planFor({ before: 2, after: -1 }, 2, "1", { direction: "long" }).intents)).toEqual([
      "cancelExits",
      "close sell 2",
    ]);
  });
});

/** Carries a plan's intents out on a book, as the executor does when every order fills. */
function apply(net: number, intents: Intent[]): { net: number; crossed: boolean } {
  let n = net;
  let crossed = false;
  for (const i of intents) {
    if (i.kind === "close") {
      const next = n + (i.side === "buy" ? i.qty : -i.qty);
      if (Math.sign(next) === -Math.sign(n) && next !== 0) crossed = true;
      n = next;
    } else if (i.kind === "entry") n += i.side === "buy" ? i.qty : -i.qty;
  }
  return { net: n, crossed };
}

describe("leader copying (properties)", () => {
  const multiplier = fc.integer({ min: 1, max: 500 }).map((h) => (h / 100).toFixed(2));
  const positions = fc.array(fc.integer({ min: -25, max: 25 }), { minLength: 1, maxLength: 30 });

  it("P30 after any sequence of leader positions a follower holds round(leader x multiplier) toward zero; no close ever crosses zero", () => {
    fc.assert(
      fc.property(
        positions,
        multiplier,
        fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
        (seq, m, cap) => {
          let leader = 0;
          let net = 0;
          for (const after of seq) {
            if (after === leader) continue;
            const p = planFor(
              { before: leader, after },
              net,
              m,
              cap === undefined ? {} : { maxContracts: cap },
            );
            for (const i of p.intents)
              if (i.kind === "close") expect(i.qty).toBeLessThanOrEqual(Math.abs(net));
            const r = apply(net, p.intents);
            expect(r.crossed).toBe(false);
            net = r.net;
            leader = after;
            expect(net).toBe(followerShare(leader, dec(m), cap));
            const exact = Math.abs(leader) * Number(m);
            expect(Math.abs(net)).toBeLessThanOrEqual(exact + 1e-9);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("P31 a plan is idempotent: the same leader signal planned again on its own result does nothing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -25, max: 25 }),
        fc.integer({ min: -25, max: 25 }),
        multiplier,
        (before, after, m) => {
          if (before === after) return;
          const start = followerShare(before, dec(m));
          const once = apply(start, planFor({ before, after }, start, m).intents).net;
          expect(
            planFor({ before, after }, once, m).intents.filter(
              (i) => i.kind === "close" || i.kind === "entry",
            ),
          ).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
