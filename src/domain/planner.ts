/**
 * The copy planner: what one signal does on one trader, as an ordered list of broker intents plus a
 * decision and its reason in a trader's words. Pure: the executor carries the intents out.
 *
 * | situation                       | decision                                                  |
 * |---------------------------------|-----------------------------------------------------------|
 * | flat, buy/sell                  | opened: entry, then exits from the real fill              |
 * | same direction, avg-down on/add | added: entry, cancel old exits, exits from the new average |
 * | same direction, avg-down off    | ignored_same_direction                                    |
 * | opposite direction              | reversed (close, then open), or closed when close-only    |
 * | exit / close / flat / sentiment | closed: cancel exits, close the trader's quantity          |
 * | sell while staying long (strategy partial exit) | closed_partial, exits re-placed for the rest |
 * | cancel                          | cancelled: cancel working entry orders                    |
 *
 * Issue 14: an `inverse` trader plans the opposite signal; entry filters (src/domain/filters.ts) then
 * refuse new exposure (skipped_direction / _add_every / _cooldown / _max_entries) while closes still go;
 * risk sizing (src/domain/sizing.ts) replaces the fixed quantity when a risk budget applies.
 */

import type { ContractSpec } from "./contract";
import { type Dec, stepsIn, times } from "./decimal";
import { settingsStop, settingsTargets, type UnitTarget } from "./exit-units";
import { type EntryHistory, entryRefusal, invertSignal } from "./filters";
import { withinTradingHours } from "./hours";
import { leaderPlan } from "./leader";
import {
  effectiveSettings,
  orderSizeProblem,
  type RecorderSettings,
  type TakeProfitTarget,
  type TraderOverrides,
} from "./settings";
import type { ExitOverride, Signal } from "./signal";
import { type RiskSizingInput, riskQuantity } from "./sizing";
import { managesStop, resolveStopRules, type StopRules } from "./stop-rules";
import type { Side } from "./venue/types";

export type Decision =
  | "opened"
  | "added"
  | "reversed"
  | "closed"
  | "closed_partial"
  | "cancelled"
  | "ignored_same_direction"
  | "ignored_already_flat"
  | "ignored_no_position"
  | "ignored_zero_size"
  | "skipped_outside_hours"
  | "blocked_max_contracts"
  | "blocked_risk"
  | "skipped_stale"
  | "skipped_out_of_sync"
  | "flattened_out_of_sync"
  | "resynced"
  // Issue 14 entry filters and risk sizing (src/domain/filters.ts, sizing.ts).
  | "skipped_direction"
  | "skipped_add_every"
  | "skipped_cooldown"
  | "skipped_max_entries"
  | "skipped_risk_sizing";

export type Intent =
  /** Cancel this trader's working exit orders for the contract (only the ones the relay placed). */
  | { kind: "cancelExits" }
  /** Cancel this trader's working entry orders for the contract. */
  | { kind: "cancelEntries" }
  /** Market order closing `qty` of the trader's position; verified flat (or reduced) from the fill. */
  | { kind: "close"; side: Side; qty: number }
  /** Market entry; `leg` is "entry" for an open and "add" for an add. */
  | { kind: "entry"; leg: "entry" | "add"; side: Side; qty: number }
  /** Place exits for the trader's whole position from its average price, once the fills are known. */
  | { kind: "protect" };

/** Exit settings for this signal on this trader after precedence (trader > alert > recorder). */
export interface ExitSpec {
  targets: TakeProfitTarget[];
  /** Take-profit targets set in points, dollars or percent: whole ticks once the fill is known. */
  unitTargets?: UnitTarget[];
  /** The stop set in points, dollars or percent (`stopLoss`), instead of stopLossTicks. */
  unitStop?: ExitOverride;
  /** Per-alert take-profit that needs the fill price to become ticks. */
  alertTarget?: ExitOverride;
  stopLossTicks: number;
  alertStop?: ExitOverride;
  /** Break-even / trailing stop (issue 14), set only when a rule moves the stop. */
  stops?: StopRules;
}

export interface Plan {
  decision: Decision;
  reason: string;
  intents: Intent[];
  exits: ExitSpec;
}

