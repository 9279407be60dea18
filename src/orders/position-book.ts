/**
 * The traders' booked positions in memory, so an execution plans without a database round trip.
 *
 * Exact by construction: the table has one writer (applyOrderFills, through the FillRecorder's bookings),
 * whose transaction returns the rows it wrote; the FillRecorder hands them here as soon as they commit.
 * Corrections (`sync` fills), flattens, paper fills and exits filled at the broker are all bookings, so
 * all pass through here. Writes by another process (a second relay on the database) are announced on
 * POSITIONS_CHANNEL in the writing transaction; their keys are dropped and read again on next use.
 *
 * Where there is doubt the book steps aside and the caller reads the database: a booking whose commit is
 * uncertain (an error after the statement went out), a listener that reconnected (notices may have been
 * missed), or a listener that stopped answering its own pings. Reads that raced a change are not kept.
 *
 * @example
 *   const hit = book.get(key);               // { row } (row undefined: flat, never booked) or undefined
 *   const row = hit ? hit.row : await readThrough(key);
 */
import { randomUUID } from "node:crypto";
import type { Sql } from "../db/client";
import {
  allPositions,
  POSITIONS_CHANNEL,
  type PositionKey,
  type PositionRow,
  positionKey,
} from "../db/positions";
import type { Logger } from "../log";

export interface PositionBookOptions {
  /** How often a ping goes round the listener; default 5 s. */
  pingMs?: number;
  /** Without a ping back for this long, the book is not trusted (notices may be lost); default 15 s. */
  trustMs?: number;
}

type Notice = { s?: string; k?: [string, string, string][]; ping?: number };

export class PositionBook {
  /** Names this process's writes in the notices (not INSTANCE_ID: a restarted relay reuses that). */
  readonly source = randomUUID();
  private readonly rows = new Map<string, PositionRow | undefined>();
  /** Keys another process changed since we last read them. */
  private readonly stale = new Set<string>();
  /** Per key, the change counter's value at its last change; reads that began earlier are not kept. */
  private readonly changedAt = new Map<string, number>();
  private changes = 0;
  /** The change counter at the last doubt: reads and loads that began earlier are not kept. */
  private doubtedAt = 0;
  /** Every row was loaded: a key with no entry has no row (flat, never booked). */
  private complete = false;
  private heardAt = 0;
  /** The listener missed its pings: not trusted until one comes back. */
  private lost = false;
  private pings = 0;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private loading: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly o: PositionBookOptions = {},
  ) {}

  /** Listens for other processes' writes, then loads every position row (listening first: none is missed). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.listen();
    this.heardAt = Date.now();
    await this.reload();
    this.timer = setInterval(() => void this.ping(), this.o.pingMs ?? 5_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.().catch(() => undefined);
    this.unlisten = undefined;
  }

  /** The booked row of a key (undefined row: never booked, flat), or undefined when it must be read. */
  get(key: PositionKey): { row: PositionRow | undefined } | undefined {
    if (this.stopped || this.deaf()) return undefined;
    const k = positionKey(key);
    if (this.stale.has(k)) return undefined;
    if (this.rows.has(k)) return { row: this.rows.get(k) };
    return this.complete ? { row: undefined } : undefined;
  }

  /**
   * Whether the listener stopped answering its pings: notices may be lost, so nothing is trusted until a
   * ping comes back (then everything is loaded again).
   */
  private deaf(): boolean {
    if (this.lost) return true;
    if (Date.now() - this.heardAt <= (this.o.trustMs ?? 15_000)) return false;
    this.lost = true;
    this.doubt("the position listener has not answered its ping");
    void this.relisten();
    return true;
  }

  /** The change counter now: pass it back to `remember` with what a read that starts now returns. */
  mark(): number {
    return this.changes;
  }

  /** Keeps a row read from the database, unless the key changed (or the book was doubted) since `since`. */
  remember(key: PositionKey, row: PositionRow | undefined, since: number): void {
    const k = positionKey(key);
    if (this.stopped || this.doubtedAt > since || (this.changedAt.get(k) ?? -1) > since) return;
    this.rows.set(k, row);
    this.stale.delete(k);
  }

  /** Rows this process's bookings wrote, as committed. */
  booked(rows: PositionRow[]): void {
    for (const row of rows) {
      const k = positionKey(row);
      this.rows.set(k, row);
      this.stale.delete(k);
      this.changedAt.set(k, ++this.changes);
    }
  }

  /**
   * A booking whose outcome is uncertain, a listener that reconnected: forget everything (the callers read
   * the database meanwhile) and load again.
   */
  doubt(why: string): void {
    this.rows.clear();
    this.stale.clear();
    this.complete = false;
    this.doubtedAt = ++this.changes;
    this.logger.info(
      { event: "PositionBookDoubted", reason: why },
      "positions are read from the database until reloaded",
    );
    if (!this.stopped) void this.reload();
  }

  private async reload(): Promise<void> {
    if (this.loading) return this.loading;
    const since = this.changes;
    this.loading = allPositions(this.sql)
      .then((rows) => {
        if (this.stopped || this.doubtedAt > since) return;
        for (const row of rows) this.remember(row, row, since);
        this.complete = true;
      })
      .catch((error) => {
        this.logger.warn(
          { event: "PositionBookNotLoaded", error: String(error) },
          "positions read from the database",
        );
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async listen(): Promise<void> {
    const { unlisten } = await this.sql.listen(
      POSITIONS_CHANNEL,
      (payload) => this.notice(payload),
      // Every (re)connection of the listener: notices may have been missed while it was away.
      () => {
        if (this.unlisten) this.doubt("the position listener reconnected");
      },
    );
    this.unlisten = unlisten;
  }

  private async relisten(): Promise<void> {
    if (this.stopped) return;
    const old = this.unlisten;
    this.unlisten = undefined;
    await old?.().catch(() => undefined);
    await this.listen().catch(() => undefined);
    await this.ping();
  }

  private async ping(): Promise<void> {
    const n = ++this.pings;
    await this
      .sql`select pg_notify(${POSITIONS_CHANNEL}, ${JSON.stringify({ s: this.source, ping: n })})`.catch(
      () => undefined,
    );
  }

  private notice(payload: string): void {
    let n: Notice;
    try {
      n = JSON.parse(payload) as Notice;
    } catch {
      return;
    }
    if (n.s === this.source) {
      if (n.ping === undefined) return; // our own write: already applied from the booking's result
      this.heardAt = Date.now();
      if (this.lost) {
        this.lost = false;
        this.doubt("the position listener answers again"); // load what changed while it was deaf
      }
      return;
    }
    for (const [traderId, brokerAccountId, contract] of n.k ?? []) {
      const k = positionKey({ traderId, brokerAccountId, contract });
      this.rows.delete(k);
      this.stale.add(k);
      this.changedAt.set(k, ++this.changes);
    }
  }
}
