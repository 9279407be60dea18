/**
 * The executor's bookkeeping, batched: in a fan-out every trader reads its position, stores its plan,
 * writes its order intents and marks its orders at about the same moment; the Journal turns each of those
 * into one statement per tick instead of one per trader.
 *
 * Positions come from the in-memory book (src/orders/position-book.ts) when it is sure, else from one
 * batched read. An intent may be written behind its order (the order leaves first, under its
 * deterministic id): until its row is committed, marks and reads of that id wait for it, so nothing
 * written about the order can land before the row it belongs to.
 */
import { Batcher } from "../db/batch";
import type { Sql } from "../db/client";
import {
  type ExecutionFinish,
  type ExecutionStart,
  finishExecutions,
  startExecutions,
} from "../db/executions";
import {
  insertIntents,
  type LiveOrdersQuery,
  liveOrdersMany,
  markOrders,
  type OrderIntent,
  type OrderMark,
  type OrderRow,
  ordersByClientIds,
  reopenIntent,
} from "../db/orders";
import { getPositions, type PositionKey, type PositionRow } from "../db/positions";
import { retryTransient } from "../db/transient";
import type { PositionBook } from "./position-book";

export class Journal {
  private readonly positionReads: Batcher<PositionKey, PositionRow | undefined>;
  private readonly starts: Batcher<ExecutionStart, undefined>;
  private readonly finishes: Batcher<ExecutionFinish, undefined>;
  private readonly intents: Batcher<OrderIntent, { row: OrderRow; existed: boolean }>;
  private readonly marks: Batcher<OrderMark, undefined>;
  private readonly liveReads: Batcher<LiveOrdersQuery, OrderRow[]>;
  private readonly orderReads: Batcher<string, OrderRow | undefined>;
  /** Intents being written, by client order id: what is written about those orders waits for them. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    readonly sql: Sql,
    readonly book?: PositionBook,
  ) {
    this.positionReads = new Batcher((keys) => retryTransient(() => getPositions(sql, keys)));
    this.starts = new Batcher(async (items) => {
      await retryTransient(() => startExecutions(sql, items));
      return items.map(() => undefined);
    });
    this.finishes = new Batcher(async (items) => {
      await retryTransient(() => finishExecutions(sql, items));
      return items.map(() => undefined);
    });
    this.intents = new Batcher((items) => retryTransient(() => insertIntents(sql, items)));
    this.marks = new Batcher(async (items) => {
      await retryTransient(() => markOrders(sql, items));
      return items.map(() => undefined);
    });
    this.liveReads = new Batcher((queries) => retryTransient(() => liveOrdersMany(sql, queries)));
    this.orderReads = new Batcher((ids) => retryTransient(() => ordersByClientIds(sql, ids)));
  }

  /** The trader's own live exits or resting entries in one contract, oldest first. */
  liveOrders(q: LiveOrdersQuery): Promise<OrderRow[]> {
    return this.liveReads.add(q);
  }

  /** Our order under a client order id, if it was ever written (a fan-out of closes asks at once). */
  async order(clientOrderId: string): Promise<OrderRow | undefined> {
    await this.written(clientOrderId);
    return this.orderReads.add(clientOrderId);
  }

  /**
   * The trader's booked position: from the in-memory book when it is sure, else read (and kept).
   * `read`: go to the database whatever the book says (a resumed execution, where there is doubt).
   */
  async position(key: PositionKey, o: { read?: boolean } = {}): Promise<PositionRow | undefined> {
    const hit = o.read ? undefined : this.book?.get(key);
    if (hit) return hit.row;
    const since = this.book?.mark() ?? 0;
    const row = await this.positionReads.add(key);
    this.book?.remember(key, row, since);
    return row;
  }

  /** Resolves once no intent for this id is being written (whether or not that write succeeded). */
  async written(clientOrderId: string): Promise<void> {
    const pending = this.writing.get(clientOrderId);
    if (pending) await pending.catch(() => undefined);
  }

  start(s: ExecutionStart): Promise<undefined> {
    return this.starts.add(s);
  }

  finish(f: ExecutionFinish): Promise<undefined> {
    return this.finishes.add(f);
  }

  intent(i: OrderIntent): Promise<{ row: OrderRow; existed: boolean }> {
    const written = this.intents.add(i);
    this.writing.set(i.clientOrderId, written);
    const done = () => {
      if (this.writing.get(i.clientOrderId) === written) this.writing.delete(i.clientOrderId);
    };
    written.then(done, done);
    return written;
  }

  async mark(m: OrderMark): Promise<undefined> {
    await this.written(m.clientOrderId);
    return this.marks.add(m);
  }

  /** An order the broker confirmed it never received is about to be sent again under the same id. */
  reopen(i: OrderIntent): Promise<void> {
    return retryTransient(() => reopenIntent(this.sql, i));
  }
}