export interface PlanContext {
  signal: Signal;
  recorder: RecorderSettings;
  overrides: TraderOverrides;
  multiplier: Dec;
  /** The trader's position in this contract (signed contracts) and its average price. */
  position: { netQty: number; avgPrice?: Dec };
  now: Date;
  /** When the webhook arrived; with the alert's own time, how old the signal is when this plan is made. */
  receivedAt: Date;
  /** The relay-wide cap on one order (MAX_ORDER_CONTRACTS): a bigger entry is refused, never sent. */
  maxOrderContracts?: number;
  // Issue 14, filters and sizing (src/domain/filters.ts, sizing.ts): read by the executor.
  /** The trader's entries so far, for cooldown, max entries per day and every-Nth adds. */
  history?: EntryHistory;
  /** The contract traded: risk sizing needs its tick size and value. */
  contract?: Pick<ContractSpec, "tickSize" | "valuePerPoint">;
  /** The broker sub-account's balance, for risk sizing in percent of it. */
  balance?: Dec;
}

const opposite = (s: Side): Side => (s === "buy" ? "sell" : "buy");
const sideOf = (netQty: number): Side => (netQty > 0 ? "buy" : "sell");
const describe = (netQty: number) => `${netQty > 0 ? "long" : "short"} ${Math.abs(netQty)}`;

/** How old a signal is: from the alert's own time when it is earlier than its arrival. */
export function signalAgeMs(signal: Signal, receivedAt: Date, now: Date): number {
  const born = signal.time && signal.time < receivedAt ? signal.time : receivedAt;
  return now.getTime() - born.getTime();
}

/** Legs that add exposure, as opposed to closes and exits. */
export const isEntryLeg = (leg: string): boolean => leg === "entry" || leg === "add";

export function plan(input: PlanContext): Plan {
  const settings = effectiveSettings(input.recorder, input.overrides);
  // Entry filters (src/domain/filters.ts): an inverse trader plans the opposite signal; then the plan's
  // new exposure may be refused while its closes still go.
  // A leader's copy follows the leader's side: inverse applies to alerts only.
  const ctx =
    settings.inverse && !input.signal.leader ? { ...input, signal: invertSignal(input.signal) } : input;
  const exits = exitSpec(ctx);
  // A leader's fill (issue 14, leader copying) moves the follower to its share of the leader's position.
  const leader = ctx.signal.leader;
  const unfiltered = leader
    ? leaderPlan({
        move: leader,
        net: ctx.position.netQty,
        multiplier: ctx.multiplier,
        settings,
        exits,
        now: ctx.now,
      })
    : (syncGuard(ctx, settings, exits) ?? planSignal(ctx, settings, exits));
  const refusal = entryRefusal(unfiltered, settings, ctx.history, ctx.receivedAt);
  const planned = refusal ? withoutEntries(unfiltered, refusal.reason, refusal.decision) : unfiltered;
  // An absurd size is a mistake somewhere upstream: the entry is refused whole, a close still goes.
  const oversize = planned.intents.find(
    (i) => i.kind === "entry" && ctx.maxOrderContracts !== undefined && i.qty > ctx.maxOrderContracts,
  );
  const base =
    oversize?.kind === "entry" && ctx.maxOrderContracts !== undefined
      ? withoutEntries(
          planned,
          orderSizeProblem(oversize.qty, ctx.maxOrderContracts) ?? "order too large",
          "blocked_max_contracts",
        )
      : planned;
  // A signal resumed long after it arrived (a restart) still closes and protects, but never opens.
  const ageMs = signalAgeMs(ctx.signal, ctx.receivedAt, ctx.now);
  if (ageMs > settings.maxSignalAgeSeconds * 1000) {
    return withoutEntries(
      base,
      `the signal is ${Math.round(ageMs / 1000)} s old (limit ${settings.maxSignalAgeSeconds} s)`,
      "skipped_stale",
    );
  }
  return base;
}

