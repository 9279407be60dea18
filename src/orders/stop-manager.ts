/**
 * The stop manager: break-even and trailing stops the relay runs itself (brokers without a native trailing
 * order, or rules a native one cannot follow), from the quotes the sessions stream.
 *
 * - Armed by every protection of a position whose exits have a stop and whose rules move it
 *   (src/orders/protect.ts calls `armed`); an add that changes the average re-arms break-even from the
 *   new average (the trail keeps the best price since the position opened).
 * - Each quote goes through the pure rules (src/domain/stop-rules.ts); a move modifies our own working
 *   stops (legs sl<n>) of that trader's position, under the contract's lock, price only: the same
 *   quantity, the same OCO partner.
 * - A modify the broker refuses or never answers is settled from the broker's record of the order; a stop
 *   found gone while the broker still holds the position is placed again through protect (its take-profits
 *   with it), at the managed price.
 * - A position found flat (closed by hand, an exit filled) ends management: nothing is sent for it.
 * - State (best price, stop, break-even done) is stored per position, so a restart re-arms from it.
 */
import type { BrokerEvent, BrokerSession } from "../brokers/port";
import type { Sql } from "../db/client";
import { tradersInFlight } from "../db/reconcile";
import {
  allManagedStops,
  dropManagedStop,
  type ManagedKey,
  type ManagedRow,
  managedStop,
  saveManagedStop,
  saveStopState,
} from "../db/stop-management";
import type { ContractSpec } from "../domain/contract";
import { type Dec, toStr } from "../domain/decimal";
import { asBrokerAccountId } from "../domain/ids";
import {
  advance,
  type ManagedPosition,
  type StopMove,
  type StopRules,
  type StopState,
} from "../domain/stop-rules";
import type { Side } from "../domain/venue/types";
import type { Logger } from "../log";
import { brokerNet } from "./broker-view";
import type { OrderKernel } from "./kernel";
import type { LegContext } from "./legs";
import { modifyStop, replaceExits } from "./stop-moves";
import { why } from "./unreachable";

/** What protect tells the manager (src/orders/protect.ts). */
export interface StopHooks {
  /** The stop price the manager holds for this position, when a stop is placed again for it. */
  heldStop(key: ManagedKey, side: Side, entry: Dec, stopLossTicks: number): Promise<Dec | undefined>;
  /** Exits with a stop were placed: arm, re-arm, or (no rules) end management of the position. */
  armed(a: {
    leg: LegContext;
    traderId: string;
    side: Side;
    entry: Dec;
    exits: ManagedRow["exits"];
    stopPrice: Dec;
    rules?: StopRules;
  }): Promise<void>;
}

export interface StopManagerDeps {
  sql: Sql;
  logger: Logger;
  kernel: OrderKernel;
  /** The account's session if one exists (never starts one). */
  session(accountId: string): BrokerSession | undefined;
  spec(accountId: string, contract: string): Promise<ContractSpec>;
  settleDelaysMs?: number[];
}

interface Managed {
  row: ManagedRow;
  /** The latest quote not yet looked at. */
  last?: Dec;
  busy: boolean;
  ended: boolean;
}

const keyOf = (k: { traderId: string; brokerAccountId: string; contract: string }) =>
  `${k.traderId}|${k.brokerAccountId}|${k.contract}`;
const isStopLeg = (leg: string) => /^sl\d+$/.test(leg);
const exitsOf = (r: ManagedRow) => ({
  traderId: r.traderId,
  brokerAccountId: r.brokerAccountId,
  contract: r.contract,
  kind: "exits" as const,
});

