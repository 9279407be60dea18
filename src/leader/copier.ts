/**
 * Leader copying (issue 14): a leader sub-account's own fills become signals for its recorder's
 * followers. Each fill of an order the relay did not place is read as a move of the leader's own
 * position (before -> after), recorded as a signal (source "leader") with an alert id derived from the
 * fill's identity, and dispatched like a webhook's signal: deduplicated, committed, then executed by the
 * dispatcher, executor and planner (src/domain/leader.ts decides what each follower does).
 *
 * Loop safety: a fill carrying one of our client order ids, or naming a broker order we recorded, is never
 * copied; a sub-account cannot lead a recorder it follows (refused by the database). Fills of one leader
 * are handled one at a time, in the order the session reported them.
 */
import type { BrokerEvent } from "../brokers/port";
import type { Sql } from "../db/client";
import {
  acceptLeaderSignal,
  type LeaderRow,
  leaderPosition,
  listLeaders,
  relayHolding,
  relayOrderInFlight,
} from "../db/leaders";
import { orderByBrokerId } from "../db/orders";
import type { Directory } from "../directory";
import type { ExecutionJob } from "../dispatch/executor";
import { type Dec, toStr } from "../domain/decimal";
import {
  asAccountId,
  asBrokerAccountId,
  asExecutionId,
  asRecorderId,
  asSignalId,
  asTraderId,
  isOurClientOrderId,
} from "../domain/ids";
import { type LeaderMove, leaderAlertId, leaderSignal } from "../domain/leader";
import { signalToJson } from "../domain/signal";
import type { Logger } from "../log";
import { fillKey } from "../orders/fills";
import type { SessionPool } from "../sessions/pool";

type Filled = Extract<BrokerEvent, { type: "OrderFilled" }>;