function planSignal(ctx: PlanContext, settings: RecorderSettings, exits: ExitSpec): Plan {
  const { signal } = ctx;
  const net = ctx.position.netQty;
  const done = (decision: Decision, reason: string, intents: Intent[] = []): Plan => ({
    decision,
    reason,
    intents,
    exits,
  });

  if (signal.action === "cancel")
    return done("cancelled", "cancel working entry orders", [{ kind: "cancelEntries" }]);

  const exitRequested =
    signal.action === "exit" ||
    signal.action === "close" ||
    signal.action === "flat" ||
    signal.sentiment === "flat";
  if (exitRequested) {
    if (net === 0)
      return done("ignored_already_flat", "already flat; any stray exit orders cancelled", [
        { kind: "cancelExits" },
      ]);
    return done("closed", `closed ${describe(net)}`, [
      { kind: "cancelExits" },
      { kind: "close", side: opposite(sideOf(net)), qty: Math.abs(net) },
    ]);
  }

  // Entry-type signals from here on: buy, sell, add.
  let side: Side | undefined;
  if (signal.action === "buy" || signal.action === "sell") side = signal.action;
  else if (signal.sentiment === "long" || signal.sentiment === "short")
    side = signal.sentiment === "long" ? "buy" : "sell";
  else if (net !== 0) side = sideOf(net);
  if (!side) return done("ignored_no_position", "add with no open position and no direction");

  // A strategy that sells but stays long (or buys but stays short) is taking a partial exit.
  const partialExit =
    net !== 0 &&
    side === opposite(sideOf(net)) &&
    signal.sentiment !== undefined &&
    signal.sentiment === (net > 0 ? "long" : "short");
  if (partialExit) {
    const qty = Math.min(Math.abs(net), sized(signal.quantity, settings.quantity, ctx.multiplier));
    if (qty <= 0) return done("ignored_zero_size", "partial exit size rounds to 0 contracts");
    const rest = Math.abs(net) - qty;
    return done("closed_partial", `closed ${qty} of ${describe(net)}`, [
      { kind: "cancelExits" },
      { kind: "close", side, qty },
      ...(rest > 0 ? [{ kind: "protect" } as const] : []),
    ]);
  }

  if (!withinTradingHours(ctx.now, settings.tradingWindows, settings.timeZone)) {
    return done("skipped_outside_hours", `outside the recorder's trading hours (${settings.timeZone})`);
  }

  const sameDirection = net !== 0 && side === sideOf(net);
  const isAdd = signal.action === "add" || sameDirection;
  if (sameDirection && signal.action !== "add" && !settings.avgDown) {
    return done("ignored_same_direction", `already ${describe(net)}; avg-down is off`);
  }
  if (signal.action === "add" && net === 0) return done("ignored_no_position", "add with no open position");

  const base = isAdd ? (settings.addQuantity ?? null) : null;
  // Risk sizing (src/domain/sizing.ts) replaces the fixed quantity when a risk budget applies.
  const risk = base === null ? riskQuantity(riskInput(ctx, exits, side)) : undefined;
  if (risk && "refused" in risk) {
    // A reverse the sizing cannot size still leaves the old side: the strategy has left it.
    if (net !== 0 && !sameDirection)
      return done("closed", `closed ${describe(net)}; new entry refused: ${risk.reason}`, [
        { kind: "cancelExits" },
        { kind: "close", side, qty: Math.abs(net) },
      ]);
    return done(risk.refused, risk.reason);
  }
  let qty = risk
    ? risk.qty
    : base !== null
      ? sized(undefined, base, ctx.multiplier)
      : sized(signal.quantity, settings.quantity, ctx.multiplier);
  if (qty <= 0) {
    // The strategy has left the old side even when the new one sizes to nothing: the close still goes.
    if (net !== 0 && !sameDirection)
      return done(
        "closed",
        `closed ${describe(net)}; the new side rounds to 0 contracts after the multiplier`,
        [{ kind: "cancelExits" }, { kind: "close", side, qty: Math.abs(net) }],
      );
    return done("ignored_zero_size", "size rounds to 0 contracts after the multiplier");
  }

  const reversing = net !== 0 && !sameDirection;
  const after = reversing ? 0 : Math.abs(net);
  let capNote = "";
  if (settings.maxContracts !== undefined && after + qty > settings.maxContracts) {
    const room = settings.maxContracts - after;
    if (room <= 0) {
      return done(
        "blocked_max_contracts",
        `max contracts ${settings.maxContracts} reached (${describe(net)})`,
      );
    }
    capNote = ` (capped from ${qty} by max contracts ${settings.maxContracts})`;
    qty = room;
  }
  if (risk) capNote += ` (${risk.note})`;

  if (reversing) {
    if (settings.onOpposite === "close") {
      return done("closed", `closed ${describe(net)} on an opposite signal (close-only)`, [
        { kind: "cancelExits" },
        { kind: "close", side, qty: Math.abs(net) },
      ]);
    }
    return done(
      "reversed",
      `reversed ${describe(net)} to ${side === "buy" ? "long" : "short"} ${qty}${capNote}`,
      [
        { kind: "cancelExits" },
        { kind: "close", side, qty: Math.abs(net) },
        { kind: "entry", leg: "entry", side, qty },
        { kind: "protect" },
      ],
    );
  }
  if (isAdd) {
    return done("added", `added ${qty} to ${describe(net)}${capNote}`, [
      { kind: "entry", leg: "add", side, qty },
      { kind: "cancelExits" },
      { kind: "protect" },
    ]);
  }
  return done("opened", `opened ${side === "buy" ? "long" : "short"} ${qty}${capNote}`, [
    { kind: "entry", leg: "entry", side, qty },
    { kind: "protect" },
  ]);
}

