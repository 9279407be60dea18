/**
 * The loss monitor on the paper broker, end to end through the relay: prices move the paper market, the
 * monitor breaches on the quote that crosses the limit, flattens once, blocks new entries with the reason,
 * and the kill switch stops, flattens and resumes, audited.
 */
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec, sub, toStr } from "../../src/domain/decimal";
import { asBrokerAccountId } from "../../src/domain/ids";
import { tradingDay } from "../../src/domain/trading-day";
import { requireAdmin } from "../../src/http/auth";
import type { Env } from "../../src/http/context";
import { emergencyRoutes } from "../../src/http/routes/emergency";
import { setAccountLossSettings } from "../../src/monitor/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { ADMIN_TOKEN } from "../support/relay";
import { waitFor } from "../support/wait";
import { bookedQty, eventsOf, type MonitoredRelay, settled, startMonitoredRelay } from "./harness";

let db: TestDatabase;
let m: MonitoredRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  m = await startMonitoredRelay({ url: db.url, logLevel: "info" });
});
afterAll(async () => {
  await m.stop();
  await db.drop();
});

interface Setup {
  recorderId: string;
  token: string;
  traderId: string;
  accountId: string;
}

/** A recorder, a paper account (or an existing one) and a trader with a daily loss limit. */
async function trader(o: {
  maxDailyLoss?: number;
  accountId?: string;
  settings?: Record<string, unknown>;
}): Promise<Setup> {
  const { t } = m;
  const recorder = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `Loss ${Math.random().toString(36).slice(2, 8)}`,
    quantity: 1,
    ...o.settings,
  });
  expect(recorder.status).toBe(201);
  let accountId = o.accountId;
  if (!accountId) {
    const account = await t.api<{ id: string }>("POST", "/api/accounts", { name: "Paper", broker: "paper" });
    expect(account.status).toBe(201);
    accountId = account.body.id;
  }
  const tr = await t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: recorder.body.id,
    accountId,
    ...(o.maxDailyLoss !== undefined ? { maxDailyLoss: o.maxDailyLoss } : {}),
  });
  expect(tr.status, JSON.stringify(tr.body)).toBe(201);
  return { recorderId: recorder.body.id, token: recorder.body.webhookToken, traderId: tr.body.id, accountId };
}

async function signal(token: string, body: Record<string, unknown>) {
  const res = await m.t.webhook(token, JSON.stringify(body));
  expect(res.status).toBe(202);
  return settled(m.t, res.body.signalId as string);
}

const price = async (symbol: string, p: string) => {
  const res = await m.t.api("POST", "/api/paper/prices", { symbol, price: p });
  expect(res.status).toBe(200);
};

const paperOrders = async (accountId: string) =>
  (await m.t.relay.services.pool.session(accountId)).workingOrders(asBrokerAccountId("PAPER"));

const ordersOf = async (traderId: string) =>
  m.t.sql<{ leg: string; status: string; order_type: string; filled_qty: number }[]>`
    select leg, status, order_type, filled_qty from broker_orders where trader_id = ${traderId} order by id`;

