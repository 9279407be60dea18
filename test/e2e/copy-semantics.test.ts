/**
 * BRIEF section 5, row by row, through the whole relay, on the paper broker and on the Tradovate
 * simulator: what one signal does on one trader, what reaches the broker, and what the book says after.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

type Order = {
  leg: string;
  side: string;
  qty: number;
  type: string;
  price: string | null;
  stopPrice: string | null;
  status: string;
  fillPrice: string | null;
};
type Exec = { status: string; decision: string; reason: string; error: string | null; orders: Order[] };

interface Driver {
  name: "paper" | "tradovate";
  /** Creates a fresh account + recorder + trader; returns the webhook token and the trader id. */
  follower(settings: Record<string, unknown>): Promise<{ token: string; traderId: string }>;
  /** Moves the market (and, on paper, the alert price does it too). */
  price(p: string): Promise<void>;
  /** The broker's own position for the trader's account in the contract. */
  brokerPosition(traderId: string): Promise<number>;
}

let db: TestDatabase;
let sim: TradovateSim;
let t: TestRelay;
let users = 0;
const traderAccount = new Map<
  string,
  { broker: "paper" | "tradovate"; accountId: string; simAccountId?: number }
>();

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new TradovateSim();
  await sim.start();
  t = await startTestRelay({
    url: db.url,
    env: { TRADOVATE_DEMO_URL: sim.restUrl, TRADOVATE_LIVE_URL: sim.restUrl, TRADOVATE_MD_URL: sim.mdUrl },
  });
});
afterAll(async () => {
  await t.stop();
  await sim.stop();
  await db.drop();
});

async function createFollower(broker: "paper" | "tradovate", settings: Record<string, unknown>) {
  const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `${broker} row`,
    ...settings,
  });
  let credentials: Record<string, unknown> = {};
  let simAccountId: number | undefined;
  if (broker === "tradovate") {
    const name = `row${users++}`;
    const ids = sim.addUser({
      name,
      password: "pw",
      accounts: [{ name: `D${name}`, balance: dec(100_000) }],
    });
    simAccountId = ids.accounts[0]?.id;
    credentials = { username: name, password: "pw", appId: "Relay", deviceId: `d-${name}` };
  }
  const acc = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
    name: `${broker} acct`,
    broker,
    credentials,
  });
  expect(acc.body.status).toBe("connected");
  const tr = await t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: rec.body.id,
    accountId: acc.body.id,
  });
  traderAccount.set(tr.body.id, {
    broker,
    accountId: acc.body.id,
    ...(simAccountId !== undefined ? { simAccountId } : {}),
  });
  return { token: rec.body.webhookToken, traderId: tr.body.id };
}

const drivers: Driver[] = [
  {
    name: "paper",
    follower: (s) => createFollower("paper", s),
    price: async (p) => {
      await t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });
    },
    brokerPosition: async (traderId) => {
      const a = traderAccount.get(traderId);
      const book = await t.relay.services.paper.book(a?.accountId ?? "");
      const [c] = await db.sql`select contract from positions where trader_id = ${traderId} limit 1`;
      return book.venue.position(a?.accountId ?? "", (c?.contract as string) ?? "")?.netPos ?? 0;
    },
  },
  {
    name: "tradovate",
    follower: (s) => createFollower("tradovate", s),
    price: async (p) => sim.setPrice(sim.front("MNQ"), dec(p)),
    brokerPosition: async (traderId) => {
      const a = traderAccount.get(traderId);
      return sim.venue.position(String(a?.simAccountId), sim.front("MNQ"))?.netPos ?? 0;
    },
  },
];

let alertId = 0;
async function send(token: string, body: Record<string, unknown>): Promise<Exec> {
  // Each alert has its own id: two identical alerts within the dedup window would be one signal.
  const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", id: `a${alertId++}`, ...body }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const [e] = await waitFor(async () => {
    const r = await t.api<{ executions: Exec[] }>("GET", `/api/signals/${res.body.signalId}`);
    return r.body.executions.length === 1 &&
      !["pending", "running"].includes(r.body.executions[0]?.status ?? "")
      ? r.body.executions
      : undefined;
  }, "the execution to finish");
  return e as Exec;
}

async function book(traderId: string): Promise<{ netQty: number; avgPrice: string | null }> {
  const [p] = await db.sql`select net_qty, avg_price from positions where trader_id = ${traderId}`;
  return { netQty: (p?.net_qty as number) ?? 0, avgPrice: (p?.avg_price as string | null) ?? null };
}

async function liveExits(traderId: string): Promise<[string, number, string][]> {
  const rows = await db.sql`
    select leg, qty, coalesce(price, stop_price)::text as px from broker_orders
     where trader_id = ${traderId} and leg ~ '^(tp|sl)' and status in ('accepted', 'working') order by leg`;
  return rows.map((r) => [r.leg as string, r.qty as number, r.px as string]);
}