function riskInput(ctx: PlanContext, exits: ExitSpec, side: Side): RiskSizingInput {
  // Without the alert's price an add is measured from the position's average; an open has nothing.
  const net = ctx.position.netQty;
  const adding = net !== 0 && side === sideOf(net);
  const reference = ctx.signal.price ?? (adding ? ctx.position.avgPrice : undefined);
  return {
    recorder: ctx.recorder,
    overrides: ctx.overrides,
    signal: ctx.signal,
    multiplier: ctx.multiplier,
    exits,
    side,
    ...(ctx.contract ? { contract: ctx.contract } : {}),
    ...(ctx.balance !== undefined ? { balance: ctx.balance } : {}),
    ...(reference !== undefined ? { referencePrice: reference } : {}),
    ...(ctx.maxOrderContracts !== undefined ? { maxOrderContracts: ctx.maxOrderContracts } : {}),
  };
}

/** Contracts for an order: the alert's quantity (else the setting) times the multiplier, rounded down. */
export function sized(alertQuantity: Dec | undefined, settingQuantity: number, multiplier: Dec): number {
  const base = alertQuantity ?? times(ONE_CONTRACT, settingQuantity);
  const product = (base * multiplier) / 1_000_000_000n; // both scaled by 1e9
  return Math.max(0, stepsIn(product as Dec, ONE_CONTRACT, "down"));
}

const ONE_CONTRACT = 1_000_000_000n as Dec;

/** Precedence: trader overrides beat the alert's takeProfit/stopLoss, which beat the recorder. */
function exitSpec(ctx: PlanContext): ExitSpec {
  const { recorder, overrides, signal } = ctx;
  // Settings in any unit (src/domain/exit-units.ts); a trader's stop in either spelling beats both others.
  const traderStop = overrides.stopLossTicks !== undefined || overrides.stopLoss !== undefined;
  const spec: ExitSpec = {
    ...settingsTargets(overrides.takeProfit ?? recorder.takeProfit),
    ...settingsStop(traderStop ? overrides : recorder),
  };
  if (overrides.takeProfit === undefined && signal.takeProfit) {
    delete spec.unitTargets;
    if (signal.takeProfit.ticks !== undefined)
      spec.targets =
        signal.takeProfit.ticks > 0 ? [{ ticks: signal.takeProfit.ticks, trimPercent: 100 }] : [];
    else {
      spec.targets = [];
      spec.alertTarget = signal.takeProfit;
    }
  }
  if (!traderStop && signal.stopLoss) {
    delete spec.unitStop;
    if (signal.stopLoss.ticks !== undefined) spec.stopLossTicks = signal.stopLoss.ticks;
    else {
      spec.stopLossTicks = 0;
      spec.alertStop = signal.stopLoss;
    }
  }
  // Issue 14: break-even and trailing stop, with the same precedence.
  const stops = resolveStopRules(recorder, signal.stops, overrides);
  if (managesStop(stops)) spec.stops = stops;
  return spec;
}

/**
 * Removes new exposure from a plan (the loss monitor or the kill switch refuses entries): closes, cancels
 * and exits still go through, entries and adds do not.
 */
export function withoutEntries(p: Plan, why: string, decision: Decision = "blocked_risk"): Plan {
  const hasEntry = p.intents.some((i) => i.kind === "entry");
  if (!hasEntry) return p;
  const intents = p.intents.filter((i) => i.kind !== "entry" && i.kind !== "protect");
  if (!intents.some((i) => i.kind === "close")) {
    return { ...p, decision, reason: `entry refused: ${why}`, intents: [] };
  }
  return {
    ...p,
    decision: "closed",
    reason: `${p.reason.replace(/^reversed/, "closed")}; new entry refused: ${why}`,
    intents,
  };
}

