/**
 * The in-memory position book (src/orders/position-book.ts) and the FillRecorder that keeps it, on a real
 * PostgreSQL: the book follows every booking of its own process without a read, drops what another
 * process wrote (announced on the positions channel), steps aside where a booking's outcome is uncertain,
 * and a fill whose order has no row yet (written behind the order) waits for it instead of being lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerEvent } from "../../src/brokers/port";
import type { Sql } from "../../src/db/client";
import { insertIntent, type OrderIntent } from "../../src/db/orders";
import { type ContractSpec, specFromTable } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId, clientOrderId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { FillRecorder } from "../../src/orders/fills";
import { Journal } from "../../src/orders/journal";
import { PositionBook } from "../../src/orders/position-book";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let accountId: string;
const logs: string[] = [];
const logger = createLogger({ level: "debug", destination: { write: (l: string) => void logs.push(l) } });
const mnq = specFromTable("MNQZ6", new Date("2026-12-04T15:00:00Z")) as ContractSpec;

beforeAll(async () => {
  db = await createTestDatabase();
  const [a] = await db.sql`
    insert into accounts (name, broker, environment, credentials) values ('t', 'paper', 'demo', '\\x00') returning id`;
  accountId = a?.id as string;
});
afterAll(async () => db.drop());

/** A trader of its own (positions belong to traders). */
async function trader(): Promise<string> {
  const [r] = await db.sql`
    insert into recorders (name, webhook_token, settings) values ('r', ${`tok-${Math.random()}`}, '{}') returning id`;
  const [t] = await db.sql`
    insert into traders (recorder_id, account_id, broker_account_id) values (${r?.id as string}, ${accountId}, 'PAPER')
    returning id`;
  return t?.id as string;
}

/** One relay's worth of book, journal and fill recorder on its own connection. */
function relayParts(sql: Sql) {
  const book = new PositionBook(sql, logger, { pingMs: 50, trustMs: 60_000 });
  const journal = new Journal(sql, book);
  const fills = new FillRecorder(
    sql,
    logger,
    async () => mnq,
    journal,
    () => "paper",
    book,
  );
  return { book, journal, fills };
}

const intent = (traderId: string, leg: string, side: "buy" | "sell" = "buy"): OrderIntent => ({
  clientOrderId: clientOrderId(`sig-${Math.random()}`, traderId, leg),
  executionId: null,
  traderId,
  accountId,
  brokerAccountId: "PAPER",
  contract: mnq.name,
  leg,
  side,
  type: "market",
  qty: 1,
});

const filled = (id: string, brokerOrderId: string, side: "buy" | "sell" = "buy"): BrokerEvent => ({
  type: "OrderFilled",
  brokerAccountId: asBrokerAccountId("PAPER"),
  brokerOrderId: asBrokerOrderId(brokerOrderId),
  clientOrderId: asClientOrderId(id),
  contract: mnq.name,
  side,
  fill: { price: dec("21000"), qty: 1, at: new Date(), id: `f-${brokerOrderId}`, cumQty: 1 },
});

const key = (traderId: string) => ({ traderId, brokerAccountId: "PAPER", contract: mnq.name });

