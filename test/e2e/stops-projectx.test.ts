/**
 * Break-even and trailing stops end to end on the ProjectX simulator (REST + SignalR hubs), through a real
 * relay: webhook -> fill -> exits (adapter-side OCO) -> GatewayQuote -> the stop manager -> Order/modify.
 *
 * E11 break-even moves the stop exactly once (one Order/modify), same size, its target still working.
 * E12 trailing (trigger 4, step 4) follows in whole steps and is never loosened by a pull-back; the
 *     take-profit still cancels the moved stop when it fills (OCO kept).
 * E13 a position flattened by hand at the broker ends management: no modify for it, while another
 *     trader on the same quotes still gets its break-even.
 * E14 trailing that fits the gateway's own order (trigger 0, step 1) is a type 5 TrailingStop: the
 *     gateway trails it, the relay sends no modify.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let sim: ProjectXSim;
let t: TestRelay;
let n = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new ProjectXSim({ hubPingMs: 500 });
  await sim.start();
  sim.setPrice("MNQ", dec("21000"));
  t = await startTestRelay({
    url: db.url,
    logLevel: "info",
    env: { PROJECTX_API_URL: sim.apiUrl, PROJECTX_RTC_URL: sim.rtcUrl.replace(/^ws/, "http") },
  });
});
afterAll(async () => {
  await t?.stop();
  await sim?.stop();
  await db?.drop();
});

interface Follower {
  traderId: string;
  user: string;
  px: number;
}

async function recorder(settings: Record<string, unknown>) {
  n++;
  const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `px stops ${n}`,
    quantity: 2,
    takeProfit: [{ ticks: 80, trimPercent: 100 }],
    stopLossTicks: 8,
    ...settings,
  });
  expect(rec.status, JSON.stringify(rec.body)).toBe(201);
  return rec.body;
}

async function follower(rec: { id: string }): Promise<Follower> {
  n++;
  const user = `pxstops${n}`;
  const { accounts } = sim.addUser({
    userName: user,
    apiKey: `key-${user}`,
    accounts: [{ name: `PRAC-${user}`, balance: 50_000 }],
  });
  const acc = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
    name: `TopstepX ${user}`,
    broker: "projectx",
    environment: "demo",
    credentials: { userName: user, apiKey: `key-${user}` },
  });
  expect(acc.body.status, JSON.stringify(acc.body)).toBe("connected");
  const tr = await t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: rec.id,
    accountId: acc.body.id,
  });
  expect(tr.status, JSON.stringify(tr.body)).toBe(201);
  return { traderId: tr.body.id, user, px: accounts[0]?.id ?? 0 };
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

const open = (f: Follower) => sim.orders(f.px).filter((o) => o.status === 1);
const stops = (f: Follower) => open(f).filter((o) => o.type === 4 || o.type === 5);
const stopAt = (f: Follower) => stops(f).map((o) => o.stopPrice);
const modifies = (f: Follower) =>
  sim.recorder.requestsTo("/api/Order/modify").filter((r) => r.user === f.user);
const logged = (event: string, traderId: string) =>
  t.logs.filter((l) => l.includes(`"event":"${event}"`) && l.includes(traderId)).length;
const best = async (f: Follower, price: number) =>
  waitFor(async () => {
    const [row] = await db.sql`select best_price from stop_management where trader_id = ${f.traderId}`;
    return row && Number(row.best_price) === price;
  }, `the best price ${price} stored`);

async function quote(price: string, f?: Follower, want?: number): Promise<void> {
  sim.setPrice("MNQ", dec(price));
  if (f && want !== undefined)
    await waitFor(() => stopAt(f).length > 0 && stopAt(f).every((s) => s === want), `the stop at ${want}`);
}

describe("break-even and trailing stops on ProjectX", () => {
  it("E11 break-even moves the stop exactly once, same size, its target still working", async () => {
    sim.setPrice("MNQ", dec("21000"));
    const rec = await recorder({ breakEvenTicks: 8, breakEvenOffsetTicks: 1 });
    const f = await follower(rec);
    expect((await signal(rec.webhookToken, { action: "buy" }))[0]).toMatchObject({ decision: "opened" });
    expect(stopAt(f)).toEqual([20998]);
    await quote("21001");
    await quote("21002", f, 21000.25);
    await quote("21003");
    await quote("21001.5");
    await quote("21004.25");
    await best(f, 21004.25);
    expect(modifies(f)).toHaveLength(1);
    expect(modifies(f)[0]?.body).toMatchObject({ stopPrice: 21000.25, size: null, limitPrice: null });
    expect(stops(f).map((o) => o.size)).toEqual([2]);
    expect(open(f).filter((o) => o.type === 1)).toHaveLength(1);
    expect(logged("StopMovedToBreakEven", f.traderId)).toBe(1);
    expect(sim.duplicateCustomTags()).toEqual([]);
    await signal(rec.webhookToken, { action: "exit" });
  });

  it("E12 a relay trail (trigger 4, step 4) follows in whole steps, never loosens, and stays OCO", async () => {
    sim.setPrice("MNQ", dec("21000"));
    const rec = await recorder({
      trailingStop: true,
      trailTriggerTicks: 4,
      trailStepTicks: 4,
      takeProfit: [{ ticks: 16, trimPercent: 100 }],
    });
    const f = await follower(rec);
    await signal(rec.webhookToken, { action: "buy" });
    await quote("21000.5");
    await quote("21001", f, 20999);
    await quote("21001.5");
    await quote("21002", f, 21000);
    await quote("21001");
    await quote("21003.25", f, 21001);
    expect(modifies(f).map((r) => (r.body as { stopPrice: number }).stopPrice)).toEqual([
      20999, 21000, 21001,
    ]);
    await waitFor(() => logged("StopTrailed", f.traderId) === 3, "three StopTrailed lines");
    // The target (21004) fills: the moved stop is cancelled with it, the position is flat.
    sim.setPrice("MNQ", dec("21004"));
    await waitFor(
      () => open(f).length === 0 && sim.positions(f.px).length === 0,
      "flat with nothing working",
    );
    await waitFor(() => logged("StopManagementEnded", f.traderId) > 0, "management ended");
  });

  it("E13 a manual flatten at the broker ends management; another trader on the same quotes still moves", async () => {
    sim.setPrice("MNQ", dec("21000"));
    const rec = await recorder({ breakEvenTicks: 4 });
    const closed = await follower(rec);
    const other = await follower(rec);
    const rows = await signal(rec.webhookToken, { action: "buy" });
    expect(rows.map((r) => r.decision)).toEqual(["opened", "opened"]);
    sim.manual.flatten(closed.px, sim.contractId("MNQ"));
    await waitFor(
      () => logged("StopManagementEnded", closed.traderId) > 0,
      "management ended on the flat position",
    );
    await quote("21001.5", other, 21000);
    expect(modifies(other)).toHaveLength(1);
    expect(modifies(closed)).toHaveLength(0);
    await signal(rec.webhookToken, { action: "exit" });
  });

  it("E14 trailing with trigger 0 and step 1 is the gateway's type 5 TrailingStop: no modify from the relay", async () => {
    sim.setPrice("MNQ", dec("21000"));
    const rec = await recorder({ trailingStop: true });
    const f = await follower(rec);
    await signal(rec.webhookToken, { action: "buy" });
    const trailing = stops(f);
    expect(trailing.map((o) => ({ type: o.type, size: o.size, stopPrice: o.stopPrice }))).toEqual([
      { type: 5, size: 2, stopPrice: 20998 },
    ]);
    await quote("21003", f, 21001);
    await quote("21002");
    await quote("21004", f, 21002);
    expect(modifies(f)).toHaveLength(0);
    await signal(rec.webhookToken, { action: "exit" });
    expect(open(f)).toEqual([]);
  });
});
