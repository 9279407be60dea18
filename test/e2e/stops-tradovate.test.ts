/**
 * Break-even and trailing stops end to end on the Tradovate simulator, through a real relay: webhook ->
 * fill -> exits -> the simulator's market moves -> md quotes -> the relay's stop manager -> modifyorder.
 *
 * E01 break-even moves the stop exactly once (one modifyorder), same quantity, still OCO with its target.
 * E02 trailing (trigger 4, step 4) follows in whole steps and is never loosened by a pull-back.
 * E03 a position closed by hand at the broker ends management: no modify for it, while another trader
 *     on the same quotes still gets its break-even.
 * E04 trailing that fits the broker's own order (trigger 0, step 1) is a native TrailingStop: the
 *     exchange trails it, the relay sends no modify.
 * E05 a restart re-arms management from the database: break-even still fires, once.
 * (E06, E07: test/e2e/stops-tradovate-faults.test.ts)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec, toNum } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let tv: TradovateSim;
let t: TestRelay;
let n = 0;
const MNQ = () => tv.front("MNQ");

const env = () => ({
  TRADOVATE_DEMO_URL: tv.restUrl,
  TRADOVATE_LIVE_URL: tv.restUrl,
  TRADOVATE_MD_URL: tv.mdUrl,
});

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  await tv.start();
  tv.setPrice(MNQ(), dec("21000"));
  t = await startTestRelay({ url: db.url, env: env(), logLevel: "info" });
});
afterAll(async () => {
  await t?.stop();
  await tv?.stop();
  await db?.drop();
});

interface Follower {
  token: string;
  traderId: string;
  user: string;
  account: string;
}

async function recorder(settings: Record<string, unknown>) {
  n++;
  const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `stops ${n}`,
    quantity: 2,
    takeProfit: [{ ticks: 80, trimPercent: 100 }],
    stopLossTicks: 8,
    ...settings,
  });
  expect(rec.status, JSON.stringify(rec.body)).toBe(201);
  return rec.body;
}

async function follower(rec: { id: string; webhookToken: string }): Promise<Follower> {
  n++;
  const user = `stops${n}`;
  const ids = tv.addUser({
    name: user,
    password: "pw-stops",
    accounts: [{ name: `STOPS${n}`, balance: dec(100_000) }],
  });
  const acc = await t.api<{ id: string }>("POST", "/api/accounts", {
    name: `tradovate stops ${n}`,
    broker: "tradovate",
    credentials: { username: user, password: "pw-stops", appId: "Relay", deviceId: user },
  });
  expect(acc.status, JSON.stringify(acc.body)).toBe(201);
  const tr = await t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: rec.id,
    accountId: acc.body.id,
  });
  expect(tr.status, JSON.stringify(tr.body)).toBe(201);
  return { token: rec.webhookToken, traderId: tr.body.id, user, account: String(ids.accounts[0]?.id) };
}

async function signal(token: string, body: Record<string, unknown>) {
  const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", price: "21000", ...body }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return waitFor(async () => {
    const rows = await db.sql`
      select status, decision, error from executions where signal_id = ${res.body.signalId as string}`;
    return rows.length > 0 &&
      rows.every((e) => !["pending", "running", "waiting_for_broker"].includes(e.status))
      ? rows
      : undefined;
  }, "the executions to finish");
}

const stops = (f: Follower) =>
  tv.venue.listOrders(f.account).filter((o) => o.status === "working" && o.type === "stop");
const stopAt = (f: Follower) => stops(f).map((o) => toNum(o.stopPrice ?? dec(0)));
const modifies = (f: Follower) => tv.requests({ endpoint: "order/modifyorder", user: f.user });
const logged = (event: string, traderId: string) =>
  t.logs.filter((l) => l.includes(`"event":"${event}"`) && l.includes(traderId)).length;

/** Moves the market and waits until the stop sits at `want` (or just lets the quote go when undefined). */
async function quote(price: string, f?: Follower, want?: number): Promise<void> {
  tv.setPrice(MNQ(), dec(price));
  if (f && want !== undefined)
    await waitFor(() => stopAt(f).every((s) => s === want) && stopAt(f).length > 0, `the stop at ${want}`);
}

