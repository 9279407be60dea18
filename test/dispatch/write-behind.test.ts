/**
 * Write-behind (src/dispatch/executor.ts, src/orders/legs.ts): a new execution's first order leaves before
 * its plan and its row are written. These tests take the relay's database away at the very moment the
 * order is handed to the broker (failed, or hanging) and prove what follows: the restarted relay asks the
 * broker for every id the signal could have sent, adopts the order once, books its fill once, places its
 * exits once, and nothing is sent twice; a fill that arrives before the row is booked, not lost.
 *
 * Relay A's database connection runs through a proxy the test cuts or freezes; its paper broker keeps a
 * connection of its own (the broker is not the relay's database), so the order really reaches the broker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperExchange } from "../../src/brokers/paper/exchange";
import { PaperFactory } from "../../src/brokers/paper/index";
import type { BrokerFactory } from "../../src/brokers/port";
import { connect, type Sql } from "../../src/db/client";
import { createLogger } from "../../src/log";
import { CrashSwitch, crashingFactory } from "../support/crashing-session";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { TcpProxy, viaProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const EXITS = { quantity: 1, takeProfit: [{ ticks: 10, trimPercent: 100 }], stopLossTicks: 10 };
const quiet = createLogger({ level: "silent" });

interface RelayA {
  relay: TestRelay;
  proxy: TcpProxy;
  sql: Sql;
  stop(): Promise<void>;
}

/** Relay A: its database behind `proxy`; its paper broker on a connection of its own. */
async function relayA(wrap: (inner: BrokerFactory) => BrokerFactory): Promise<RelayA> {
  const u = new URL(db.url);
  const proxy = new TcpProxy(u.hostname, Number(u.port));
  await proxy.start();
  const sql = connect(viaProxy(db.url, proxy.port), quiet, { max: 10 });
  const broker = new PaperExchange(db.sql, quiet);
  const relay = await startTestRelay({ url: db.url, sql, factories: () => [wrap(new PaperFactory(broker))] });
  return {
    relay,
    proxy,
    sql,
    async stop() {
      proxy.restore();
      await relay.stop(200);
      await sql.end({ timeout: 1 });
      await proxy.stop();
    },
  };
}

async function ordersAtBroker(b: TestRelay, accountId: string): Promise<string[]> {
  const book = await b.relay.services.paper.book(accountId);
  await b.relay.services.paper.sync(book);
  return book.venue.listOrders(accountId).map((o) => o.clientOrderId ?? "");
}

/**
 * Sends an alert through relay A whose first order reaching the broker is the last thing relay A does:
 * `die` cuts (or freezes) its database right then. Returns the webhook's reply once that happened.
 */
async function lastOrder(
  a: RelayA,
  crash: CrashSwitch,
  token: string,
  alert: { action: string; price: string },
  die: (proxy: TcpProxy) => void,
): Promise<{ status: number; body: Record<string, unknown> }> {
  crash.allow = 0;
  crash.placed = 0;
  crash.onDeath = () => die(a.proxy);
  const res = await a.relay.webhook(token, JSON.stringify({ ticker: "MNQ1!", ...alert }));
  await crash.died;
  return res;
}

const legCount = (ids: string[], leg: string) => ids.filter((id) => id.endsWith(`-${leg}`)).length;

async function executionOf(signalId: string) {
  const [e] =
    await db.sql`select id, status, decision, error, plan from executions where signal_id = ${signalId}`;
  return e;
}

async function finished(signalId: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const e = await executionOf(signalId);
      return e && !["pending", "running", "waiting_for_broker"].includes(e.status as string) ? e : undefined;
    },
    "the execution to finish",
    timeoutMs,
  );
}

/** What was booked for the execution's entry: fills (count, contracts) and the trader's position. */
async function booked(signalId: string, traderId: string) {
  const [f] = await db.sql`
    select count(*)::int as n, coalesce(sum(f.qty), 0)::int as qty
      from broker_fills f join broker_orders o on o.client_order_id = f.client_order_id
      join executions e on e.id = o.execution_id
     where e.signal_id = ${signalId} and o.leg = 'entry'`;
  const [p] = await db.sql`select net_qty from positions where trader_id = ${traderId}`;
  return { fills: f?.n, contracts: f?.qty, position: p?.net_qty };
}

