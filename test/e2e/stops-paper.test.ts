/**
 * Paper has no trailing order of its own: trailing and break-even are run by the relay's stop manager
 * from the paper market's prices (POST /api/paper/prices), like on every broker without one.
 *
 * E21 a paper trail that would fit a native order (trigger 0, step 1) is still a plain stop, moved by the
 *     relay, never loosened; break-even fires once on top of it.
 * E22 an add that changes the average re-arms break-even from the new average: it fires again, once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toNum } from "../../src/domain/decimal";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, logLevel: "info" });
});
afterAll(async () => {
  await t?.stop();
  await db?.drop();
});

describe("stop management on paper", () => {
  it("E21 the relay trails a paper stop (no native order), never loosens it, break-even once", async () => {
    const s = await paperSetup(t, {
      multipliers: [1],
      settings: {
        quantity: 1,
        takeProfit: [{ ticks: 80, trimPercent: 100 }],
        stopLossTicks: 8,
        trailingStop: true,
        breakEvenTicks: 2,
        breakEvenOffsetTicks: 1,
      },
    });
    const account = s.accountIds[0] ?? "";
    const trader = s.traderIds[0] ?? "";
    const price = (p: string) => t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });
    await price("21000");
    const res = await t.webhook(s.token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
    expect(res.status).toBe(202);
    await waitFor(async () => {
      const [e] =
        await db.sql`select status from executions where signal_id = ${res.body.signalId as string}`;
      return e?.status === "done";
    }, "the entry");
    const stop = async () => {
      const book = await t.relay.services.paper.book(account);
      await t.relay.services.paper.sync(book);
      const stops = book.venue.listOrders(account).filter((o) => o.status === "working" && o.type === "stop");
      return stops.map((o) => toNum(o.stopPrice ?? (0n as never)));
    };
    expect(await stop()).toEqual([20998]);
    const at = async (p: string, want: number) => {
      await price(p);
      await waitFor(async () => ((await stop())[0] === want ? true : undefined), `the stop at ${want}`);
    };
    await at("21000.5", 21000.25); // 2 ticks: break-even (entry + 1) is tighter than the trail (20998.5)
    await at("21003", 21001); // the trail takes over
    await price("21001.5"); // pull-back: not loosened
    await at("21003.5", 21001.5);
    await waitFor(
      () => t.logs.some((l) => l.includes('"event":"StopTrailed"') && l.includes('"stop":"21001.5"')),
      "logged",
    );
    expect(
      t.logs.filter((l) => l.includes('"event":"StopMovedToBreakEven"') && l.includes(trader)),
    ).toHaveLength(1);
    expect(t.logs.filter((l) => l.includes('"event":"StopTrailed"') && l.includes(trader))).toHaveLength(2);
  });

  it("E22 an add re-arms break-even from the new average", async () => {
    const s = await paperSetup(t, {
      multipliers: [1],
      recorderName: "paper add",
      settings: { quantity: 1, avgDown: true, stopLossTicks: 8, breakEvenTicks: 4 },
    });
    const account = s.accountIds[0] ?? "";
    const trader = s.traderIds[0] ?? "";
    const price = (p: string) => t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });
    const buy = async (p: string) => {
      const res = await t.webhook(s.token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: p }));
      await waitFor(async () => {
        const [e] =
          await db.sql`select status from executions where signal_id = ${res.body.signalId as string}`;
        return e?.status === "done";
      }, "the execution");
    };
    const stop = async () => {
      const book = await t.relay.services.paper.book(account);
      await t.relay.services.paper.sync(book);
      return book.venue
        .listOrders(account)
        .filter((o) => o.status === "working" && o.type === "stop")
        .map((o) => toNum(o.stopPrice ?? (0n as never)));
    };
    const at = async (p: string, want: number) => {
      await price(p);
      await waitFor(async () => ((await stop())[0] === want ? true : undefined), `the stop at ${want}`);
    };
    await price("21000");
    await buy("21000");
    await at("21001", 21000); // break-even at the entry
    await buy("21001"); // average 21000.5: the stop is placed again from it, break-even re-armed
    expect(await stop()).toEqual([20998.5]);
    await at("21002", 21000.5); // 6 ticks over the new average: break-even at the new average
    const fired = () =>
      t.logs.filter((l) => l.includes('"event":"StopMovedToBreakEven"') && l.includes(trader));
    await waitFor(() => fired().length === 2, "two break-even lines");
    expect(fired().map((l) => JSON.parse(l).stop)).toEqual(["21000", "21000.5"]);
  });
});
