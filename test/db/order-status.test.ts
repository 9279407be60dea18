/**
 * The database applies the order status table (src/domain/order-status.ts) when orders are marked, one at
 * a time or many in one statement: every pair of the table, on a real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertIntent, markOrders } from "../../src/db/orders";
import { nextStatus, ORDER_STATUSES } from "../../src/domain/order-status";
import { createTestDatabase, type TestDatabase } from "../support/db";

let db: TestDatabase;
let accountId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const [a] = await db.sql`
    insert into accounts (name, broker, environment, credentials) values ('t', 'paper', 'demo', '\\x00') returning id`;
  accountId = a?.id as string;
});
afterAll(async () => db.drop());

describe("marking orders in the database", () => {
  it("S01 every (status, report) pair ends where the table says, in one batched statement", async () => {
    const pairs = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((report) => ({ from, report })));
    for (const [i, p] of pairs.entries()) {
      await insertIntent(db.sql, {
        clientOrderId: `st-${i}`,
        executionId: null,
        traderId: null,
        accountId,
        brokerAccountId: "A1",
        contract: "MNQZ6",
        leg: "tp1",
        side: "sell",
        type: "limit",
        qty: 1,
      });
      await db.sql`update broker_orders set status = ${p.from} where client_order_id = ${`st-${i}`}`;
    }
    await markOrders(
      db.sql,
      pairs.map((p, i) => ({ clientOrderId: `st-${i}`, status: p.report })),
    );
    const rows =
      await db.sql`select client_order_id, status from broker_orders where client_order_id like 'st-%'`;
    const got = new Map(rows.map((r) => [r.client_order_id as string, r.status as string]));
    for (const [i, p] of pairs.entries()) {
      expect(got.get(`st-${i}`), `${p.from} + ${p.report}`).toBe(nextStatus(p.from, p.report));
    }
  });
});
