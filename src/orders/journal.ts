/**
 * The executor's bookkeeping, batched: in a fan-out every trader reads its position, stores its plan,
 * writes its order intents and marks its orders at about the same moment; the Journal turns each of those
 * into one statement per tick instead of one per trader.
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

export class Journal {
  private readonly positionReads: Batcher<PositionKey, PositionRow | undefined>;
  private readonly starts: Batcher<ExecutionStart, undefined>;
  private readonly finishes: Batcher<ExecutionFinish, undefined>;
  private readonly intents: Batcher<OrderIntent, { row: OrderRow; existed: boolean }>;
  private readonly marks: Batcher<OrderMark, undefined>;
  private readonly liveReads: Batcher<LiveOrdersQuery, OrderRow[]>;
  private readonly orderReads: Batcher<string, OrderRow | undefined>;

  constructor(readonly sql: Sql) {
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
  order(clientOrderId: string): Promise<OrderRow | undefined> {
    return this.orderReads.add(clientOrderId);
  }

  position(key: PositionKey): Promise<PositionRow | undefined> {
    return this.positionReads.add(key);
  }

  start(s: ExecutionStart): Promise<undefined> {
    return this.starts.add(s);
  }

  finish(f: ExecutionFinish): Promise<undefined> {
    return this.finishes.add(f);
  }

  intent(i: OrderIntent): Promise<{ row: OrderRow; existed: boolean }> {
    return this.intents.add(i);
  }

  mark(m: OrderMark): Promise<undefined> {
    return this.marks.add(m);
  }

  /** An order the broker confirmed it never received is about to be sent again under the same id. */
  reopen(i: OrderIntent): Promise<void> {
    return retryTransient(() => reopenIntent(this.sql, i));
  }
}
