/**
 * History (issue 15) through a real relay on the paper broker: round-trip trades from booked fills, the
 * same trades as CSV, realized P&L per trading day, and the API's refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyOrderFills } from "../../src/db/orders";
import { dec } from "../../src/domain/decimal";
import { csvField } from "../../src/http/routes/trades";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { ADMIN_TOKEN, paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

type Trade = Record<string, unknown> & { id: string; status: string; pnl: string };
type Err = { error: { code: string; message: string } };

let alertId = 0;
async function send(token: string, body: Record<string, unknown>): Promise<void> {
  const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", id: `h${alertId++}`, ...body }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  await waitFor(async () => {
    const r = await t.api<{ executions: { status: string }[] }>("GET", `/api/signals/${res.body.signalId}`);
    const e = r.body.executions[0];
    return e && !["pending", "running"].includes(e.status) ? e : undefined;
  }, "the execution to finish");
}
const price = (p: string) => t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });
const netQty = async (traderId: string) =>
  ((await db.sql`select net_qty from positions where trader_id = ${traderId}`)[0]?.net_qty as number) ?? 0;

async function raw(path: string, token = ADMIN_TOKEN): Promise<Response> {
  return t.relay.app.request(path, { headers: { authorization: `Bearer ${token}` } });
}

/** RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF rows. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  return rows;
}

let ids: { recorderId: string; token: string; traderIds: string[]; accountIds: string[] };

describe("trades API", () => {
  it("TR01 buy, add, partial exit (take-profit trim), exit: one trade with the right averages and P&L", async () => {
    ids = await paperSetup(t, {
      multipliers: [1],
      settings: {
        quantity: 1,
        avgDown: true,
        takeProfit: [
          { ticks: 8, trimPercent: 50 },
          { ticks: 40, trimPercent: 50 },
        ],
        stopLossTicks: 40,
      },
    });
    const traderId = ids.traderIds[0] ?? "";
    await price("21000");
    await send(ids.token, { action: "buy", price: "21000" });
    await price("20998");
    await send(ids.token, { action: "buy", price: "20998" });
    expect(await netQty(traderId)).toBe(2);
    // Average 20999: tp1 (1 of 2) rests at 20999 + 8 ticks = 21001.
    await price("21001");
    await waitFor(async () => (await netQty(traderId)) === 1, "the take-profit trim");
    await price("21003");
    await send(ids.token, { action: "exit", price: "21003" });
    expect(await netQty(traderId)).toBe(0);

    const res = await t.api<{ trades: Trade[] }>("GET", `/api/trades?traderId=${traderId}`);
    expect(res.status).toBe(200);
    expect(res.body.trades).toHaveLength(1);
    expect(res.body.trades[0]).toMatchObject({
      traderId,
      recorderId: ids.recorderId,
      accountId: ids.accountIds[0],
      contract: expect.stringMatching(/^MNQ/),
      direction: "long",
      status: "closed",
      qty: 2,
      maxSize: 2,
      openQty: 0,
      entryPrice: "20999",
      exitPrice: "21002",
      exitQty: 2,
      // MNQ $2 a point: (21001 - 20999) x 2 + (21003 - 20999) x 2
      pnl: "12",
      fills: 4,
    });
    // The trade's P&L is what the position realized.
    const [p] = await db.sql`select realized_pnl::text as r from positions where trader_id = ${traderId}`;
    expect(p?.r).toBe("12");
  });

  it("TR02 a reverse closes one trade and opens the next; a fill booked twice changes no trade", async () => {
    const traderId = ids.traderIds[0] ?? "";
    await price("21000");
    await send(ids.token, { action: "buy", price: "21000" });
    await price("20995");
    await send(ids.token, { action: "sell", price: "20995" });
    expect(await netQty(traderId)).toBe(-1);
    const res = await t.api<{ trades: Trade[] }>("GET", `/api/trades?traderId=${traderId}`);
    const [open, reversed] = res.body.trades;
    expect(res.body.trades).toHaveLength(3);
    expect(reversed).toMatchObject({
      direction: "long",
      status: "closed",
      entryPrice: "21000",
      exitPrice: "20995",
      pnl: "-10",
    });
    expect(open).toMatchObject({
      direction: "short",
      status: "open",
      openQty: 1,
      entryPrice: "20995",
      exitPrice: null,
      pnl: "0",
    });

    // Booking a fill already booked again (same key) changes nothing.
    const before = await db.sql`select * from trades order by id`;
    const [fill] = await db.sql`
      select f.account_id, f.fill_key, f.client_order_id, f.qty, f.price::text as price, f.at, o.contract
        from broker_fills f join broker_orders o using (client_order_id) where o.trader_id = ${traderId}
       order by f.at desc limit 1`;
    const key = String(fill?.fill_key);
    await applyOrderFills(db.sql, [
      {
        accountId: String(fill?.account_id),
        fillKey: key,
        clientOrderId: String(fill?.client_order_id),
        qty: fill?.qty as number,
        price: dec(String(fill?.price)),
        at: fill?.at as Date,
        valuePerPoint: dec(2),
      },
    ]);
    expect(before.length).toBe(3);
    expect(await db.sql`select * from trades order by id`).toEqual(before);
  });

  it("TR03 the CSV holds the same trades as the JSON, exact decimals, RFC 4180", async () => {
    const q = `traderId=${ids.traderIds[0]}`;
    const json = await t.api<{ trades: Trade[] }>("GET", `/api/trades?${q}`);
    const res = await raw(`/api/trades.csv?${q}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    const text = await res.text();
    expect(text.endsWith("\r\n")).toBe(true);
    const [header, ...rows] = readCsv(text);
    expect(header?.[0]).toBe("id");
    expect(rows).toHaveLength(json.body.trades.length);
    rows.forEach((row, i) => {
      const fromJson = json.body.trades[i] as Trade;
      const obj = Object.fromEntries((header ?? []).map((h, k) => [h, row[k]]));
      for (const [k, v] of Object.entries(obj))
        expect(v, k).toBe(fromJson[k] === null ? "" : String(fromJson[k]));
    });
    expect(csvField('a,"b"\r\nc')).toBe('"a,""b""\r\nc"');
    expect(csvField(null)).toBe("");
  });

  it("TR04 daily P&L sums closed trades per trading day, split at the 17:00 Chicago roll", async () => {
    const traderId = ids.traderIds[0] ?? "";
    const trades = await t.api<{ trades: Trade[] }>("GET", `/api/trades?traderId=${traderId}`);
    const closed = trades.body.trades.filter((x) => x.status === "closed");
    expect(closed).toHaveLength(2);
    const [late, early] = closed as [Trade, Trade]; // newest first: the reverse (-10), then the first (+12)
    // Fixture: place the two closes a minute either side of Tuesday 2026-03-10's roll (17:00 CDT = 22:00Z).
    await db.sql`update trades set closed_at = '2026-03-10T21:59:00Z' where id = ${early.id}`;
    await db.sql`update trades set closed_at = '2026-03-10T22:01:00Z' where id = ${late.id}`;
    for (const by of ["trader", "account", "recorder"] as const) {
      const res = await t.api<{ days: Record<string, unknown>[] }>(
        "GET",
        `/api/pnl/daily?by=${by}&from=2026-03-09&to=2026-03-13`,
      );
      expect(res.status).toBe(200);
      const key = by === "trader" ? traderId : by === "account" ? ids.accountIds[0] : ids.recorderId;
      expect(res.body.days).toEqual([
        { tradingDay: "2026-03-10", [`${by}Id`]: key, realized: "12", trades: 1 },
        { tradingDay: "2026-03-11", [`${by}Id`]: key, realized: "-10", trades: 1 },
      ]);
    }
    // Both on one day once the later one is moved before the roll.
    await db.sql`update trades set closed_at = '2026-03-10T21:59:30Z' where id = ${late.id}`;
    const one = await t.api<{ days: Record<string, unknown>[] }>(
      "GET",
      "/api/pnl/daily?by=trader&from=2026-03-10&to=2026-03-10",
    );
    expect(one.body.days).toEqual([{ tradingDay: "2026-03-10", traderId, realized: "2", trades: 2 }]);
    // A range that holds neither day is empty.
    const none = await t.api<{ days: unknown[] }>(
      "GET",
      "/api/pnl/daily?by=trader&from=2026-03-11&to=2026-03-12",
    );
    expect(none.body.days).toEqual([]);
  });

  it("TR05 filters, newest first and the limit; bad queries get the error envelope; no token is 401", async () => {
    const all = await t.api<{ trades: Trade[] }>("GET", `/api/trades?recorderId=${ids.recorderId}&limit=2`);
    expect(all.body.trades).toHaveLength(2);
    const none = await t.api<{ trades: Trade[] }>(
      "GET",
      `/api/trades?accountId=00000000-0000-4000-8000-000000000000`,
    );
    expect(none.body.trades).toEqual([]);
    const future = await t.api<{ trades: Trade[] }>("GET", "/api/trades?from=2099-01-01T00:00:00Z");
    expect(future.body.trades).toEqual([]);

    const cases: [string, number, string][] = [
      ["/api/trades?traderId=nope", 400, "traderId"],
      ["/api/trades?limit=0", 400, "limit"],
      ["/api/trades?from=yesterday", 400, "from"],
      ["/api/trades?colour=red", 400, "colour"],
      ["/api/trades.csv?limit=10001", 400, "limit"],
      ["/api/trades?from=2026-03-11T00:00:00Z&to=2026-03-10T00:00:00Z", 422, "from"],
      ["/api/pnl/daily?by=desk&from=2026-03-10&to=2026-03-10", 400, "by"],
      ["/api/pnl/daily?by=trader&from=2026-3-10&to=2026-03-10", 400, "from"],
      ["/api/pnl/daily?by=trader&to=2026-03-10", 400, "from"],
      ["/api/pnl/daily?by=trader&from=2026-03-11&to=2026-03-10", 422, "from"],
      ["/api/pnl/daily?by=trader&from=2024-01-01&to=2026-03-10", 422, "from"],
    ];
    for (const [path, status, field] of cases) {
      const r = await t.api<Err>("GET", path);
      expect(r.status, path).toBe(status);
      expect(r.body.error.code, path).toBe(status === 400 ? "invalid_request" : "unprocessable");
      expect(r.body.error.message, path).toContain(field);
    }
    for (const path of [
      "/api/trades",
      "/api/trades.csv",
      "/api/pnl/daily?by=trader&from=2026-03-10&to=2026-03-10",
    ]) {
      const r = await raw(path, "wrong-token-wrong-token-wrong");
      expect(r.status, path).toBe(401);
      expect(((await r.json()) as Err).error.code).toBe("unauthorized");
    }
  });

  it("ME07 a trade's MFE and MAE come from the quotes seen while it was open, in the JSON and the CSV", async () => {
    const x = await paperSetup(t, { multipliers: [1], recorderName: "Excursions" });
    const traderId = x.traderIds[0] ?? "";
    await price("21000");
    await send(x.token, { action: "buy", price: "21000" });
    // The market runs 10.25 points for the trade and 7.5 against it, then it closes 5 points up.
    for (const p of ["21004", "21010.25", "21001", "20992.5", "20999"]) await price(p);
    await price("21005");
    await send(x.token, { action: "exit", price: "21005" });
    expect(await netQty(traderId)).toBe(0);
    // MNQ $2 a point, one contract: (21010.25 - 21000) x 2 and (20992.5 - 21000) x 2; written on close.
    const trade = await waitFor(async () => {
      const r = await t.api<{ trades: Trade[] }>("GET", `/api/trades?traderId=${traderId}`);
      const tr = r.body.trades[0];
      return tr?.status === "closed" && tr.mae === "-15" ? tr : undefined;
    }, "the trade's extremes");
    expect(trade).toMatchObject({
      entryPrice: "21000",
      exitPrice: "21005",
      pnl: "10",
      highPrice: "21010.25",
      lowPrice: "20992.5",
      mfe: "20.5",
      mae: "-15",
    });
    const res = await raw(`/api/trades.csv?traderId=${traderId}`);
    const [header, row] = readCsv(await res.text());
    const col = (name: string) => row?.[(header ?? []).indexOf(name)];
    expect([col("highPrice"), col("lowPrice"), col("mfe"), col("mae")]).toEqual([
      "21010.25",
      "20992.5",
      "20.5",
      "-15",
    ]);
  });
});
