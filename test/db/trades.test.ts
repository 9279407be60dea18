/** Trades kept in the fill-booking transaction (src/db/trades.ts), on a real database without a relay. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "../../src/db/accounts";
import { applyOrderFills, type FillReport, insertIntent } from "../../src/db/orders";
import { insertRecorder } from "../../src/db/recorders";
import { insertTrader } from "../../src/db/traders";
import { dec } from "../../src/domain/decimal";
import { recorderSettingsSchema } from "../../src/domain/settings";
import { createTestDatabase, type TestDatabase } from "../support/db";

let db: TestDatabase;
const accountId = "11111111-2222-4333-8444-555555555555";
let traderId = "";
beforeAll(async () => {
  db = await createTestDatabase();
  await insertAccount(db.sql, {
    id: accountId,
    name: "p",
    broker: "paper",
    environment: "demo",
    credentials: Buffer.from([1]),
  });
  const rec = await insertRecorder(db.sql, {
    name: "r",
    webhookToken: "tok-trades-db-0123456789",
    settings: recorderSettingsSchema.parse({}),
    enabled: true,
  });
  const tr = await insertTrader(db.sql, {
    recorderId: rec.id,
    accountId,
    brokerAccountId: "SUB-1",
    multiplier: dec(1),
    enabled: true,
    maxDailyLoss: null,
    overrides: {},
  });
  traderId = tr?.id ?? "";
});
afterAll(async () => db.drop());

let n = 0;
async function order(side: "buy" | "sell", qty: number, contract = "MESZ6"): Promise<string> {
  const id = `ord-${n++}`;
  await insertIntent(db.sql, {
    clientOrderId: id,
    executionId: null,
    traderId,
    accountId,
    brokerAccountId: "SUB-1",
    contract,
    leg: "entry",
    side,
    type: "market",
    qty,
  });
  return id;
}
const report = (clientOrderId: string, qty: number, price: string, minute: number): FillReport => ({
  accountId,
  fillKey: `|id:${clientOrderId}`,
  clientOrderId,
  qty,
  price: dec(price),
  at: new Date(Date.UTC(2026, 2, 10, 15, minute)),
  valuePerPoint: dec(5),
});
const trades = (contract: string) =>
  db.sql`select status, direction, entry_qty, entry_value::text as ev, exit_qty, exit_value::text as xv, net_qty,
                realized_pnl::text as pnl, fills from trades where contract = ${contract} order by id`;

describe("trades table", () => {
  it("TD01 the same fill reported many times at once is booked into one trade once", async () => {
    const buy = await order("buy", 2);
    const r = report(buy, 2, "5000", 1);
    await Promise.all([
      applyOrderFills(db.sql, [r, r]),
      applyOrderFills(db.sql, [r]),
      applyOrderFills(db.sql, [r]),
    ]);
    const sell = await order("sell", 2);
    const s = report(sell, 2, "5001.25", 2);
    await Promise.all([applyOrderFills(db.sql, [s]), applyOrderFills(db.sql, [s])]);
    expect(await trades("MESZ6")).toEqual([
      {
        status: "closed",
        direction: "long",
        entry_qty: 2,
        ev: "10000",
        exit_qty: 2,
        xv: "10002.5",
        net_qty: 0,
        pnl: "12.5",
        fills: 2,
      },
    ]);
    const [p] = await db.sql`select realized_pnl::text as r from positions where contract = 'MESZ6'`;
    expect(p?.r).toBe("12.5");
  });

  it("TD02 a position held without an open trade starts one from the book; a stale open trade is cut", async () => {
    // A position booked before trades were kept: no trade row.
    await db.sql`
      insert into positions (trader_id, account_id, broker_account_id, contract, net_qty, avg_price, realized_pnl, opened_at)
      values (${traderId}, ${accountId}, 'SUB-1', 'MNQZ6', -2, 21000, 0, now())`;
    const cover = await order("buy", 1, "MNQZ6");
    await applyOrderFills(db.sql, [report(cover, 1, "20990", 3)]);
    expect(await trades("MNQZ6")).toEqual([
      {
        status: "open",
        direction: "short",
        entry_qty: 2,
        ev: "42000",
        exit_qty: 1,
        xv: "20990",
        net_qty: -1,
        pnl: "50",
        fills: 1,
      },
    ]);
    // The position changes outside booked fills: the open trade no longer matches it and ends as cut.
    await db.sql`update positions set net_qty = 0, avg_price = null where contract = 'MNQZ6'`;
    const buy = await order("buy", 1, "MNQZ6");
    await applyOrderFills(db.sql, [report(buy, 1, "20980", 4)]);
    const rows = await trades("MNQZ6");
    expect(rows.map((r) => [r.status, r.direction, r.net_qty, r.pnl])).toEqual([
      ["cut", "short", -1, "50"],
      ["open", "long", 1, "0"],
    ]);
  });
});