describe("loss monitor on paper", () => {
  it("L01 a price through the limit flattens the trader once, cancels its exits and blocks new entries", async () => {
    const s = await trader({
      maxDailyLoss: 50,
      settings: { takeProfit: [{ ticks: 200, trimPercent: 100 }], stopLossTicks: 200 },
    });
    const [opened] = await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "21000" });
    expect(opened?.decision).toBe("opened");
    expect(await paperOrders(s.accountId)).toHaveLength(2); // take-profit and stop working

    await price("MNQ1!", "20990"); // -20
    await price("MNQ1!", "20980"); // -40
    expect(eventsOf(m.events, "BreachDetected").filter((e) => e.traderId === s.traderId)).toHaveLength(0);
    await price("MNQ1!", "20975"); // -50: the limit

    await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === s.traderId),
      "the breach to be flattened",
    );
    const detected = eventsOf(m.events, "BreachDetected").filter((e) => e.traderId === s.traderId);
    expect(detected).toHaveLength(1);
    expect(detected[0]).toMatchObject({
      scope: "trader",
      limit: "50",
      pnl: "-50",
      recorderIds: [s.recorderId],
    });
    expect(await bookedQty(m.t, s.traderId)).toBe(0);
    expect(await paperOrders(s.accountId)).toHaveLength(0);
    // The paper broker liquidated: one flatten order of the trader, filled at the crossing price.
    const orders = await ordersOf(s.traderId);
    expect(orders.filter((o) => o.leg.startsWith("fl"))).toEqual([
      { leg: "fl1", status: "filled", order_type: "market", filled_qty: 1 },
    ]);
    await waitFor(async () => {
      const exits = (await ordersOf(s.traderId)).filter((o) => o.leg === "tp1" || o.leg === "sl1");
      return exits.length === 2 && exits.every((o) => o.status === "cancelled");
    }, "the exits marked cancelled");

    const view = (await m.loss()).traders.find((x) => x.traderId === s.traderId);
    expect(view).toMatchObject({ limit: "50", realized: "-50", unrealized: "0", total: "-50", peak: "0" });
    expect(view?.breach?.state).toBe("flat");
    expect(view?.breachedAt).not.toBeNull();

    // A new entry is refused with the reason; the price moving further changes nothing.
    const [blocked] = await signal(s.token, { ticker: "MNQ1!", action: "buy", price: "20970" });
    expect(blocked?.status).toBe("ignored");
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toMatch(/^entry refused: daily loss limit 50 hit at \d\d:\d\d \(P&L -50\.00\)$/);
    await price("MNQ1!", "20900");
    expect(eventsOf(m.events, "BreachDetected").filter((e) => e.traderId === s.traderId)).toHaveLength(1);
    expect((await ordersOf(s.traderId)).filter((o) => o.leg.startsWith("fl"))).toHaveLength(1);
    const [row] = await m.t
      .sql`select status, attempts, flattened_at from breaches where trader_id = ${s.traderId}`;
    expect(row).toMatchObject({ status: "flat", attempts: 1 });
    expect(row?.flattened_at).toBeInstanceOf(Date);
  });

  it("L02 the limit is overshot by no more than the price move between two quotes", async () => {
    // MES: $5 a point, 2 contracts = $10 a point; steps of 1.5 points = $15 a quote.
    const s = await trader({ maxDailyLoss: 100, settings: { quantity: 2 } });
    await signal(s.token, { ticker: "MES1!", action: "buy", price: "6000" });
    let p = dec("6000");
    for (let i = 0; i < 20; i++) {
      // The quote is evaluated as it arrives: the gate closes before the price request returns.
      if (m.monitor.gate({ traderId: s.traderId, accountId: s.accountId })) break;
      p = sub(p, dec("1.5"));
      await price("MES1!", toStr(p));
    }
    const breach = await waitFor(
      () => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === s.traderId),
      "flattened",
    );
    expect(breach.attempts).toBe(1);
    const detected = eventsOf(m.events, "BreachDetected").find((e) => e.traderId === s.traderId);
    expect(Number(detected?.pnl)).toBeLessThanOrEqual(-100);
    expect(Number(detected?.pnl)).toBeGreaterThan(-100 - 15);
    const view = (await m.loss()).traders.find((x) => x.traderId === s.traderId);
    expect(Number(view?.realized)).toBe(-105); // 7 quotes of 1.5 points x $10
  });

  it("L03 a trader sharing the contract is closed with its own market order; the other keeps its position", async () => {
    const a = await trader({ maxDailyLoss: 20, settings: { stopLossTicks: 300 } });
    const b = await trader({ accountId: a.accountId, settings: { stopLossTicks: 300 } });
    await signal(a.token, { ticker: "M2K1!", action: "buy", price: "2200" });
    await signal(b.token, { ticker: "M2K1!", action: "buy", price: "2200" });
    await price("M2K1!", "2196"); // M2K $5 a point: -20 each
    await waitFor(() => eventsOf(m.events, "BreachFlattened").find((e) => e.traderId === a.traderId), "flat");
    expect(await bookedQty(m.t, a.traderId)).toBe(0);
    expect(await bookedQty(m.t, b.traderId)).toBe(1);
    const ordersA = await ordersOf(a.traderId);
    expect(ordersA.find((o) => o.leg === "fl1")).toMatchObject({ status: "filled", order_type: "market" });
    await waitFor(
      async () => (await ordersOf(a.traderId)).find((o) => o.leg.startsWith("sl"))?.status === "cancelled",
      "a's stop cancelled after its close",
    );
    expect((await ordersOf(b.traderId)).find((o) => o.leg.startsWith("sl"))?.status).not.toBe("cancelled");
    const session = await m.t.relay.services.pool.session(a.accountId);
    const positions = await session.positions(asBrokerAccountId("PAPER"));
    expect(positions.find((p) => p.contract.startsWith("M2K"))?.netPos).toBe(1);
    expect(await paperOrders(a.accountId)).toHaveLength(1); // only b's stop
    // b is not blocked: its gate is open.
    expect(m.monitor.gate({ traderId: b.traderId, accountId: b.accountId })).toBeUndefined();
    expect(m.monitor.gate({ traderId: a.traderId, accountId: a.accountId })).toMatch(/daily loss limit 20/);
  });

  it("L04 an account limit: the broker's P&L breaches, every contract is liquidated and each book closes", async () => {
    const a = await trader({});
    const b = await trader({ accountId: a.accountId });
    await setAccountLossSettings(m.t.sql, a.accountId, { maxDailyLoss: dec(30) });
    await m.t.relay.services.directory.refresh();
    await waitFor(() => m.monitor.accountSettings(a.accountId)?.maxDailyLoss === dec(30), "limit loaded");
    await signal(a.token, { ticker: "MYM1!", action: "buy", price: "45000" });
    await signal(b.token, { ticker: "MYM1!", action: "buy", price: "45000" });
    await price("MYM1!", "44970"); // MYM $0.5 a point: 2 contracts x -30 x 0.5 = -30
    const flat = await waitFor(
      () =>
        eventsOf(m.events, "BreachFlattened").find(
          (e) => e.scope === "account" && e.accountId === a.accountId,
        ),
      "the account flattened",
    );
    expect(flat.recorderIds.sort()).toEqual([a.recorderId, b.recorderId].sort());
    const session = await m.t.relay.services.pool.session(a.accountId);
    expect(await session.positions(asBrokerAccountId("PAPER"))).toEqual([]);
    // Neither trader owned the whole position: each book was closed at the liquidation's price.
    for (const s of [a, b]) {
      expect(await bookedQty(m.t, s.traderId)).toBe(0);
      expect((await ordersOf(s.traderId)).find((o) => o.leg === "alloc")).toMatchObject({ status: "filled" });
      const view = (await m.loss()).traders.find((x) => x.traderId === s.traderId);
      expect(view?.realized).toBe("-15");
      expect(m.monitor.gate({ traderId: s.traderId, accountId: a.accountId })).toMatch(
        /^account daily loss limit 30 hit at/,
      );
    }
    const account = (await m.loss()).accounts.find((x) => x.accountId === a.accountId);
    expect(account).toMatchObject({ limit: "30", realized: "-30", total: "-30" });
  });

  it("L05 kill switch: stop refuses entries everywhere, flatten liquidates every account, resume; all audited", async () => {
    const s = await trader({ settings: { stopLossTicks: 100 } });
    const leaving = await trader({});
    await signal(s.token, { ticker: "NQ1!", action: "buy", price: "21000" });
    await signal(leaving.token, { ticker: "NQ1!", action: "buy", price: "21000" });
    const stop = await m.emergency<{ killSwitch: { stopped: boolean } }>("/stop", { reason: "news" });
    expect(stop.status).toBe(200);
    expect(stop.body.killSwitch.stopped).toBe(true);
    const other = await trader({});
    const [blocked] = await signal(other.token, { ticker: "NQ1!", action: "sell", price: "21000" });
    expect(blocked?.decision).toBe("blocked_risk");
    expect(blocked?.reason).toMatch(/kill switch: new entries stopped .* by admin \(news\)/);
    // Stopping entries never stops an exit.
    const [exited] = await signal(leaving.token, { ticker: "NQ1!", action: "exit", price: "21002" });
    expect(exited?.decision).toBe("closed");

    const flatten = await m.emergency<{ accounts: { accountId: string; state: string }[] }>("/flatten", {
      reason: "end of day",
    });
    expect(flatten.status).toBe(200);
    expect(flatten.body.accounts.find((a) => a.accountId === s.accountId)?.state).toBe("flat");
    expect(await bookedQty(m.t, s.traderId)).toBe(0);
    expect(await paperOrders(s.accountId)).toHaveLength(0);
    // Every account with a position was liquidated by its broker, and the stop went with the position.
    const orders = await ordersOf(s.traderId);
    expect(orders.find((o) => o.leg === "fl1")).toMatchObject({ status: "filled" });
    await waitFor(
      async () => (await ordersOf(s.traderId)).find((o) => o.leg.startsWith("sl"))?.status === "cancelled",
      "the stop cancelled with the position",
    );
    for (const x of (await m.loss()).traders) expect(x.positions).toEqual([]);

    const resume = await m.emergency<{ killSwitch: { stopped: boolean } }>("/resume");
    expect(resume.body.killSwitch.stopped).toBe(false);
    const [again] = await signal(other.token, { ticker: "NQ1!", action: "sell", price: "21004" });
    expect(again?.decision).toBe("opened");

    const audit = await m.t
      .sql`select actor, action, detail from audit where action like 'emergency.%' order by id`;
    expect(audit.map((r) => [r.actor, r.action])).toEqual([
      ["admin", "emergency.stop"],
      ["admin", "emergency.flatten"],
      ["admin", "emergency.resume"],
    ]);
    expect(eventsOf(m.events, "KillSwitchUsed").map((e) => e.action)).toEqual(["stop", "flatten", "resume"]);
    const [state] = await m.t.sql`select value from relay_state where key = 'kill_switch'`;
    expect(state?.value).toMatchObject({ stopped: false, flatten: { seq: 1, done: true } });
  });

  it("L06 the routes: bad bodies are refused, and behind the admin check a missing token is 401", async () => {
    const bad = await m.emergency<{ error: { code: string } }>("/stop", { reason: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    const unknown = await m.emergency<{ error: { code: string; message: string } }>("/stop", { why: "x" });
    expect(unknown.body.error.message).toMatch(/unknown field/);
    const app = new Hono<Env>();
    app.use("*", requireAdmin(m.t.relay.services.auth));
    app.route("/emergency", emergencyRoutes(m.t.relay.services, m.monitor));
    expect((await app.request("/emergency/stop", { method: "POST" })).status).toBe(401);
    const ok = await app.request("/emergency", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ stopped: false });
  });

  it("L07 an account's own trading-day roll is used for it; an unknown zone falls back to the relay's", async () => {
    const s = await trader({ maxDailyLoss: 1000 });
    await setAccountLossSettings(m.t.sql, s.accountId, {
      tradingDayRoll: "00:00",
      tradingDayTimeZone: "UTC",
    });
    await m.t.relay.services.directory.refresh();
    const rule = { roll: "00:00", timeZone: "UTC" };
    const view = await waitFor(async () => {
      const a = (await m.loss()).accounts.find((x) => x.accountId === s.accountId) as
        | { tradingDayRoll: string; tradingDayTimeZone: string; tradingDay: string }
        | undefined;
      return a?.tradingDayRoll === "00:00" ? a : undefined;
    }, "the override loaded");
    expect(view).toMatchObject({ tradingDayTimeZone: "UTC", tradingDay: tradingDay(new Date(), rule) });
    expect(m.monitor.dayOf(s.accountId)).toBe(tradingDay(new Date(), rule));
    expect((await m.loss()).traders.find((x) => x.traderId === s.traderId)?.tradingDay).toBe(
      tradingDay(new Date(), rule),
    );
    const changed = await setAccountLossSettings(m.t.sql, s.accountId, {
      tradingDayTimeZone: "Mars/Olympus",
    });
    expect(changed).toMatchObject({
      tradingDayRoll: "00:00",
      tradingDayTimeZone: "Mars/Olympus",
      maxDailyLoss: null,
    });
    await m.t.relay.services.directory.refresh();
    await waitFor(
      () => m.monitor.accountSettings(s.accountId)?.tradingDayTimeZone === "Mars/Olympus",
      "reloaded",
    );
    expect(m.monitor.ruleOf(s.accountId)).toEqual({ roll: "17:00", timeZone: "America/Chicago" });
    await setAccountLossSettings(m.t.sql, s.accountId, { tradingDayRoll: null, tradingDayTimeZone: null });
  });
});
