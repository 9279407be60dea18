/**
 * A fill's identity (src/db/orders.ts applyOrderFills), on a real PostgreSQL: a fill key seen before is
 * the same fill told again only when its contents agree; another order's fill under a repeated broker id
 * is booked under a key of its own; other contents are a conflict, never silently dropped; a new fill id
 * naming an order already wholly filled is not that order's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyOrderFills, type FillReport, insertIntent } from "../../src/db/orders";
import { dec } from "../../src/domain/decimal";
import { createTestDatabase, type TestDatabase } from "../support/db";

let db: TestDatabase;
let accountId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const [a] = await db.sql`
    insert into accounts (name, broker, environment, credentials) values ('t', 'paper', 'demo', '\\x00') returning id`;
  accountId = a?.id as string;
  for (const id of ["fa", "fb"])
    await insertIntent(db.sql, {
      clientOrderId: id,
      executionId: null,
      traderId: null,
      accountId,
      brokerAccountId: "A1",
      contract: "MNQZ6",
      leg: "entry",
      side: "buy",
      type: "market",
      qty: 1,
    });
});
afterAll(async () => db.drop());

const at = new Date("2026-12-04T15:00:00Z");
const report = (clientOrderId: string, fillKey: string, price = "21000", when = at): FillReport => ({
  accountId,
  fillKey,
  clientOrderId,
  qty: 1,
  price: dec(price),
  at: when,
  valuePerPoint: dec(2),
});

describe("fill identity", () => {
  it("I01 the same fill told twice is booked once, with no conflict", async () => {
    const [first] = await applyOrderFills(db.sql, [report("fa", "tv:demo:h|id:7")]);
    expect(first?.applied?.order.filledQty).toBe(1);
    const [again] = await applyOrderFills(db.sql, [report("fa", "tv:demo:h|id:7")]);
    expect(again).toEqual({});
  });

  it("I02 the same key with another price is a conflict, reported and not booked", async () => {
    const [r] = await applyOrderFills(db.sql, [report("fa", "tv:demo:h|id:7", "21010")]);
    expect(r?.applied).toBeUndefined();
    expect(r?.conflict).toMatch(/reported again with other contents/);
  });

  it("I03 another order's fill under a repeated id is booked under its own key, and said so", async () => {
    const [r] = await applyOrderFills(db.sql, [
      report("fb", "tv:demo:h|id:7", "21005", new Date(at.getTime() + 60_000)),
    ]);
    expect(r?.applied?.order).toMatchObject({ clientOrderId: "fb", filledQty: 1 });
    expect(r?.conflict).toMatch(/seen before for another order: the broker reuses its ids/);
    const keys = await db.sql`select fill_key from broker_fills where client_order_id = 'fb'`;
    expect(keys.map((k) => k.fill_key)).toEqual(["tv:demo:h|id:7#fb"]);
  });

  it("I04 the same broker id on another venue is another fill", async () => {
    const [r] = await applyOrderFills(db.sql, [report("fa", "tv:live:h|id:7")]);
    // The order is already wholly filled: a fresh fill id naming it is not its fill (stale), not a double.
    expect(r).toEqual({ stale: true });
    const [row] = await db.sql`select filled_qty from broker_orders where client_order_id = 'fa'`;
    expect(row?.filled_qty).toBe(1);
  });
});
