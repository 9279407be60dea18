/**
 * One alert, three paper traders with different multipliers: each ends with the right position, its own
 * exits, and an execution record that says what it did.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
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

type Exec = {
  status: string;
  decision: string;
  reason: string;
  orders: {
    leg: string;
    qty: number;
    status: string;
    price: string | null;
    stopPrice: string | null;
    fillPrice: string | null;
  }[];
};

async function settled(signalId: string, n: number): Promise<Exec[]> {
  return waitFor(async () => {
    const res = await t.api<{ executions: Exec[] }>("GET", `/api/signals/${signalId}`);
    const ex = res.body.executions;
    return ex.length === n && ex.every((e) => !["pending", "running"].includes(e.status)) ? ex : undefined;
  }, "executions to finish");
}

const positions = async (traderIds: string[]) =>
  Promise.all(
    traderIds.map(async (id) => {
      const res = await t.api<{ positions: { netQty: number; avgPrice: string; contract: string }[] }>(
        "GET",
        `/api/traders/${id}`,
      );
      return res.body.positions[0] ?? { netQty: 0 };
    }),
  );

describe("fan-out on paper", () => {
  it("F01 sizes each trader by its multiplier, fills at the alert price and brackets from the fill", async () => {
    const { token, traderIds } = await paperSetup(t, {
      multipliers: [1, 2, "0.5"],
      settings: {
        quantity: 2,
        takeProfit: [
          { ticks: 8, trimPercent: 50 },
          { ticks: 16, trimPercent: 100 },
        ],
        stopLossTicks: 12,
      },
    });
    const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000.25" }));
    expect(res.status).toBe(202);
    const ex = await settled(res.body.signalId as string, 3);
    expect(ex.map((e) => [e.status, e.decision])).toEqual([
      ["done", "opened"],
      ["done", "opened"],
      ["done", "opened"],
    ]);
    const ps = await positions(traderIds);
    expect(ps.map((p) => p.netQty)).toEqual([2, 4, 1]);
    expect(ps.every((p) => "avgPrice" in p && p.avgPrice === "21000.25")).toBe(true);

    // Trader 2 (4 contracts): TP1 2 @ +8 ticks, TP2 2 @ +16, each OCO with a stop 12 ticks below the fill.
    const legs = ex[1]?.orders
      .filter((o) => o.leg !== "entry")
      .map((o) => [o.leg, o.qty, o.price ?? o.stopPrice]);
    expect(legs).toEqual([
      ["tp1", 2, "21002.25"],
      ["sl1", 2, "20997.25"],
      ["tp2", 2, "21004.25"],
      ["sl2", 2, "20997.25"],
    ]);
    // Trader 3 (1 contract): the 50% target rounds to the whole contract; no leg is left without an exit.
    expect(ex[2]?.orders.filter((o) => o.leg !== "entry").map((o) => [o.leg, o.qty])).toEqual([
      ["tp1", 1],
      ["sl1", 1],
    ]);
  });

  it("F02 an exit flattens every trader's own quantity and cancels only its exits", async () => {
    const { token, traderIds } = await paperSetup(t, {
      multipliers: [1, 3],
      settings: { quantity: 1, stopLossTicks: 20 },
      recorderName: "exit test",
    });
    const open = await t.webhook(token, JSON.stringify({ ticker: "ES1!", action: "sell", price: "5000" }));
    await settled(open.body.signalId as string, 2);
    expect((await positions(traderIds)).map((p) => p.netQty)).toEqual([-1, -3]);
    const exit = await t.webhook(token, JSON.stringify({ ticker: "ES1!", action: "exit", price: "4990" }));
    const ex = await settled(exit.body.signalId as string, 2);
    expect(ex.map((e) => e.decision)).toEqual(["closed", "closed"]);
    expect((await positions(traderIds)).map((p) => p.netQty)).toEqual([0, 0]);
    // The stops from the open are cancelled, the closes are filled.
    const [openView] = await Promise.all([
      t.api<{ executions: Exec[] }>("GET", `/api/signals/${open.body.signalId}`),
    ]);
    const stops = openView.body.executions.flatMap((e) => e.orders.filter((o) => o.leg.startsWith("sl")));
    expect(stops.map((o) => o.status)).toEqual(["cancelled", "cancelled"]);
    expect(ex.flatMap((e) => e.orders.map((o) => [o.leg, o.status]))).toEqual([
      ["close", "filled"],
      ["close", "filled"],
    ]);
  });

  it("F03 same direction with avg-down off is ignored with the reason; a reverse closes then opens", async () => {
    const { token, traderIds } = await paperSetup(t, {
      multipliers: [1],
      settings: { quantity: 2 },
      recorderName: "rev",
    });
    const a = await t.webhook(token, JSON.stringify({ ticker: "NQ1!", action: "buy", price: "20000" }));
    await settled(a.body.signalId as string, 1);
    const b = await t.webhook(token, JSON.stringify({ ticker: "NQ1!", action: "buy", price: "20001" }));
    const [ignored] = await settled(b.body.signalId as string, 1);
    expect(ignored).toMatchObject({
      status: "ignored",
      decision: "ignored_same_direction",
      reason: "already long 2; avg-down is off",
    });
    const c = await t.webhook(token, JSON.stringify({ ticker: "NQ1!", action: "sell", price: "20010" }));
    const [reversed] = await settled(c.body.signalId as string, 1);
    expect(reversed?.decision).toBe("reversed");
    expect(reversed?.orders.map((o) => [o.leg, o.qty, o.status])).toEqual([
      ["close", 2, "filled"],
      ["entry", 2, "filled"],
    ]);
    expect((await positions(traderIds))[0]?.netQty).toBe(-2);
  });

  it("F04 a paper take-profit fills when the paper market reaches it and the book follows", async () => {
    const { token, traderIds } = await paperSetup(t, {
      multipliers: [1],
      settings: { quantity: 1, takeProfit: [{ ticks: 4, trimPercent: 100 }], stopLossTicks: 4 },
      recorderName: "tp",
    });
    const a = await t.webhook(token, JSON.stringify({ ticker: "MES1!", action: "buy", price: "6000" }));
    await settled(a.body.signalId as string, 1);
    const moved = await t.api("POST", "/api/paper/prices", { symbol: "MES1!", price: "6001.25" });
    expect(moved.status).toBe(200);
    await waitFor(
      async () => ((await positions(traderIds))[0]?.netQty === 0 ? true : undefined),
      "the take-profit to close the position",
    );
    const trader =
      await db.sql`select realized_pnl from positions where trader_id = ${traderIds[0] as string}`;
    expect(trader[0]?.realized_pnl).toBe("5"); // 4 ticks x $1.25
    const view = await t.api<{ executions: Exec[] }>("GET", `/api/signals/${a.body.signalId}`);
    expect(view.body.executions[0]?.orders.map((o) => [o.leg, o.status])).toEqual([
      ["entry", "filled"],
      ["tp1", "filled"],
      ["sl1", "cancelled"],
    ]);
  });
});
