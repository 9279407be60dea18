/** Trades kept in the fill-booking transaction (src/db/trades.ts), on a real database without a relay. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "../../src/db/accounts";
import { applyOrderFills, type FillReport, insertIntent } from "../../src/db/orders";
import { insertRecorder } from "../../src/db/recorders";
import { insertTrader } from "../../src/db/traders";
import { listTrades, widenTrades } from "../../src/db/trades";
import { dec } from "../../src/domain/decimal";
import { recorderSettingsSchema } from "../../src/domain/settings";
import { createLogger } from "../../src/log";
import { Excursions } from "../../src/monitor/excursions";
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

  it("ME05 the fills' extremes and value per point are booked with the trade; a continued trade only widens", async () => {
    const buy = await order("buy", 1, "M2KZ6");
    await applyOrderFills(db.sql, [report(buy, 1, "2000", 10)]);
    const extremes = () =>
      db.sql`select high_price::text as h, low_price::text as l, value_per_point::text as v
               from trades where contract = 'M2KZ6' order by id`;
    expect(await extremes()).toEqual([{ h: "2000", l: "2000", v: "5" }]);
    // A quote extreme written meanwhile (the loss monitor) is kept by the next fill's booking.
    await db.sql`update trades set high_price = 2010 where contract = 'M2KZ6'`;
    const add = await order("buy", 1, "M2KZ6");
    await applyOrderFills(db.sql, [report(add, 1, "1995", 11)]);
    expect(await extremes()).toEqual([{ h: "2010", l: "1995", v: "5" }]);
    const sell = await order("sell", 2, "M2KZ6");
    await applyOrderFills(db.sql, [report(sell, 2, "2004", 12)]);
    const [tr] = await listTrades(db.sql, { traderId });
    expect(tr?.contract).toBe("M2KZ6");
    expect([tr?.status, tr?.high, tr?.low, tr?.valuePerPoint]).toEqual([
      "closed",
      dec("2010"),
      dec("1995"),
      dec(5),
    ]);
  });

  it("ME06 a quote extreme goes to the trade open at the quote's time, never to the next one, and never narrows", async () => {
    // M2KZ6 (ME05): closed at minute 12. A new trade opens at minute 20.
    const buy = await order("buy", 1, "M2KZ6");
    await applyOrderFills(db.sql, [report(buy, 1, "2001", 20)]);
    const at = (minute: number) => new Date(Date.UTC(2026, 2, 10, 15, minute));
    const rows = () =>
      db.sql`select status, high_price::text as h, low_price::text as l from trades where contract = 'M2KZ6' order by id`;
    // Seen while the first trade was open (minute 11.5), written after it closed and the next opened.
    const n1 = await widenTrades(db.sql, [
      {
        traderId,
        brokerAccountId: "SUB-1",
        contract: "M2KZ6",
        high: { price: dec("2020"), at: new Date(at(11).getTime() + 30_000) },
        low: { price: dec("1990"), at: at(21) },
      },
    ]);
    expect(n1).toBe(2);
    expect(await rows()).toEqual([
      { status: "closed", h: "2020", l: "1995" },
      { status: "open", h: "2001", l: "1990" },
    ]);
    // Narrower extremes, a quote before any trade: nothing changes.
    const n2 = await widenTrades(db.sql, [
      {
        traderId,
        brokerAccountId: "SUB-1",
        contract: "M2KZ6",
        high: { price: dec("2015"), at: at(11) },
        low: { price: dec("1000"), at: at(0) },
      },
    ]);
    expect(n2).toBe(0);
    expect(await rows()).toEqual([
      { status: "closed", h: "2020", l: "1995" },
      { status: "open", h: "2001", l: "1990" },
    ]);
  });

  it("ME08 quote extremes are written behind: one statement per throttle window however many quotes, at once on close", async () => {
    const at = (minute: number, s = 0) => new Date(Date.UTC(2026, 2, 10, 15, minute, s));
    let statements = 0;
    // Counts the statements the tracker runs (sql`...` calls; fragments and json() are property reads).
    const counted = new Proxy(db.sql, {
      apply(target, self, args) {
        statements++;
        return Reflect.apply(target, self, args);
      },
    });
    let now = 100_000;
    const ex = new Excursions(counted, createLogger({ level: "silent" }), () => now, 2_000);
    const high = async () =>
      (
        await db.sql`select high_price::text as h, low_price::text as l from trades where contract = 'MYMZ6' and status <> 'cut' order by id desc limit 1`
      )[0];

    const buy = await order("buy", 1, "MYMZ6");
    const [opened] = await applyOrderFills(db.sql, [report(buy, 1, "40000", 30)]);
    await ex.onApplied(accountId, opened?.applied as never);
    expect(statements).toBe(0);
    // A thousand quotes, rising: one write at the next flush.
    for (let i = 1; i <= 1000; i++) ex.onQuote(accountId, "MYMZ6", dec(40000 + i), at(31, i % 60));
    await ex.flush();
    expect(statements).toBe(1);
    expect(await high()).toEqual({ h: "41000", l: "40000" });
    // Quotes inside the known extremes are no news; a new high within the window waits for it.
    ex.onQuote(accountId, "MYMZ6", dec("40500"), at(32));
    ex.onQuote(accountId, "MYMZ6", dec("41005"), at(32));
    now += 1_000;
    await ex.flush();
    expect(statements).toBe(1);
    now += 1_000;
    await ex.flush();
    expect(statements).toBe(2);
    expect(await high()).toEqual({ h: "41005", l: "40000" });
    await ex.flush();
    expect(statements).toBe(2);
    // A new low, then the close within the throttle window: written at once by the close.
    ex.onQuote(accountId, "MYMZ6", dec("39990"), at(33));
    const sell = await order("sell", 1, "MYMZ6");
    const [closed] = await applyOrderFills(db.sql, [report(sell, 1, "40001", 34)]);
    await ex.onApplied(accountId, closed?.applied as never);
    expect(statements).toBe(3);
    const [row] =
      await db.sql`select status, high_price::text as h, low_price::text as l from trades where contract = 'MYMZ6' order by id desc limit 1`;
    expect(row).toEqual({ status: "closed", h: "41005", l: "39990" });
    // A closed position is no longer followed.
    ex.onQuote(accountId, "MYMZ6", dec("50000"), at(35));
    now += 10_000;
    await ex.flush(true);
    expect(statements).toBe(3);
  });
});
