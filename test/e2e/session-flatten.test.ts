/**
 * Session flatten end to end on the Tradovate and ProjectX simulators, with an injected clock: a recorder
 * with `flattenAtWindowEnd` and an 08:30-15:00 Chicago window has one follower on each broker; when the
 * clock passes 15:00 both are flattened and their stops cancelled, once; entries are refused after the
 * close, and a restarted relay does not flatten the same close again but does flatten the next one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import type { RelayEvent } from "../../src/events";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let tv: TradovateSim;
let px: ProjectXSim;
let t: TestRelay;
let clock = new Date("2026-11-20T20:00:00Z"); // Friday 14:00 in Chicago, inside the window
const now = () => clock;
const env = () => ({
  TRADOVATE_DEMO_URL: tv.restUrl,
  TRADOVATE_LIVE_URL: tv.restUrl,
  TRADOVATE_MD_URL: tv.mdUrl,
  PROJECTX_API_URL: px.apiUrl,
  PROJECTX_RTC_URL: px.rtcUrl.replace(/^ws/, "http"),
});
const relay = () => startTestRelay({ url: db.url, logLevel: "debug", env: env(), now, lossMonitor: { now } });

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  px = new ProjectXSim({ hubPingMs: 500 });
  await Promise.all([tv.start(), px.start()]);
  t = await relay();
});
afterAll(async () => {
  await t.stop();
  await Promise.all([tv.stop(), px.stop()]);
  await db.drop();
});

let alert = 0;
async function send(token: string, action: string): Promise<string[]> {
  const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action, id: `s${alert++}` }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const done = await waitFor(async () => {
    const r = await t.api<{ executions: { status: string; decision: string }[] }>(
      "GET",
      `/api/signals/${res.body.signalId}`,
    );
    const e = r.body.executions;
    return e.length === 2 && e.every((x) => !["pending", "running"].includes(x.status)) ? e : undefined;
  }, `the ${action} to finish`);
  return done.map((e) => e.decision).sort();
}

const sessionFlattens = () => t.logs.filter((l) => l.includes('"SessionCloseFlatten"')).length;

describe("session flatten", () => {
  it("SF01 at the window's close both followers (Tradovate, ProjectX) are flattened and their stops cancelled, once; a restart does not flatten that close again, the next close is flattened", async () => {
    const tvIds = tv.addUser({
      name: "sf01",
      password: "pw",
      accounts: [{ name: "DSF01", balance: dec(100_000) }],
    });
    const pxIds = px.addUser({
      userName: "sf01",
      apiKey: "key-sf01",
      accounts: [{ name: "PRAC-SF01", balance: 50_000 }],
    });
    const tvSub = tvIds.accounts[0]?.id ?? 0;
    const pxSub = pxIds.accounts[0]?.id ?? 0;
    tv.setPrice(tv.front("MNQ"), dec("21000"));
    px.setPrice("MNQ", dec("21000"));
    const tvAcc = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: "tv",
      broker: "tradovate",
      credentials: { username: "sf01", password: "pw", appId: "Relay", deviceId: "d-sf01" },
    });
    const pxAcc = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: "px",
      broker: "projectx",
      environment: "demo",
      credentials: { userName: "sf01", apiKey: "key-sf01" },
    });
    const rec = await t.api<{ id: string; webhookToken: string; settings?: unknown }>(
      "POST",
      "/api/recorders",
      {
        name: "Session",
        quantity: 1,
        stopLossTicks: 40,
        tradingWindows: [{ start: "08:30", end: "15:00" }],
        timeZone: "America/Chicago",
        flattenAtWindowEnd: true,
      },
    );
    expect(rec.status, JSON.stringify(rec.body)).toBe(201);
    for (const [accountId, multiplier] of [
      [tvAcc.body.id, 1],
      [pxAcc.body.id, 2],
    ] as const) {
      const tr = await t.api("POST", "/api/traders", { recorderId: rec.body.id, accountId, multiplier });
      expect(tr.status, JSON.stringify(tr.body)).toBe(201);
    }
    // The first look records yesterday's close without flattening anything.
    await waitFor(async () => {
      const [row] =
        await t.sql`select window_end, done_at from session_flattens where recorder_id = ${rec.body.id}`;
      return row ? (row.window_end as Date).toISOString() : undefined;
    }, "the baseline close").then((close) => expect(close).toBe("2026-11-19T21:00:00.000Z"));

    expect(await send(rec.body.webhookToken, "buy")).toEqual(["opened", "opened"]);
    const tvPos = () => tv.venue.position(String(tvSub), tv.front("MNQ"))?.netPos ?? 0;
    const pxPos = () => px.positions(pxSub).reduce((n, p) => n + (p.type === 1 ? p.size : -p.size), 0);
    const tvWorking = () => tv.venue.listOrders(String(tvSub)).filter((o) => o.status === "working").length;
    const pxWorking = () => px.orders(pxSub).filter((o) => o.status === 1).length;
    expect([tvPos(), pxPos(), tvWorking(), pxWorking()]).toEqual([1, 2, 1, 1]);

    const closes: RelayEvent[] = [];
    t.relay.bus.on((e) => {
      if (e.type === "SessionCloseFlattened") closes.push(e);
    });
    clock = new Date("2026-11-20T21:00:01Z"); // 15:00:01 in Chicago: the window has closed
    await waitFor(() => (sessionFlattens() === 1 ? true : undefined), "the session flatten");
    await waitFor(async () => {
      await t.relay.sessionFlatten.settled();
      const [row] =
        await t.sql`select window_end, done_at from session_flattens where recorder_id = ${rec.body.id}`;
      return tvPos() === 0 && pxPos() === 0 && tvWorking() === 0 && pxWorking() === 0 && row?.done_at
        ? (row.window_end as Date).toISOString()
        : undefined;
    }, "both followers flat with no order working").then((close) =>
      expect(close).toBe("2026-11-20T21:00:00.000Z"),
    );
    const booked = await t.sql`
      select p.net_qty from positions p join traders tr on tr.id = p.trader_id where tr.recorder_id = ${rec.body.id}`;
    expect(booked.map((p) => p.net_qty)).toEqual([0, 0]);
    // The trader hears of it once: flat at the close, both followers.
    await waitFor(() => (closes.length > 0 ? true : undefined), "the session-close notification");
    expect(closes).toEqual([
      expect.objectContaining({ recorderId: rec.body.id, outcome: "flat", traders: 2 }),
    ]);

    // Entries are refused after the close; a later look does not flatten the same close again.
    expect(await send(rec.body.webhookToken, "buy")).toEqual([
      "skipped_outside_hours",
      "skipped_outside_hours",
    ]);
    clock = new Date("2026-11-20T21:30:00Z");
    await t.relay.sessionFlatten.tick();
    expect(sessionFlattens()).toBe(1);

    // Restarted after the close: the stored close is not flattened again.
    const flattenOrders = async () =>
      Number((await t.sql`select count(*)::int as n from broker_orders where leg like 'fl%'`)[0]?.n);
    const sent = await flattenOrders();
    expect(sent).toBeGreaterThanOrEqual(2); // one per follower, through the loss monitor's flatten
    await t.stop();
    t = await relay();
    await t.relay.sessionFlatten.tick();
    expect(sessionFlattens()).toBe(0);
    expect(await flattenOrders()).toBe(sent);

    // The next day's window: open again, and its close is flattened.
    clock = new Date("2026-11-21T20:00:00Z");
    expect(await send(rec.body.webhookToken, "buy")).toEqual(["opened", "opened"]);
    await waitFor(() => (tvPos() === 1 && pxPos() === 2 ? true : undefined), "open again");
    clock = new Date("2026-11-21T21:00:00Z");
    await waitFor(() => (sessionFlattens() === 1 ? true : undefined), "the next session flatten");
    await waitFor(async () => {
      await t.relay.sessionFlatten.settled();
      return tvPos() === 0 && pxPos() === 0 && tvWorking() === 0 && pxWorking() === 0 ? true : undefined;
    }, "flat after the next close");
    expect(px.duplicateCustomTags()).toEqual([]);
  });

  it("SF02 a flatten cut short by a restart is resumed for the same close, not started again", async () => {
    const ids = tv.addUser({
      name: "sf02",
      password: "pw",
      accounts: [{ name: "DSF02", balance: dec(100_000) }],
    });
    const sub = ids.accounts[0]?.id ?? 0;
    const acc = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: "tv2",
      broker: "tradovate",
      credentials: { username: "sf02", password: "pw", appId: "Relay", deviceId: "d-sf02" },
    });
    const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "Session 2",
      stopLossTicks: 40,
      tradingWindows: [{ start: "08:30", end: "15:00" }],
      flattenAtWindowEnd: true,
    });
    await t.api("POST", "/api/traders", { recorderId: rec.body.id, accountId: acc.body.id });
    clock = new Date("2026-11-23T20:00:00Z"); // Monday 14:00 in Chicago
    await waitFor(async () => {
      const [row] = await t.sql`select 1 from session_flattens where recorder_id = ${rec.body.id}`;
      return row ? true : undefined;
    }, "the baseline close");
    const res = await t.webhook(
      rec.body.webhookToken,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", id: "sf02" }),
    );
    expect(res.status).toBe(202);
    const position = () => tv.venue.position(String(sub), tv.front("MNQ"))?.netPos ?? 0;
    await waitFor(() => (position() === 1 ? true : undefined), "long 1");
    await waitFor(async () => {
      const [e] = await t.sql`select status from executions where signal_id = ${res.body.signalId as string}`;
      return e?.status === "done" ? true : undefined;
    }, "the entry and its stop");

    // The relay went down as the close was being flattened: the close is stored, its flatten not done.
    await t.stop();
    clock = new Date("2026-11-23T21:00:02Z");
    await db.sql`
      update session_flattens set window_end = '2026-11-23T21:00:00Z', done_at = null
       where recorder_id = ${rec.body.id}`;
    t = await relay();
    await waitFor(async () => {
      const [row] = await t.sql`select done_at from session_flattens where recorder_id = ${rec.body.id}`;
      const working = tv.venue.listOrders(String(sub)).filter((o) => o.status === "working").length;
      return position() === 0 && working === 0 && row?.done_at ? true : undefined;
    }, "the resumed flatten");
    await t.relay.sessionFlatten.tick();
    // Resumed, never started a second time (the first recorder's own closes are its business).
    const mine = (event: string) =>
      t.logs.filter((l) => l.includes(`"${event}"`) && l.includes(rec.body.id)).length;
    expect(mine("SessionCloseFlatten")).toBe(0);
    expect(mine("SessionFlattened")).toBe(1);
  });
});