describe("an order that left before its bookkeeping was written", () => {
  it("WB01 the database is lost as the entry leaves: after a restart the entry is adopted once, its fill booked once, its exits placed once", async () => {
    const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
    const a = await relayA((inner) => crashingFactory(inner, crash));
    const { token, traderIds, accountIds } = await paperSetup(a.relay, {
      multipliers: [1],
      settings: EXITS,
      recorderName: "wb01",
    });
    const res = await lastOrder(a, crash, token, { action: "buy", price: "21000" }, (p) => p.cut());
    expect(res.status).toBe(202);
    const signalId = res.body.signalId as string;
    // The entry is at the broker; nothing of the execution was written: neither its plan nor the order.
    const before = await executionOf(signalId);
    expect(before?.status).toBe("pending");
    expect(before?.plan).toBeNull();
    const [rows] =
      await db.sql`select count(*)::int n from broker_orders where execution_id = ${before?.id as string}`;
    expect(rows?.n).toBe(0);

    const b = await startTestRelay({ url: db.url });
    try {
      const e = await finished(signalId);
      expect(e).toMatchObject({ status: "done", decision: "opened", error: null });
      const ids = await ordersAtBroker(b, accountIds[0] as string);
      expect(new Set(ids).size, `an id twice at the broker: ${ids}`).toBe(ids.length);
      expect([legCount(ids, "entry"), legCount(ids, "tp1"), legCount(ids, "sl1")]).toEqual([1, 1, 1]);
      expect(await booked(signalId, traderIds[0] as string)).toEqual({ fills: 1, contracts: 1, position: 1 });
      expect(b.logs.some((l) => l.includes('"event":"ExecutionRecovered"') && l.includes('"entry"'))).toBe(
        true,
      );
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it("WB02 the database hangs as the entry leaves and answers after another relay took over: the late writes reopen nothing and double nothing", async () => {
    const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
    const a = await relayA((inner) => crashingFactory(inner, crash));
    const { token, traderIds, accountIds } = await paperSetup(a.relay, {
      multipliers: [1],
      settings: EXITS,
      recorderName: "wb02",
    });
    const res = await lastOrder(a, crash, token, { action: "buy", price: "21000" }, (p) => p.freeze());
    const signalId = res.body.signalId as string;

    const b = await startTestRelay({ url: db.url });
    try {
      const e = await finished(signalId);
      expect(e).toMatchObject({ status: "done", decision: "opened" });
      // Relay A's held writes now land: its plan, the entry's row (already written by B), the fill report.
      a.proxy.restore();
      await waitFor(
        () => a.relay.logs.some((l) => l.includes('"event":"OrderIdSeenBefore"')),
        "relay A's late write of the entry's row",
      );
      await a.relay.relay.fills.drain();
      expect((await executionOf(signalId))?.status).toBe("done");
      const ids = await ordersAtBroker(b, accountIds[0] as string);
      expect(new Set(ids).size).toBe(ids.length);
      expect([legCount(ids, "entry"), legCount(ids, "tp1"), legCount(ids, "sl1")]).toEqual([1, 1, 1]);
      expect(await booked(signalId, traderIds[0] as string)).toEqual({ fills: 1, contracts: 1, position: 1 });
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it("WB03 the entry leaves before any database write, and its fill, reported while the row is still being written, is booked once", async () => {
    let seen: { plan: unknown; rows: number } | undefined;
    let a: RelayA | undefined;
    // At the moment the order is handed over: freeze the database, look at what is written, let go later.
    const watching = (inner: BrokerFactory): BrokerFactory => ({
      kinds: inner.kinds,
      validateCredentials: (c) => inner.validateCredentials(c),
      create: (ctx) => {
        const s = inner.create(ctx);
        const place = s.placeOrder.bind(s);
        s.placeOrder = async (req) => {
          const first = !seen && req.clientOrderId.endsWith("-entry");
          if (first) a?.proxy.freeze();
          const outcome = await place(req);
          if (first) {
            const [e] = await db.sql`select plan from executions where id = (
              select e.id from executions e where e.status = 'pending' order by created_at desc limit 1)`;
            const [o] =
              await db.sql`select count(*)::int n from broker_orders where client_order_id = ${req.clientOrderId}`;
            seen = { plan: e?.plan ?? null, rows: o?.n as number };
            setTimeout(() => a?.proxy.restore(), 300);
          }
          return outcome;
        };
        return s;
      },
    });
    a = await relayA(watching);
    try {
      const { token, traderIds, accountIds } = await paperSetup(a.relay, {
        multipliers: [1],
        settings: EXITS,
        recorderName: "wb03",
      });
      const res = await a.relay.webhook(
        token,
        JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
      );
      const signalId = res.body.signalId as string;
      const e = await finished(signalId);
      expect(e).toMatchObject({ status: "done", decision: "opened", error: null });
      // When the broker had the order, neither the plan nor the order's row was written.
      expect(seen).toEqual({ plan: null, rows: 0 });
      expect(await booked(signalId, traderIds[0] as string)).toEqual({ fills: 1, contracts: 1, position: 1 });
      const ids = await ordersAtBroker(a.relay, accountIds[0] as string);
      expect([legCount(ids, "entry"), legCount(ids, "tp1"), legCount(ids, "sl1")]).toEqual([1, 1, 1]);
      const lost = a.relay.logs.filter((l) =>
        /"event":"(FillWithoutOrder|FillUnmatched|BrokerEventNotBooked)"/.test(l),
      );
      expect(lost).toEqual([]);
    } finally {
      await a.stop();
    }
  });

  it("WB06 an entry found at the broker after a restart that came too late for the signal is kept and protected, not ignored", async () => {
    const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
    const a = await relayA((inner) => crashingFactory(inner, crash));
    const { token, traderIds, accountIds } = await paperSetup(a.relay, {
      multipliers: [1],
      settings: { ...EXITS, maxSignalAgeSeconds: 1 },
      recorderName: "wb06",
    });
    const res = await lastOrder(a, crash, token, { action: "buy", price: "21000" }, (p) => p.cut());
    const signalId = res.body.signalId as string;
    expect((await executionOf(signalId))?.plan).toBeNull(); // the entry left, its plan was never written
    // The restart comes after the signal's age limit: planned now, the signal would not open.
    await waitFor(async () => {
      const [r] = await db.sql`select clock_timestamp() - received_at > interval '1.2 seconds' as old
                                 from signals where id = ${signalId}`;
      return r?.old === true;
    }, "the signal to pass its age limit");

    const b = await startTestRelay({ url: db.url });
    try {
      const e = await finished(signalId);
      expect(e).toMatchObject({ status: "done", decision: "opened", error: null });
      const ids = await ordersAtBroker(b, accountIds[0] as string);
      expect([legCount(ids, "entry"), legCount(ids, "tp1"), legCount(ids, "sl1")]).toEqual([1, 1, 1]);
      expect(await booked(signalId, traderIds[0] as string)).toEqual({ fills: 1, contracts: 1, position: 1 });
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it("WB07 a close that left before its row (its plan written) is adopted after a restart: the position closes once", async () => {
    const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
    const a = await relayA((inner) => crashingFactory(inner, crash));
    const { token, traderIds, accountIds } = await paperSetup(a.relay, {
      multipliers: [2],
      settings: { quantity: 1 },
      recorderName: "wb07",
    });
    const open = await a.relay.webhook(
      token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
    );
    await finished(open.body.signalId as string);
    const res = await lastOrder(a, crash, token, { action: "exit", price: "21010" }, (p) => p.cut());
    const signalId = res.body.signalId as string;
    const before = await executionOf(signalId);
    expect(before?.status).toBe("running"); // the close waited for its plan...
    const [rows] =
      await db.sql`select count(*)::int n from broker_orders where execution_id = ${before?.id as string}`;
    expect(rows?.n).toBe(0); // ...but not for its own row

    const b = await startTestRelay({ url: db.url });
    try {
      const e = await finished(signalId);
      expect(e).toMatchObject({ status: "done", decision: "closed", error: null });
      const ids = await ordersAtBroker(b, accountIds[0] as string);
      expect(new Set(ids).size).toBe(ids.length);
      expect(legCount(ids, "close")).toBe(1);
      const [p] = await db.sql`select net_qty from positions where trader_id = ${traderIds[0] as string}`;
      expect(p?.net_qty).toBe(0);
      const book = await b.relay.services.paper.book(accountIds[0] as string);
      expect(
        book.venue.position(accountIds[0] as string, (e?.plan as { contract?: string })?.contract ?? "")
          ?.netPos ?? 0,
      ).toBe(0);
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
