/**
 * Break-even and trailing stops on the Tradovate simulator when the broker misbehaves, through a real
 * relay (the happy paths are in stops-tradovate.test.ts).
 *
 * E06 a modify that gets no reply is settled from the broker's record: the stop is there, nothing resent.
 * E07 a stop gone at the broker (cancelled by hand) is placed again, at the managed price, OCO with a
 *     fresh take-profit: the position is never left without a stop.
 * E08 a modify the broker refuses leaves the stop where it was (still covering the position); the next
 *     quote moves it, and break-even is still logged once.
 */
import { describe, expect, it } from "vitest";
import { dec, toNum } from "../../src/domain/decimal";
import { tradovateStopsWorld } from "../support/stops-tradovate";
import { waitFor } from "../support/wait";

const w = tradovateStopsWorld();
const { MNQ, recorder, follower, signal, stops, stopAt, modifies, logged, quote } = w;

describe("stop management when the broker misbehaves (Tradovate)", () => {
  it("E06 a modify that gets no reply is settled from the broker's record: moved, not resent", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 4 }));
    await signal(f.token, { action: "buy" });
    w.tv.swallowReplies("order/modifyorder", 1, { user: f.user });
    await quote("21001", f, 21000);
    await waitFor(() => logged("StopMovedToBreakEven", f.traderId) === 1, "the move settled from the broker");
    expect(
      w.t.logs.some((l) => l.includes('"event":"StopModifyNotConfirmed"') && l.includes(f.traderId)),
    ).toBe(true);
    expect(modifies(f)).toHaveLength(1);
    const [order] = await w.db
      .sql`select stop_price from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
    expect(Number(order?.stop_price)).toBe(21000);
    w.tv.clearFaults();
    await signal(f.token, { action: "exit" });
  });

  it("E07 a stop cancelled by hand at the broker is placed again at the managed price, with its target", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 4, breakEvenOffsetTicks: 1 }));
    await signal(f.token, { action: "buy" });
    const [stop] = stops(f);
    w.tv.venue.cancel(stop?.id ?? 0);
    await waitFor(async () => {
      const [row] = await w.db
        .sql`select status from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
      return row?.status === "cancelled";
    }, "the relay to see the stop cancelled");
    await quote("21001", f, 21000.25);
    await waitFor(() => logged("StopReplaced", f.traderId) === 1, "StopReplaced");
    const working = w.tv.venue.listOrders(f.account).filter((o) => o.status === "working");
    expect(working.map((o) => [o.type, o.qty, toNum(o.stopPrice ?? o.price ?? dec(0))]).sort()).toEqual([
      ["limit", 2, 21020],
      ["stop", 2, 21000.25],
    ]);
    expect(working[0]?.ocoGroup).toBeDefined();
    expect(working[0]?.ocoGroup).toBe(working[1]?.ocoGroup);
    expect(w.tv.venue.position(f.account, MNQ())?.netPos).toBe(2);
    expect(w.tv.duplicateClOrdIds()).toEqual([]);
    await signal(f.token, { action: "exit" });
  });

  it("E08 a refused modify leaves the stop in place; the next quote moves it; break-even still once", async () => {
    w.tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 4 }));
    await signal(f.token, { action: "buy" });
    w.tv.rejectNext(
      "order/modifyorder",
      { failureReason: "AnotherCommandPending", failureText: "busy" },
      { user: f.user },
    );
    w.tv.setPrice(MNQ(), dec("21001"));
    await waitFor(
      () => w.t.logs.some((l) => l.includes('"event":"StopMoveIncomplete"') && l.includes(f.traderId)),
      "refused",
    );
    expect(stopAt(f)).toEqual([20998]);
    expect(logged("StopReplaced", f.traderId)).toBe(0);
    await quote("21001.25", f, 21000);
    await waitFor(() => logged("StopMovedToBreakEven", f.traderId) === 1, "moved once");
    expect(modifies(f)).toHaveLength(2);
    expect(stops(f).map((o) => o.qty)).toEqual([2]);
    w.tv.clearFaults();
    await signal(f.token, { action: "exit" });
  });
});