describe("the in-memory position book", () => {
  it("PB01 follows its own bookings as committed, and knows a trader never booked is flat, with no read", async () => {
    const { book, fills } = relayParts(db.sql);
    await book.start();
    try {
      const t = await trader();
      expect(book.get(key(t))).toEqual({ row: undefined });
      const order = intent(t, "entry");
      await insertIntent(db.sql, order);
      await fills.record(accountId, order.clientOrderId, mnq.name, "b1", {
        price: dec("21000"),
        qty: 1,
        at: new Date(),
        id: "pb01",
      });
      const hit = book.get(key(t));
      expect(hit?.row?.netQty).toBe(1);
      const [stored] =
        await db.sql`select net_qty, avg_price::text as avg from positions where trader_id = ${t}`;
      expect(hit?.row?.netQty).toBe(stored?.net_qty);
      expect(hit?.row?.avgPrice).toBe(dec(stored?.avg as string));
    } finally {
      await book.stop();
    }
  });

  it("PB02 drops a position another process booked, so the next look reads what that process wrote", async () => {
    const here = relayParts(db.sql);
    const there = relayParts(db.sql);
    await here.book.start();
    await there.book.start();
    try {
      const t = await trader();
      expect(here.book.get(key(t))).toEqual({ row: undefined });
      const order = intent(t, "entry");
      await insertIntent(db.sql, order);
      await there.fills.record(accountId, order.clientOrderId, mnq.name, "b2", {
        price: dec("21000"),
        qty: 1,
        at: new Date(),
        id: "pb02",
      });
      // The other process's notice arrives: this book no longer answers for the key.
      await waitFor(() => here.book.get(key(t)) === undefined, "the notice of the other process's write");
      expect((await here.journal.position(key(t)))?.netQty).toBe(1);
      // Read once, it is known again.
      expect(here.book.get(key(t))?.row?.netQty).toBe(1);
    } finally {
      await here.book.stop();
      await there.book.stop();
    }
  });

  it("PB03 a read that raced a booking is not kept; a doubt sends every look to the database until reloaded", async () => {
    const { book, journal, fills } = relayParts(db.sql);
    await book.start();
    try {
      const t = await trader();
      const since = book.mark();
      const order = intent(t, "entry");
      await insertIntent(db.sql, order);
      await fills.record(accountId, order.clientOrderId, mnq.name, "b3", {
        price: dec("21000"),
        qty: 1,
        at: new Date(),
        id: "pb03",
      });
      // A read that began before the booking (it saw no row) comes back after it: not kept.
      book.remember(key(t), undefined, since);
      expect(book.get(key(t))?.row?.netQty).toBe(1);

      book.doubt("test");
      expect(book.get(key(t))).toBeUndefined();
      expect((await journal.position(key(t)))?.netQty).toBe(1);
      await waitFor(() => book.get(key(t))?.row?.netQty === 1, "the book to be loaded again");
    } finally {
      await book.stop();
    }
  });
});

describe("a fill before its order's row", () => {
  it("WB04 a fill naming an order whose row is not written yet is held, then booked once the row exists", async () => {
    const { book, fills } = relayParts(db.sql);
    await book.start();
    try {
      const t = await trader();
      const order = intent(t, "entry");
      fills.handle(accountId, filled(order.clientOrderId, "b4"));
      // The report found no row: nothing booked, and its fill key not claimed either.
      await fills.drain();
      const [none] =
        await db.sql`select count(*)::int n from broker_fills where client_order_id = ${order.clientOrderId}`;
      expect(none?.n).toBe(0);

      await insertIntent(db.sql, order); // the row written behind the order lands
      await waitFor(async () => {
        const [p] = await db.sql`select net_qty from positions where trader_id = ${t}`;
        return p?.net_qty === 1 ? p : undefined;
      }, "the held fill to be booked");
      const [fillRows] =
        await db.sql`select count(*)::int n, sum(qty)::int q from broker_fills where client_order_id = ${order.clientOrderId}`;
      expect(fillRows).toEqual({ n: 1, q: 1 });
      expect(book.get(key(t))?.row?.netQty).toBe(1);
    } finally {
      await book.stop();
    }
  });

  it("WB05 a fill reported while its row is being written here waits for that write and is booked at once", async () => {
    const { book, journal, fills } = relayParts(db.sql);
    await book.start();
    try {
      const t = await trader();
      const order = intent(t, "entry");
      const writing = journal.intent(order); // behind the order: not committed yet
      fills.handle(accountId, filled(order.clientOrderId, "b5"));
      await writing;
      await waitFor(async () => {
        const [p] = await db.sql`select net_qty from positions where trader_id = ${t}`;
        return p?.net_qty === 1 ? p : undefined;
      }, "the fill to be booked");
      expect(
        logs.some((l) => l.includes('"event":"FillUnmatched"') || l.includes('"event":"FillWithoutOrder"')),
      ).toBe(false);
    } finally {
      await book.stop();
    }
  });
});