export class StopManager implements StopHooks {
  private readonly managed = new Map<string, Managed>();
  /** Managed positions by account and contract: a quote reaches only its own. */
  private readonly byQuote = new Map<string, Set<Managed>>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly d: StopManagerDeps) {}

  /** Re-arms every position managed before a restart. */
  async start(): Promise<void> {
    await this.load();
  }

  /**
   * Accounts this relay just took over from another (issue 16): their managed stops, which the other relay
   * stored, are followed from here.
   */
  async adopt(accountIds: string[]): Promise<void> {
    const adopted = new Set(accountIds);
    await this.load((row) => adopted.has(row.accountId));
  }

  private async load(wanted: (row: ManagedRow) => boolean = () => true): Promise<void> {
    for (const row of await allManagedStops(this.d.sql)) {
      if (!wanted(row)) continue;
      const known = this.managed.get(keyOf(row));
      if (known && !known.ended) {
        // Moved on by its previous holder while it was not ours: its stored state is the truth.
        known.row = row;
        void this.watch(row);
        continue;
      }
      const m: Managed = { row, busy: false, ended: false };
      this.put(m);
      // Closed while the relay was away (the book says so): nothing left to manage.
      const book = await this.d.kernel.d.journal.position({
        traderId: row.traderId,
        brokerAccountId: row.brokerAccountId,
        contract: row.contract,
      });
      if (!book || book.netQty === 0 || book.netQty > 0 !== (row.side === "buy")) {
        await this.end(m, "the position closed while the relay was stopped");
        continue;
      }
      void this.watch(row);
    }
    if (this.managed.size > 0)
      this.d.logger.info(
        { event: "StopManagementResumed", positions: this.managed.size },
        "stop management resumed",
      );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
  }

  /** Broker events of every session: quotes move stops, a flat position ends its management. */
  handle(accountId: string, event: BrokerEvent): void {
    if (this.stopped || this.managed.size === 0) return;
    if (event.type === "QuoteReceived") {
      for (const m of this.byQuote.get(`${accountId}|${event.contract}`) ?? []) this.quote(m, event.last);
    } else if (event.type === "SessionChanged" && event.status.state === "ready") {
      for (const m of this.managed.values()) if (m.row.accountId === accountId) void this.watch(m.row);
    } else if (event.type === "PositionChanged" && event.position.netPos === 0) {
      for (const m of this.managed.values()) {
        const r = m.row;
        if (
          r.accountId === accountId &&
          r.brokerAccountId === event.position.brokerAccountId &&
          r.contract === event.position.contract
        )
          void this.end(m, "the position is flat at the broker");
      }
    }
  }

  async heldStop(key: ManagedKey, side: Side, entry: Dec): Promise<Dec | undefined> {
    const row = this.managed.get(keyOf(key))?.row ?? (await managedStop(this.d.sql, key));
    return row && row.side === side && row.entry === entry ? row.stop : undefined;
  }

  async armed(a: Parameters<StopHooks["armed"]>[0]): Promise<void> {
    const key = {
      traderId: a.traderId,
      brokerAccountId: a.leg.brokerAccountId,
      contract: a.leg.contract.name,
    };
    const known = this.managed.get(keyOf(key));
    const before = known?.row ?? (await managedStop(this.d.sql, key));
    if (!a.rules) {
      if (before) {
        await dropManagedStop(this.d.sql, key);
        if (known) this.remove(known);
      }
      return;
    }
    // A row left from an earlier position (its flat never seen) is not this position's.
    const position = await a.leg.journal.position(key);
    const openedAt = position?.openedAt ?? null;
    const earlier = before && before.openedAt?.getTime() !== openedAt?.getTime();
    const same = before && !earlier && before.side === a.side;
    const sameEntry = same && before.entry === a.entry;
    const row: ManagedRow = {
      ...key,
      accountId: a.leg.accountId,
      side: a.side,
      entry: a.entry,
      tickSize: a.leg.contract.tickSize,
      stopLossTicks: a.exits.stopLossTicks,
      // The same position placed again keeps the rules it was opened with; an add brings its own.
      rules: sameEntry ? before.rules : a.rules,
      exits: a.exits,
      best: same ? before.best : a.entry,
      stop: a.stopPrice,
      // An add that changes the average re-arms break-even from the new average.
      breakEvenDone: sameEntry ? before.breakEvenDone : false,
      reprotects: same ? before.reprotects : 0,
      openedAt,
      armedAt: same ? before.armedAt : new Date(),
    };
    await saveManagedStop(this.d.sql, row);
    const m: Managed = {
      row,
      busy: false,
      ended: false,
      ...(known?.last !== undefined ? { last: known.last } : {}),
    };
    if (known) this.remove(known);
    this.put(m);
    a.leg.log.info(
      {
        event: "StopManagementArmed",
        contract: row.contract,
        side: row.side,
        entry: toStr(row.entry),
        stop: toStr(row.stop),
        best: toStr(row.best),
        breakEvenDone: row.breakEvenDone,
        rules: row.rules,
      },
      "the relay manages this position's stop",
    );
    void this.watch(row);
  }

  private quote(m: Managed, last: Dec): void {
    m.last = last;
    if (m.busy || m.ended) return;
    m.busy = true;
    const run = this.pump(m)
      .catch((error) =>
        this.d.logger.warn(
          {
            event: "StopManagementFailed",
            traderId: m.row.traderId,
            contract: m.row.contract,
            reason: why(error),
          },
          "could not manage the stop on this quote; the next quote tries again",
        ),
      )
      .finally(() => {
        m.busy = false;
        this.running.delete(run);
        // A quote that came in after the loop's last look is not left waiting for the next one.
        if (m.last !== undefined && !m.ended && !this.stopped) this.quote(m, m.last);
      });
    this.running.add(run);
  }

  /** Takes quotes until none is waiting; at most one move in flight per position. */
  private async pump(m: Managed): Promise<void> {
    while (m.last !== undefined && !m.ended && !this.stopped) {
      const last = m.last;
      m.last = undefined;
      const r = m.row;
      const position: ManagedPosition = {
        side: r.side,
        entry: r.entry,
        tickSize: r.tickSize,
        stopLossTicks: r.stopLossTicks,
        rules: r.rules,
      };
      const next = advance(position, r, last);
      if (!next.move) {
        if (next.state.best !== r.best || next.state.breakEvenDone !== r.breakEvenDone) {
          Object.assign(r, next.state);
          await saveStopState(this.d.sql, r, next.state);
        }
        continue;
      }
      // Not moved now (broker away, a signal at work): the best price seen is kept for the next quote.
      if (!(await this.move(m, next.move, next.state, last))) r.best = next.state.best;
    }
  }

  /** Moves the position's stops to `move.stop`; the state is kept only once the broker has them there. */
  private async move(m: Managed, move: StopMove, state: StopState, last: Dec): Promise<boolean> {
    const r = m.row;
    const session = this.d.session(r.accountId);
    // A broker away: the next quote after it is back tries again.
    if (!session) return false;
    if (session.status().state !== "ready") return false;
    const contract = await this.d.spec(r.accountId, r.contract);
    const log = this.d.logger.child({ traderId: r.traderId });
    const ctx: LegContext = {
      journal: this.d.kernel.d.journal,
      log,
      session,
      fills: this.d.kernel.d.fills,
      accountId: r.accountId,
      executionId: null,
      traderId: r.traderId,
      brokerAccountId: asBrokerAccountId(r.brokerAccountId),
      contract,
      checkFirst: false,
      ...(this.d.settleDelaysMs ? { settleDelaysMs: this.d.settleDelaysMs, unreachableDelaysMs: [] } : {}),
    };
    return this.d.kernel.locked(ctx, async () => {
      if (m.ended) return true;
      // A signal of this trader at work (cancelling and placing exits): its protection re-arms us.
      if ((await tradersInFlight(this.d.sql, [r.traderId], new Date())).size > 0) return false;
      const book = await ctx.journal.position({
        traderId: r.traderId,
        brokerAccountId: r.brokerAccountId,
        contract: r.contract,
      });
      const long = r.side === "buy";
      const held = book?.netQty ?? 0;
      if (held === 0 || held > 0 !== long) return this.end(m, "the trader's position is closed");
      const net = await brokerNet(session, ctx.brokerAccountId, r.contract);
      if (net === 0 || net > 0 !== long) return this.end(m, "the position is flat at the broker");
      // The stops must cover what both the book and the broker hold.
      const need = Math.min(Math.abs(held), Math.abs(net));
      const stops = (await ctx.journal.liveOrders(exitsOf(r))).filter((o) => isStopLeg(o.leg));
      const moved = new Set<string>();
      for (const o of stops)
        if (await modifyStop(this.d.sql, ctx, o.clientOrderId, o.brokerOrderId, move.stop))
          moved.add(o.clientOrderId);
      // A stop that did not move may be gone (filled with its partner, cancelled by hand): look again.
      const live =
        moved.size === stops.length
          ? stops
          : (await ctx.journal.liveOrders(exitsOf(r))).filter((o) => isStopLeg(o.leg));
      const covered = live.reduce((q, o) => q + o.qty, 0);
      if (covered < need) {
        // The stop goes where the manager wants it (heldStop answers from this row), under a new seed.
        const reprotects = r.reprotects + 1;
        Object.assign(r, state, { stop: move.stop, reprotects });
        await saveStopState(this.d.sql, r, { ...state, stop: move.stop, reprotects });
        return replaceExits(
          this.d.kernel.d,
          ctx,
          r,
          `the position's stops cover ${covered} of ${need} contract(s)`,
        );
      }
      if (live.every((o) => moved.has(o.clientOrderId))) {
        Object.assign(r, state);
        await saveStopState(this.d.sql, r, state);
        const event = move.kind === "break_even" ? "StopMovedToBreakEven" : "StopTrailed";
        log.info(
          {
            event,
            contract: r.contract,
            side: r.side,
            stop: toStr(move.stop),
            entry: toStr(r.entry),
            best: toStr(state.best),
            last: toStr(last),
            orders: live.length,
          },
          move.kind === "break_even" ? "stop moved to break-even" : "stop trailed",
        );
        return true;
      }
      log.warn(
        {
          event: "StopMoveIncomplete",
          contract: r.contract,
          stop: toStr(move.stop),
          moved: moved.size,
          of: live.length,
        },
        "the broker did not move every stop; the next quote tries again",
      );
      return false;
    });
  }

  private async end(m: Managed, reason: string): Promise<boolean> {
    if (m.ended) return true;
    this.remove(m);
    await dropManagedStop(this.d.sql, m.row).catch(() => undefined);
    this.d.logger.info(
      { event: "StopManagementEnded", traderId: m.row.traderId, contract: m.row.contract, reason },
      "stop management ended",
    );
    return true;
  }

  private put(m: Managed): void {
    this.managed.set(keyOf(m.row), m);
    const q = `${m.row.accountId}|${m.row.contract}`;
    const set = this.byQuote.get(q) ?? new Set();
    set.add(m);
    this.byQuote.set(q, set);
  }

  private remove(m: Managed): void {
    m.ended = true;
    const k = keyOf(m.row);
    if (this.managed.get(k) === m) this.managed.delete(k);
    const q = `${m.row.accountId}|${m.row.contract}`;
    const set = this.byQuote.get(q);
    set?.delete(m);
    if (set?.size === 0) this.byQuote.delete(q);
  }

  /** Quotes for the contract (idempotent in every adapter); the loss monitor usually asked already. */
  private async watch(row: ManagedRow): Promise<void> {
    const session = this.d.session(row.accountId);
    if (!session) return;
    try {
      await session.subscribeQuotes(await this.d.spec(row.accountId, row.contract));
    } catch (error) {
      this.d.logger.warn(
        {
          event: "QuoteSubscribeFailed",
          accountId: row.accountId,
          contract: row.contract,
          reason: why(error),
        },
        "could not stream quotes for a managed stop; the loss monitor's subscription may still bring them",
      );
    }
  }
}
