/**
 * A relay dies in the middle of a fan-out (some orders sent and answered, some sent and never answered,
 * some never sent). The restarted relay resumes every execution, asks the broker before sending, and ends
 * with exactly one order per client order id and every position protected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperFactory } from "../../src/brokers/paper/index";
import { CrashSwitch, crashingFactory } from "../support/crashing-session";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe("restart mid-dispatch", () => {
  for (const allow of [0, 1, 2, 3, 4, 5]) {
    // 3 traders x (entry + one OCO pair) = 6 placements; dying at each one covers every step.
    it(`K${allow} resumes after a crash following ${allow} answered placements, without loss or duplicates`, async () => {
      const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
      const a = await startTestRelay({
        url: db.url,
        factories: (paper) => [crashingFactory(new PaperFactory(paper), crash)],
      });
      const { token, traderIds, accountIds } = await paperSetup(a, {
        multipliers: [1, 2, 3],
        settings: { quantity: 1, takeProfit: [{ ticks: 10, trimPercent: 100 }], stopLossTicks: 10 },
        recorderName: `crash ${allow}`,
      });
      crash.allow = allow;
      crash.placed = 0;
      const res = await a.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
      expect(res.status).toBe(202);
      const signalId = res.body.signalId as string;
      // Relay A dies at its (allow+1)-th placement, right after that order reached the broker.
      await crash.died;

      // The restart: same instance id, same database, a fresh process's worth of state.
      const b = await startTestRelay({ url: db.url });
      try {
        const executions = await waitFor(async () => {
          const rows =
            await db.sql`select status, decision, error from executions where signal_id = ${signalId}`;
          return rows.length === 3 && rows.every((r) => r.status === "done") ? rows : undefined;
        }, "every execution to finish on the restarted relay");
        expect(executions.map((e) => e.decision)).toEqual(["opened", "opened", "opened"]);
        expect(executions.every((e) => e.error === null)).toBe(true);

        for (const [i, accountId] of accountIds.entries()) {
          const book = await b.relay.services.paper.book(accountId);
          await b.relay.services.paper.sync(book);
          const orders = book.venue.listOrders(accountId);
          const ids = orders.map((o) => o.clientOrderId);
          expect(new Set(ids).size, `duplicate client order ids at the broker: ${ids}`).toBe(ids.length);
          expect(orders.filter((o) => o.clientOrderId?.endsWith("-entry"))).toHaveLength(1);
          expect(orders.filter((o) => o.clientOrderId?.endsWith("-tp1"))).toHaveLength(1);
          expect(orders.filter((o) => o.clientOrderId?.endsWith("-sl1"))).toHaveLength(1);
          const [{ contract } = { contract: "" }] = await db.sql<
            { contract: string }[]
          >`select contract from executions where signal_id = ${signalId} limit 1`;
          expect(book.venue.position(accountId, contract)?.netPos).toBe(i + 1);
          const [p] = await db.sql`select net_qty from positions where trader_id = ${traderIds[i] as string}`;
          expect(p?.net_qty).toBe(i + 1);
        }
      } finally {
        await b.stop();
        await a.stop(200);
      }
    });
  }
});

describe("restart after a fill the relay never heard", () => {
  it("K10 adopts the fill from the broker at once instead of waiting for a report that already went by", async () => {
    // Relay A hears the entry acknowledged, then dies before the fill report reaches it.
    let dead = false;
    const a = await startTestRelay({
      url: db.url,
      factories: (paper) => {
        const inner = new PaperFactory(paper);
        return [
          {
            kinds: inner.kinds,
            validateCredentials: (c) => inner.validateCredentials(c),
            create: (ctx) => {
              const s = inner.create(ctx);
              const place = s.placeOrder.bind(s);
              s.placeOrder = async (req) => {
                if (dead) return new Promise(() => undefined);
                const outcome = await place(req);
                dead = true;
                return outcome.kind === "accepted"
                  ? { kind: "accepted", brokerOrderId: outcome.brokerOrderId }
                  : outcome;
              };
              s.findOrder = () => new Promise(() => undefined);
              s.on = () => () => undefined;
              return s;
            },
          },
        ];
      },
    });
    const { token, accountIds, traderIds } = await paperSetup(a, {
      multipliers: [1],
      settings: { quantity: 1, stopLossTicks: 10 },
      recorderName: "unheard fill",
    });
    const res = await a.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
    const signalId = res.body.signalId as string;
    await waitFor(async () => {
      const [o] = await db.sql`select status from broker_orders where client_order_id like ${"%-entry"}
                               and execution_id in (select id from executions where signal_id = ${signalId})`;
      return o?.status === "accepted" ? o : undefined;
    }, "the entry to be recorded as acknowledged, without its fill");

    const b = await startTestRelay({ url: db.url });
    try {
      await waitFor(async () => {
        const [e] = await db.sql`select status from executions where signal_id = ${signalId}`;
        return e?.status === "done" ? e : undefined;
      }, "the resumed execution to finish");
      expect(b.logs.some((l) => l.includes('"event":"FillNotReported"'))).toBe(false);
      const [p] = await db.sql`select net_qty from positions where trader_id = ${traderIds[0] as string}`;
      expect(p?.net_qty).toBe(1);
      const book = await b.relay.services.paper.book(accountIds[0] as string);
      await b.relay.services.paper.sync(book);
      const orders = book.venue.listOrders(accountIds[0] as string);
      expect(orders.filter((o) => o.clientOrderId?.endsWith("-entry"))).toHaveLength(1);
      expect(orders.filter((o) => o.clientOrderId?.endsWith("-sl0"))).toHaveLength(1);
    } finally {
      await b.stop();
      await a.stop(200);
    }
  });
});

describe("restart while the broker cannot be asked", () => {
  it("K9 sends nothing it cannot rule out sending before, and says so", async () => {
    const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
    const a = await startTestRelay({
      url: db.url,
      factories: (paper) => [crashingFactory(new PaperFactory(paper), crash, true)],
    });
    const { token, accountIds } = await paperSetup(a, {
      multipliers: [1],
      settings: { quantity: 1 },
      recorderName: "unreachable",
    });
    crash.allow = 0;
    crash.placed = 0;
    const res = await a.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
    await crash.died;
    // The restarted relay's broker answers orders but cannot be asked about existing ones.
    const b = await startTestRelay({
      url: db.url,
      factories: (paper) => {
        const inner = new PaperFactory(paper);
        return [
          {
            kinds: inner.kinds,
            validateCredentials: (c) => inner.validateCredentials(c),
            create: (ctx) => {
              const s = inner.create(ctx);
              s.findOrder = async () => {
                throw new Error("broker unreachable");
              };
              return s;
            },
          },
        ];
      },
    });
    try {
      // The entry may be at the broker: it waits for a broker that can answer, and says why.
      const [e] = await waitFor(async () => {
        const r =
          await db.sql`select status, error from executions where signal_id = ${res.body.signalId as string}`;
        return r[0] && r[0].status !== "pending" && r[0].status !== "running" ? r : undefined;
      }, "the resumed execution to stop");
      expect(e?.status).toBe("waiting_for_broker");
      expect(e?.error).toMatch(
        /waiting for the broker: could not ask the broker whether .* was already sent .*not sent, to avoid doubling it/,
      );
      const book = await b.relay.services.paper.book(accountIds[0] as string);
      await b.relay.services.paper.sync(book);
      expect(book.venue.listOrders(accountIds[0] as string)).toHaveLength(1);
    } finally {
      await b.stop();
      await a.stop(200);
    }
  });
});
