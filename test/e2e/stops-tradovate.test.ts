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
import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { tradovateStopsWorld } from "../support/stops-tradovate";
import { waitFor } from "../support/wait";

const w = tradovateStopsWorld();
const { MNQ, recorder, follower, signal, stops, stopAt, modifies, logged, quote } = w;

describe("break-even and trailing stops on Tradovate", () => {
  it("E01 break-even moves the stop exactly once, same quantity, still OCO-linked with its target", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
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
      const [row] = await w.db.sql`select best_price from stop_management where trader_id = ${f.traderId}`;
      return row && Number(row.best_price) === 21004.25;
    }, "the best price stored");
    expect(modifies(f)).toHaveLength(1);
    expect(modifies(f)[0]?.body).toMatchObject({ orderType: "Stop", orderQty: 2, stopPrice: 21000.25 });
    const [stop] = stops(f);
    expect(stop?.qty).toBe(2);
    const target = w.tv.venue.listOrders(f.account).find((o) => o.status === "working" && o.type === "limit");
    expect(target?.ocoGroup).toBeDefined();
    expect(target?.ocoGroup).toBe(stop?.ocoGroup);
    expect(logged("StopMovedToBreakEven", f.traderId)).toBe(1);
    const [order] = await w.db.sql`
      select stop_price from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
    expect(Number(order?.stop_price)).toBe(21000.25);
    expect(w.tv.duplicateClOrdIds()).toEqual([]);
    await signal(f.token, { action: "exit" });
  });

  it("E02 a relay trail (trigger 4, step 4) follows in whole steps and never loosens", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
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
    w.tv.setPrice(MNQ(), dec("21000"));
    const rec = await recorder({ breakEvenTicks: 4 });
    const closed = await follower(rec);
    const open = await follower(rec);
    const rows = await signal(rec.webhookToken, { action: "buy" });
    expect(rows.map((r) => r.decision)).toEqual(["opened", "opened"]);
    w.tv.manual.liquidate(Number(closed.account), MNQ());
    await waitFor(
      () => logged("StopManagementEnded", closed.traderId) > 0,
      "management ended on the flat position",
    );
    await quote("21001.5", open, 21000);
    expect(modifies(open)).toHaveLength(1);
    expect(modifies(closed)).toHaveLength(0);
    expect((await w.db.sql`select 1 from stop_management where trader_id = ${closed.traderId}`).length).toBe(
      0,
    );
    await signal(rec.webhookToken, { action: "exit" });
  });

  it("E04 trailing with trigger 0 and step 1 is the broker's own TrailingStop: no modify from the relay", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ trailingStop: true }));
    await signal(f.token, { action: "buy" });
    const placed = w.tv.orders().filter((o) => o.user === f.user && o.orderType === "TrailingStop");
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ stopPrice: 20998, qty: 2, role: "oco" });
    await quote("21003", f, 21001);
    await quote("21002");
    await quote("21004", f, 21002);
    expect(modifies(f)).toHaveLength(0);
    expect((await w.db.sql`select 1 from stop_management where trader_id = ${f.traderId}`).length).toBe(0);
    await signal(f.token, { action: "exit" });
  });

  it("E05 a restart re-arms management from the database: break-even still fires, once", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 8 }));
    await signal(f.token, { action: "buy" });
    await quote("21001.75"); // 7 ticks: not yet
    await waitFor(async () => {
      const [row] = await w.db.sql`select best_price from stop_management where trader_id = ${f.traderId}`;
      return row && Number(row.best_price) === 21001.75;
    }, "the best price stored");
    await w.restart();
    expect(w.t.logs.some((l) => l.includes('"event":"StopManagementResumed"'))).toBe(true);
    await quote("21002", f, 21000);
    await quote("21003");
    await quote("21003.25");
    await waitFor(async () => {
      const [row] = await w.db
        .sql`select best_price, break_even_done from stop_management where trader_id = ${f.traderId}`;
      return row && Number(row.best_price) === 21003.25 && row.break_even_done;
    }, "the later quotes taken");
    expect(modifies(f).map((r) => (r.body as { stopPrice: number }).stopPrice)).toEqual([21000]);
    expect(logged("StopMovedToBreakEven", f.traderId)).toBe(1);
    await signal(f.token, { action: "exit" });
  });
});