const bracket = { quantity: 1, takeProfit: [{ ticks: 8, trimPercent: 100 }], stopLossTicks: 12 };

for (const d of drivers) {
  describe(`copy semantics on ${d.name}`, () => {
    it(`T01 flat + buy: opens with entry and exits from the real fill`, async () => {
      const f = await d.follower(bracket);
      await d.price("21000");
      const e = await send(f.token, { action: "buy", price: "21000" });
      expect(e).toMatchObject({ status: "done", decision: "opened", reason: "opened long 1" });
      expect(await book(f.traderId)).toEqual({ netQty: 1, avgPrice: "21000" });
      expect(await liveExits(f.traderId)).toEqual([
        ["sl1", 1, "20997"],
        ["tp1", 1, "21002"],
      ]);
      expect(await d.brokerPosition(f.traderId)).toBe(1);
    });

    it(`T02 same direction with avg-down on: adds, and re-places exits from the new average`, async () => {
      const f = await d.follower({ ...bracket, avgDown: true });
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      // Averaging down, between the entry and its stop (20997): the market touches neither exit.
      await d.price("20998");
      const e = await send(f.token, { action: "buy", price: "20998" });
      expect(e).toMatchObject({ status: "done", decision: "added", reason: "added 1 to long 1" });
      expect(await book(f.traderId)).toEqual({ netQty: 2, avgPrice: "20999" });
      expect(await liveExits(f.traderId)).toEqual([
        ["sl1", 2, "20996"],
        ["tp1", 2, "21001"],
      ]);
      expect(await d.brokerPosition(f.traderId)).toBe(2);
    });

    it(`T03 same direction with avg-down off: ignored, with the reason, nothing sent`, async () => {
      const f = await d.follower(bracket);
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      const e = await send(f.token, { action: "buy", price: "21001" });
      expect(e).toMatchObject({
        status: "ignored",
        decision: "ignored_same_direction",
        reason: "already long 1; avg-down is off",
      });
      expect(e.orders).toEqual([]);
      expect(await d.brokerPosition(f.traderId)).toBe(1);
    });

    it(`T04 opposite direction: closes, then opens the other way, with new exits`, async () => {
      const f = await d.follower(bracket);
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      await d.price("20999");
      const e = await send(f.token, { action: "sell", price: "20999" });
      expect(e).toMatchObject({ status: "done", decision: "reversed", reason: "reversed long 1 to short 1" });
      // "accepted" (the broker's answer) and "working" (its later status event) both mean live.
      const live = (status: string) => (status === "accepted" || status === "working" ? "live" : status);
      expect(e.orders.map((o) => [o.leg, o.side, live(o.status)])).toEqual([
        ["close", "sell", "filled"],
        ["entry", "sell", "filled"],
        ["tp1", "buy", "live"],
        ["sl1", "buy", "live"],
      ]);
      expect(await book(f.traderId)).toEqual({ netQty: -1, avgPrice: "20999" });
      expect(await liveExits(f.traderId)).toEqual([
        ["sl1", 1, "21002"],
        ["tp1", 1, "20997"],
      ]);
      expect(await d.brokerPosition(f.traderId)).toBe(-1);
    });

    it(`T12 a reverse right after the stop filled closes nothing twice: it ends short 1, not short 2`, async () => {
      const f = await d.follower(bracket);
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      // The stop fills a moment before the signal arrives and its report has not reached us yet.
      const [stop] =
        await db.sql`select broker_order_id from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
      const stopId = String(stop?.broker_order_id);
      const deliver = t.relay.fills.handle.bind(t.relay.fills);
      t.relay.fills.handle = (accountId, event) => {
        const id =
          event.type === "OrderFilled"
            ? event.brokerOrderId
            : event.type === "OrderUpdated"
              ? event.order.brokerOrderId
              : "";
        if (id !== stopId) deliver(accountId, event);
      };
      await d.price("20990");
      await waitFor(
        async () => ((await d.brokerPosition(f.traderId)) === 0 ? true : undefined),
        "the stop to fill at the broker",
      );
      expect((await book(f.traderId)).netQty).toBe(1);
      const e = await send(f.token, { action: "sell", price: "20990" });
      t.relay.fills.handle = deliver;
      expect(e.decision).toBe("reversed");
      expect(e.reason).toMatch(/nothing left to close/);
      expect(await d.brokerPosition(f.traderId)).toBe(-1);
      expect((await book(f.traderId)).netQty).toBe(-1);
    });

    it(`T05 opposite direction, close-only recorder: closes and stays flat`, async () => {
      const f = await d.follower({ ...bracket, onOpposite: "close" });
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      const e = await send(f.token, { action: "sell", price: "21000" });
      expect(e.decision).toBe("closed");
      expect((await book(f.traderId)).netQty).toBe(0);
      expect(await liveExits(f.traderId)).toEqual([]);
      expect(await d.brokerPosition(f.traderId)).toBe(0);
    });

    for (const [row, body] of [
      ["exit", { action: "exit" }],
      ["close", { action: "close" }],
      ["flat", { action: "flat" }],
      ["sentiment flat", { action: "sell", sentiment: "flat" }],
    ] as const) {
      it(`T06 ${row}: flattens the trader's position and cancels its working exits, at the broker`, async () => {
        const f = await d.follower({ ...bracket, quantity: 2 });
        await d.price("21000");
        await send(f.token, { action: "buy", price: "21000" });
        const e = await send(f.token, { ...body, price: "21001" });
        expect(e).toMatchObject({ status: "done", decision: "closed", reason: "closed long 2" });
        expect(e.orders.map((o) => [o.leg, o.side, o.qty, o.status])).toEqual([
          ["close", "sell", 2, "filled"],
        ]);
        expect((await book(f.traderId)).netQty).toBe(0);
        expect(await liveExits(f.traderId)).toEqual([]);
        expect(await d.brokerPosition(f.traderId)).toBe(0);
      });
    }

    it(`T07 exit when flat: nothing sent, recorded as already flat`, async () => {
      const f = await d.follower(bracket);
      const e = await send(f.token, { action: "exit", price: "21000" });
      expect(e).toMatchObject({ status: "ignored", decision: "ignored_already_flat" });
    });

    it(`T08 cancel: cancels working entry orders only, never exits or positions`, async () => {
      const f = await d.follower(bracket);
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      const e = await send(f.token, { action: "cancel" });
      expect(e.decision).toBe("cancelled");
      expect(await liveExits(f.traderId)).toHaveLength(2);
      expect(await d.brokerPosition(f.traderId)).toBe(1);
    });

    it(`T09 a failed cancel of an exit that is already gone still places the new stop`, async () => {
      const f = await d.follower({ ...bracket, avgDown: true });
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      // The broker cancelled the stop behind our back and we missed the event: our record still says working.
      const [stop] =
        await db.sql`select broker_order_id from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
      if (d.name === "tradovate") sim.venue.cancel(Number(stop?.broker_order_id));
      else {
        const a = traderAccount.get(f.traderId);
        const b = await t.relay.services.paper.book(a?.accountId ?? "");
        b.venue.cancel(Number(stop?.broker_order_id));
        await t.relay.services.paper.save(b);
      }
      await waitFor(async () => {
        const [r] =
          await db.sql`select status from broker_orders where trader_id = ${f.traderId} and leg = 'sl1'`;
        return r?.status === "cancelled" ? true : undefined;
      }, "the cancel to be seen");
      await db.sql`update broker_orders set status = 'working' where trader_id = ${f.traderId} and leg = 'sl1'`;
      await d.price("20998");
      const e = await send(f.token, { action: "buy", price: "20998" });
      expect(e.decision).toBe("added");
      expect(await liveExits(f.traderId)).toEqual([
        ["sl1", 2, "20996"],
        ["tp1", 2, "21001"],
      ]);
    });

    it(`T10 max contracts is a pre-trade gate: the order is sized to fit, then refused`, async () => {
      const f = await d.follower({ ...bracket, avgDown: true, quantity: 3, maxContracts: 4 });
      await d.price("21000");
      const a = await send(f.token, { action: "buy", price: "21000" });
      expect(a.reason).toBe("opened long 3");
      const b = await send(f.token, { action: "buy", price: "21000" });
      expect(b.reason).toBe("added 1 to long 3 (capped from 3 by max contracts 4)");
      const c = await send(f.token, { action: "buy", price: "21000" });
      expect(c).toMatchObject({ status: "ignored", decision: "blocked_max_contracts" });
      expect(await d.brokerPosition(f.traderId)).toBe(4);
    });

    it(`T11 a strategy's partial exit (sell while staying long) trims and re-protects the rest`, async () => {
      const f = await d.follower({ ...bracket, quantity: 3 });
      await d.price("21000");
      await send(f.token, { action: "buy", price: "21000" });
      const e = await send(f.token, { action: "sell", sentiment: "long", quantity: 1, price: "21000" });
      expect(e).toMatchObject({ decision: "closed_partial", reason: "closed 1 of long 3" });
      expect((await book(f.traderId)).netQty).toBe(2);
      expect(await liveExits(f.traderId)).toEqual([
        ["sl1", 2, "20997"],
        ["tp1", 2, "21002"],
      ]);
    });
  });
}