export interface LeaderCopierDeps {
  sql: Sql;
  logger: Logger;
  pool: SessionPool;
  directory: Directory;
  dispatch: (jobs: ExecutionJob[]) => void;
  instanceId: string;
  leaseMs: number;
  now?: () => Date;
  /** A fill whose order is not known yet on a sub-account we also trade: how long its reply may race it. */
  graceMs?: number;
  /** How long after a fill its contract is looked at again (a position trailing its fill report). */
  recheckMs?: number;
  /** After a session is ready, how long its replayed fills get before the positions are compared. */
  catchUpDelayMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LeaderCopier {
  private leaders: LeaderRow[] = [];
  private readonly chains = new Map<string, Promise<void>>();
  private unsubscribe?: () => void;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per (recorder, contract): a look again pending, dated by the oldest fill that asked for it. */
  private readonly rechecks = new Map<string, { at: Date }>();

  constructor(private readonly d: LeaderCopierDeps) {}

  /** Loads the leaders (before any session starts, so no fill finds them unknown); `warm` starts them. */
  async start(): Promise<void> {
    await this.load();
    this.unsubscribe = this.d.directory.onChange(() => void this.reload());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([...this.chains.values()]);
  }

  /** Resolves when every leader fill reported so far has been handled. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** Reads the leaders again and keeps their sessions warm (a leader need not be anyone's trader). */
  async reload(): Promise<void> {
    if (await this.load()) this.warm();
  }

  /** Starts the sessions of leaders whose login no trader uses. */
  warm(): void {
    for (const id of new Set(this.leaders.map((l) => l.accountId)))
      if (!this.d.pool.peek(id)) void this.d.pool.session(id).catch(() => undefined);
  }

  private async load(): Promise<boolean> {
    try {
      this.leaders = await listLeaders(this.d.sql);
      return true;
    } catch (error) {
      this.d.logger.warn({ event: "LeadersNotLoaded", error: String(error) }, "could not load leaders");
      return false;
    }
  }

  /** Feed for every broker event of every session. Never throws. */
  handle(accountId: string, event: BrokerEvent): void {
    if (this.stopped) return;
    if (event.type === "SessionChanged" && event.status.state === "ready") {
      // After the fills a session replays on connecting (given time to arrive first): what it did not.
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.stopped) return;
        for (const leader of this.leaders)
          if (leader.accountId === accountId) this.enqueue(leader, () => this.catchUp(leader));
      }, this.d.catchUpDelayMs ?? 2_000);
      this.timers.add(timer);
      return;
    }
    if (event.type !== "OrderFilled") return;
    for (const leader of this.leaders)
      if (leader.accountId === accountId && leader.brokerAccountId === event.brokerAccountId)
        this.enqueue(leader, () => this.copy(leader, event));
  }

  /** One leader's work runs in order, one piece at a time. */
  private enqueue(leader: LeaderRow, work: () => Promise<void>): void {
    const key = leader.recorderId;
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(work)
      .catch((error) =>
        this.d.logger.error(
          { event: "LeaderFillNotCopied", recorderId: key, error: String(error) },
          "a leader fill could not be copied",
        ),
      );
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private async copy(leader: LeaderRow, e: Filled): Promise<void> {
    const log = this.d.logger.child({ recorderId: leader.recorderId, brokerOrderId: e.brokerOrderId });
    if (await this.ours(leader, e)) {
      log.debug({ event: "LeaderFillOurs" }, "a fill of the relay's own order on a leader: not copied");
      return;
    }
    // Looked at again shortly: a position that trailed the fill report, a burst read half way, one of
    // our own fills on the same sub-account not booked yet, a failure below. The broker is the truth.
    this.recheck(leader, e.contract, e.fill.at);
    const venue = this.d.pool.peek(leader.accountId)?.venue ?? "";
    const key = `${venue}|${fillKey(e.brokerOrderId, e.fill)}`;
    // A fill delivered again (reconnect, restart) is already a signal: nothing to read or send.
    if (await this.seen(leader, key)) return;
    const signed = e.side === "buy" ? e.fill.qty : -e.fill.qty;
    const stored = await leaderPosition(this.d.sql, leader.recorderId, e.contract);
    const after = await this.leaderOwn(leader, e.contract, e.fill.at);
    // Unknown now: the re-look scheduled above copies it.
    if (after === undefined) return;
    if (after === stored) {
      log.debug(
        { event: "LeaderFillPending", key, position: after },
        "the broker does not show this fill (yet)",
      );
      return;
    }
    await this.emit(leader, {
      move: { before: stored ?? after - signed, after },
      contract: e.contract,
      at: e.fill.at,
      key,
      price: e.fill.price,
      detail: { side: e.side, qty: e.fill.qty },
    });
  }

  /** One look at the contract again after `recheckMs`, dated by the oldest fill that asked for it. */
  private recheck(leader: LeaderRow, contract: string, at: Date): void {
    const k = `${leader.recorderId}|${contract}`;
    const pending = this.rechecks.get(k);
    if (pending) {
      if (at < pending.at) pending.at = at;
      return;
    }
    const entry = { at };
    this.rechecks.set(k, entry);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.rechecks.delete(k);
      if (!this.stopped) this.enqueue(leader, () => this.sync(leader, contract, entry.at));
    }, this.d.recheckMs ?? 1_000);
    this.timers.add(timer);
  }

  /**
   * When the leader's session is (back) ready: a contract whose position at the broker differs from the
   * one last copied moved while no fill reached us (a restart on a broker that does not replay fills).
   * The move is copied as a signal dated when the leader was last seen, so by the age rules an exit or
   * trim always goes and an entry only while that is recent.
   */
  private async catchUp(leader: LeaderRow): Promise<void> {
    const rows = await this.d.sql`
      select contract, updated_at from leader_positions where recorder_id = ${leader.recorderId}`;
    for (const row of rows) await this.sync(leader, row.contract as string, row.updated_at as Date);
  }

  /** The leader's position at the broker against the one last copied; a difference is copied, dated `at`. */
  private async sync(leader: LeaderRow, contract: string, at: Date): Promise<void> {
    const [row] = await this.d.sql`
      select net_qty, updated_at from leader_positions
       where recorder_id = ${leader.recorderId} and contract = ${contract}`;
    if (!row) return;
    const stored = Number(row.net_qty);
    const now = await this.leaderOwn(leader, contract, at);
    if (now === undefined || now === stored) return;
    const key = `sync:${contract}:${stored}@${(row.updated_at as Date).getTime()}->${now}`;
    if (await this.seen(leader, key)) return;
    this.d.logger.warn(
      { event: "LeaderCaughtUp", recorderId: leader.recorderId, contract, before: stored, after: now },
      "the leader's position moved without a fill copied for it",
    );
    await this.emit(leader, { move: { before: stored, after: now }, contract, at, key, detail: {} });
  }

  private async seen(leader: LeaderRow, key: string): Promise<boolean> {
    const [row] = await this.d.sql`
      select id from signals where recorder_id = ${leader.recorderId} and alert_id = ${leaderAlertId(key)}`;
    if (row)
      this.d.logger.debug(
        { event: "LeaderFillDuplicate", recorderId: leader.recorderId, signalId: row.id, key },
        "leader fill seen before",
      );
    return !!row;
  }

  /** Records the leader's move as a signal (with its new position, in one transaction) and dispatches it. */
  private async emit(
    leader: LeaderRow,
    m: { move: LeaderMove; contract: string; at: Date; key: string; price?: Dec; detail: object },
  ): Promise<void> {
    const log = this.d.logger.child({ recorderId: leader.recorderId, key: m.key });
    const recorder = this.d.directory.recorder(leader.recorderId);
    if (!recorder?.enabled) {
      log.info({ event: "LeaderFillIgnored", reason: "recorder disabled" }, "recorder disabled");
      return;
    }
    const signal = leaderSignal({
      move: m.move,
      contract: m.contract,
      at: m.at,
      fillKey: m.key,
      ...(m.price !== undefined ? { price: m.price } : {}),
    });
    if (!signal) {
      log.info({ event: "LeaderFillNoMove", ...m.move }, "a leader fill left its position unchanged");
      return;
    }
    const alertId = signal.alertId ?? leaderAlertId(m.key);
    const receivedAt = this.d.now?.() ?? new Date();
    const signalId = crypto.randomUUID();
    const body = JSON.stringify({ fill: m.key, contract: m.contract, ...m.detail, ...m.move });
    const result = await acceptLeaderSignal(this.d.sql, {
      signalId,
      recorderId: leader.recorderId,
      webhook: {
        receivedAt,
        recorderId: leader.recorderId,
        tokenPrefix: null,
        sourceIp: null,
        contentType: "leader",
        headers: { source: "leader", accountId: leader.accountId, brokerAccountId: leader.brokerAccountId },
        body,
        bodyBytes: Buffer.byteLength(body),
      },
      alertId,
      fingerprint: alertId,
      dedupWindowMs: 0,
      signal: {
        action: signal.action,
        ticker: signal.ticker,
        ...(signal.quantity !== undefined ? { quantity: toStr(signal.quantity) } : {}),
        ...(signal.price !== undefined ? { price: toStr(signal.price) } : {}),
        time: m.at.toISOString(),
        ageMs: Math.max(0, receivedAt.getTime() - m.at.getTime()),
        payload: signalToJson(signal),
      },
      instanceId: this.d.instanceId,
      leaseMs: this.d.leaseMs,
      contract: m.contract,
      leaderAfter: m.move.after,
    });
    if (result.outcome !== "accepted") return;
    log.info(
      { event: "LeaderSignalAccepted", signalId, ...m.move, traders: result.executions.length },
      "leader fill copied as a signal",
    );
    this.d.dispatch(
      result.executions
        .filter((x) => x.local)
        .map((x) => ({
          executionId: asExecutionId(x.id),
          signalId: asSignalId(signalId),
          traderId: asTraderId(x.traderId),
          accountId: asAccountId(x.accountId),
          recorderId: asRecorderId(leader.recorderId),
          receivedAt,
          signal,
          resume: false,
        })),
    );
  }

  /** Whether the fill belongs to an order the relay placed (never copied: loop safety). */
  private async ours(leader: LeaderRow, e: Filled): Promise<boolean> {
    if (e.clientOrderId && isOurClientOrderId(e.clientOrderId)) return true;
    const venue = this.d.pool.peek(leader.accountId)?.venue;
    if (await orderByBrokerId(this.d.sql, leader.accountId, e.brokerOrderId, venue)) return true;
    // Only a sub-account the relay also trades can carry our orders; their reply may trail the fill.
    const trades = this.d.directory
      .allTraders()
      .some((t) => t.accountId === leader.accountId && t.brokerAccountId === leader.brokerAccountId);
    if (!trades) return false;
    await sleep(this.d.graceMs ?? 1_000);
    return !!(await orderByBrokerId(this.d.sql, leader.accountId, e.brokerOrderId, venue));
  }

  /**
   * The leader's own position now: the broker's, less what the relay's traders hold on that sub-account.
   * Undefined while it cannot be known: the broker cannot be read, or a market order of ours there is not
   * booked yet (then it is looked at again, dated `at`).
   */
  private async leaderOwn(leader: LeaderRow, contract: string, at: Date): Promise<number | undefined> {
    const { sql } = this.d;
    const traded = this.d.directory
      .allTraders()
      .some((t) => t.accountId === leader.accountId && t.brokerAccountId === leader.brokerAccountId);
    if (traded && (await relayOrderInFlight(sql, leader.accountId, leader.brokerAccountId, contract))) {
      this.d.logger.debug(
        { event: "LeaderWaitsForOurOrder", recorderId: leader.recorderId, contract },
        "an order of ours on the leader's sub-account is not booked yet; looking again shortly",
      );
      this.recheck(leader, contract, at);
      return undefined;
    }
    const session = await this.d.pool.session(leader.accountId);
    const positions = await session
      .positions(asBrokerAccountId(leader.brokerAccountId), { fresh: true })
      .catch(() => undefined);
    if (!positions) return undefined;
    const net = positions.find((p) => p.contract === contract)?.netPos ?? 0;
    return net - (await relayHolding(this.d.sql, leader.accountId, leader.brokerAccountId, contract));
  }
}