/**
 * The position-sync guard: the alert says where the strategy was before this order
 * (`prevMarketPosition`); when the follower is somewhere else, skip, flatten, or move the follower to
 * the strategy's position after this order, as the recorder's `positionSync` says.
 */
function syncGuard(ctx: PlanContext, settings: RecorderSettings, exits: ExitSpec): Plan | undefined {
  const { signal } = ctx;
  const net = ctx.position.netQty;
  if (settings.positionSync === "off" || !signal.prevMarketPosition) return undefined;
  const follower = net > 0 ? "long" : net < 0 ? "short" : "flat";
  if (follower === signal.prevMarketPosition) return undefined;
  const why = `out of sync: the strategy was ${signal.prevMarketPosition} before this alert, the follower is ${net === 0 ? "flat" : describe(net)}`;
  const done = (decision: Decision, reason: string, intents: Intent[] = []): Plan => ({
    decision,
    reason,
    intents,
    exits,
  });
  if (settings.positionSync === "skip") return done("skipped_out_of_sync", `${why}; skipped`);
  if (settings.positionSync === "flatten") {
    if (net === 0) return done("skipped_out_of_sync", `${why}; nothing to flatten`);
    return done("flattened_out_of_sync", `${why}; flattened`, [
      { kind: "cancelExits" },
      { kind: "close", side: opposite(sideOf(net)), qty: Math.abs(net) },
    ]);
  }
  // resync: go to the strategy's position after this order.
  let direction: "long" | "short" | "flat" | undefined = signal.marketPosition;
  if (!direction && signal.positionSize !== undefined) {
    direction = signal.positionSize > 0n ? "long" : signal.positionSize < 0n ? "short" : "flat";
  }
  if (!direction && (signal.action === "buy" || signal.action === "sell"))
    direction = signal.action === "buy" ? "long" : "short";
  if (!direction || signal.action === "exit" || signal.action === "close" || signal.action === "flat")
    direction = direction ?? "flat";
  const size =
    direction === "flat"
      ? 0
      : signal.positionSize !== undefined
        ? sized(
            signal.positionSize < 0n ? (-signal.positionSize as Dec) : signal.positionSize,
            settings.quantity,
            ctx.multiplier,
          )
        : sized(signal.quantity, settings.quantity, ctx.multiplier);
  const capped = settings.maxContracts !== undefined ? Math.min(size, settings.maxContracts) : size;
  const target = direction === "short" ? -capped : capped;
  return toTarget(net, target, why, exits);
}

/** Intents that move a position from `net` to `target` contracts (signed), then protect what remains. */
function toTarget(net: number, target: number, why: string, exits: ExitSpec): Plan {
  const done = (decision: Decision, reason: string, intents: Intent[] = []): Plan => ({
    decision,
    reason,
    intents,
    exits,
  });
  const label = (q: number) => (q === 0 ? "flat" : describe(q));
  const reason = `${why}; resynced to ${label(target)}`;
  if (target === net) return done("resynced", `${why}; already at ${label(target)}`);
  if (target === 0)
    return done("resynced", reason, [
      { kind: "cancelExits" },
      { kind: "close", side: opposite(sideOf(net)), qty: Math.abs(net) },
    ]);
  const side = sideOf(target);
  if (net === 0 || Math.sign(net) !== Math.sign(target)) {
    return done("resynced", reason, [
      { kind: "cancelExits" },
      ...(net !== 0 ? [{ kind: "close" as const, side, qty: Math.abs(net) }] : []),
      { kind: "entry", leg: "entry", side, qty: Math.abs(target) },
      { kind: "protect" },
    ]);
  }
  const diff = Math.abs(target) - Math.abs(net);
  if (diff > 0)
    return done("resynced", reason, [
      { kind: "entry", leg: "add", side, qty: diff },
      { kind: "cancelExits" },
      { kind: "protect" },
    ]);
  return done("resynced", reason, [
    { kind: "cancelExits" },
    { kind: "close", side: opposite(side), qty: -diff },
    { kind: "protect" },
  ]);
}
