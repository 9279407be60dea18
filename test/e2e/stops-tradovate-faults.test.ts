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

describe("stop management when the broker misbehaves (Tradovate)", () => {
  it("E06 a modify that gets no reply is settled from the broker's record: moved, not resent", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 4 }));
    await signal(f.token, { action: "buy" });
    tv.swallowReplies("order/modifyorder", 1, { user: f.user });
    await quote("21001", f, 21000);
    await waitFor(() => logged("StopMovedToBreakEven", f.traderId) === 1, "the move settled from the broker");
    expect(t.logs.some((l) => l.includes('"event":"StopModifyNotConfirmed"') && l.includes(f.traderId))).toBe(
      true,
    );
    expect(modifies(f)).toHaveLength(1);
    const [order] =
      await db.sql`select stop_price from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
    expect(Number(order?.stop_price)).toBe(21000);
    tv.clearFaults();
    await signal(f.token, { action: "exit" });
  });

  it("E07 a stop cancelled by hand at the broker is placed again at the managed price, with its target", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 4, breakEvenOffsetTicks: 1 }));
    await signal(f.token, { action: "buy" });
    const [stop] = stops(f);
    tv.venue.cancel(stop?.id ?? 0);
    await waitFor(async () => {
      const [row] =
        await db.sql`select status from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
      return row?.status === "cancelled";
    }, "the relay to see the stop cancelled");
    await quote("21001", f, 21000.25);
    await waitFor(() => logged("StopReplaced", f.traderId) === 1, "StopReplaced");
    const working = tv.venue.listOrders(f.account).filter((o) => o.status === "working");
    expect(working.map((o) => [o.type, o.qty, toNum(o.stopPrice ?? o.price ?? dec(0))]).sort()).toEqual([
      ["limit", 2, 21020],
      ["stop", 2, 21000.25],
    ]);
    expect(working[0]?.ocoGroup).toBeDefined();
    expect(working[0]?.ocoGroup).toBe(working[1]?.ocoGroup);
    expect(tv.venue.position(f.account, MNQ())?.netPos).toBe(2);
    expect(tv.duplicateClOrdIds()).toEqual([]);
    await signal(f.token, { action: "exit" });
  });

  it("E08 a refused modify leaves the stop in place; the next quote moves it; break-even still once", async () => {
    tv.setPrice(MNQ(), dec("21000"));
    const f = await follower(await recorder({ breakEvenTicks: 4 }));
    await signal(f.token, { action: "buy" });
    tv.rejectNext(
      "order/modifyorder",
      { failureReason: "AnotherCommandPending", failureText: "busy" },
      { user: f.user },
    );
    tv.setPrice(MNQ(), dec("21001"));
    await waitFor(
      () => t.logs.some((l) => l.includes('"event":"StopMoveIncomplete"') && l.includes(f.traderId)),
      "refused",
    );
    expect(stopAt(f)).toEqual([20998]);
    expect(logged("StopReplaced", f.traderId)).toBe(0);
    await quote("21001.25", f, 21000);
    await waitFor(() => logged("StopMovedToBreakEven", f.traderId) === 1, "moved once");
    expect(modifies(f)).toHaveLength(2);
    expect(stops(f).map((o) => o.qty)).toEqual([2]);
    tv.clearFaults();
    await signal(f.token, { action: "exit" });
  });
});