describe("break-even and trailing stops on Tradovate", () => {
  it("E01 break-even moves the stop exactly once, same quantity, still OCO-linked with its target", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 8, breakEvenOffsetTicks: 1 }));
    expect((await signal(f.token, { action: "buy" }))[0]).toMatchObject({
      status: "done",
      decision: "opened",
    });
    expect(stopAt(f)).toEqual([20998]);
    await quote("21001"); // 4 ticks: not yet
    await quote("21002", f, 21000.25); // 8 ticks: entry + 1 tick
    await quote("21003");
    await quote("21001.5");
    await quote("21004");
    await quote("21004.25");
    // The manager has taken every quote once it stored the last one as the best price.
    await waitFor(async () => {
      const [row] = await db.sql`select best_price from stop_management where trader_id = ${f.traderId}`;
      return row && Number(row.best_price) === 21004.25;
    }, "the best price stored");
    expect(modifies(f)).toHaveLength(1);
    expect(modifies(f)[0]?.body).toMatchObject({ orderType: "Stop", orderQty: 2, stopPrice: 21000.25 });
    const [stop] = stops(f);
    expect(stop?.qty).toBe(2);
    const target = tv.venue.listOrders(f.account).find((o) => o.status === "working" && o.type === "limit");
    expect(target?.ocoGroup).toBeDefined();
    expect(target?.ocoGroup).toBe(stop?.ocoGroup);
    expect(logged("StopMovedToBreakEven", f.traderId)).toBe(1);
    const [order] = await db.sql`
      select stop_price from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
    expect(Number(order?.stop_price)).toBe(21000.25);
    expect(tv.duplicateClOrdIds()).toEqual([]);
    await signal(f.token, { action: "exit" });
  });

  it("E02 a relay trail (trigger 4, step 4) follows in whole steps and never loosens", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ trailingStop: true, trailTriggerTicks: 4, trailStepTicks: 4 }));
    await signal(f.token, { action: "buy" });
    expect(stopAt(f)).toEqual([20998]);
    await quote("21000.5"); // 2 ticks: below the trigger
    await quote("21001", f, 20999); // trigger reached: one step
    await quote("21001.5"); // half a step: no move
    await quote("21002", f, 21000);
    await quote("21001"); // pull-back: never loosened
    await quote("21003.25", f, 21001); // 3.25 steps covered: 3 whole steps
    expect(modifies(f).map((r) => (r.body as { stopPrice: number }).stopPrice)).toEqual([
      20999, 21000, 21001,
    ]);
    expect(stops(f).map((o) => o.qty)).toEqual([2]);
    await waitFor(() => logged("StopTrailed", f.traderId) === 3, "three StopTrailed lines");
    await signal(f.token, { action: "exit" });
    expect(stops(f)).toEqual([]);
  });

  it("E03 a manual close at the broker ends management; another trader on the same quotes still moves", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const rec = await recorder({ breakEvenTicks: 4 });
    const closed = await follower(rec);
    const open = await follower(rec);
    const rows = await signal(rec.webhookToken, { action: "buy" });
    expect(rows.map((r) => r.decision)).toEqual(["opened", "opened"]);
    tv.manual.liquidate(Number(closed.account), MNQ());
    await waitFor(
      () => logged("StopManagementEnded", closed.traderId) > 0,
      "management ended on the flat position",
    );
    await quote("21001.5", open, 21000);
    expect(modifies(open)).toHaveLength(1);
    expect(modifies(closed)).toHaveLength(0);
    expect((await db.sql`select 1 from stop_management where trader_id = ${closed.traderId}`).length).toBe(0);
    await signal(rec.webhookToken, { action: "exit" });
  });

  it("E04 trailing with trigger 0 and step 1 is the broker's own TrailingStop: no modify from the relay", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ trailingStop: true }));
    await signal(f.token, { action: "buy" });
    const placed = tv.orders().filter((o) => o.user === f.user && o.orderType === "TrailingStop");
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ stopPrice: 20998, qty: 2, role: "oco" });
    await quote("21003", f, 21001);
    await quote("21002");
    await quote("21004", f, 21002);
    expect(modifies(f)).toHaveLength(0);
    expect((await db.sql`select 1 from stop_management where trader_id = ${f.traderId}`).length).toBe(0);
    await signal(f.token, { action: "exit" });
  });

  it("E05 a restart re-arms management from the database: break-even still fires, once", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 8 }));
    await signal(f.token, { action: "buy" });
    await quote("21001.75"); // 7 ticks: not yet
    await waitFor(async () => {
      const [row] = await db.sql`select best_price from stop_management where trader_id = ${f.traderId}`;
      return row && Number(row.best_price) === 21001.75;
    }, "the best price stored");
    await t.stop();
    t = await startTestRelay({ url: db.url, env: env(), logLevel: "info" });
    expect(t.logs.some((l) => l.includes('"event":"StopManagementResumed"'))).toBe(true);
    await quote("21002", f, 21000);
    await quote("21003");
    await quote("21003.25");
    await waitFor(async () => {
      const [row] =
        await db.sql`select best_price, break_even_done from stop_management where trader_id = ${f.traderId}`;
      return row && Number(row.best_price) === 21003.25 && row.break_even_done;
    }, "the later quotes taken");
    expect(modifies(f).map((r) => (r.body as { stopPrice: number }).stopPrice)).toEqual([21000]);
    expect(logged("StopMovedToBreakEven", f.traderId)).toBe(1);
    await signal(f.token, { action: "exit" });
  });
});
