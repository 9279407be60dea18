/**
 * A request that dies with its socket never reaches the broker, and no reply comes. The relay asks the
 * broker for the order's id; when the broker twice answers that it has no such order, the order is sent
 * again under the same id (a lone order up to twice, an OCO pair once; an exit always, an entry only
 * while its signal is fresh), so a dropped socket loses nothing and doubles nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperFactory } from "../../src/brokers/paper/index";
import type { BrokerFactory, BrokerSession, OrderOutcome } from "../../src/brokers/port";
import type { PaperExchange } from "../../src/brokers/registry";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const lost: OrderOutcome = { kind: "unknown", reason: "socket closed before the reply" };

/**
 * Paper sessions whose chosen requests vanish on the way (the broker never sees them), and whose next
 * `lookUps` look-ups fail as if the socket were still reconnecting.
 */
function losing(drop: {
  orders: number;
  pairs: number;
  lookUps?: number;
}): (paper: PaperExchange) => BrokerFactory[] {
  return (paper) => {
    const inner = new PaperFactory(paper);
    return [
      {
        kinds: inner.kinds,
        validateCredentials: (c) => inner.validateCredentials(c),
        create: (ctx): BrokerSession => {
          const s = inner.create(ctx);
          const place = s.placeOrder.bind(s);
          const placeOco = s.placeOco.bind(s);
          s.placeOrder = async (req) => {
            if (drop.orders > 0) {
              drop.orders--;
              return lost;
            }
            return place(req);
          };
          s.placeOco = async (a, b) => {
            if (drop.pairs > 0) {
              drop.pairs--;
              return [lost, lost];
            }
            return placeOco(a, b);
          };
          const find = s.findOrder.bind(s);
          s.findOrder = async (account, id) => {
            if (drop.lookUps && drop.lookUps > 0) {
              drop.lookUps--;
              throw new Error("trading socket is reconnecting");
            }
            return find(account, id);
          };
          return s;
        },
      },
    ];
  };
}

async function finished(signalId: string) {
  return waitFor(async () => {
    const [e] = await db.sql`select status, decision, error from executions where signal_id = ${signalId}`;
    return e && !["pending", "running", "waiting_for_broker"].includes(e.status as string) ? e : undefined;
  }, "the execution to finish");
}

describe("a request lost with its socket", () => {
  it("L01 an entry and its OCO exits that never arrived are each sent again once, under the same ids", async () => {
    const drop = { orders: 0, pairs: 0 };
    const t = await startTestRelay({ url: db.url, factories: losing(drop), settleDelaysMs: [20, 40, 80] });
    try {
      const { token, accountIds, traderIds } = await paperSetup(t, {
        multipliers: [1],
        settings: { quantity: 1, takeProfit: [{ ticks: 10, trimPercent: 100 }], stopLossTicks: 10 },
        recorderName: "lost entry",
      });
      drop.orders = 1;
      drop.pairs = 1;
      const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
      const e = await finished(res.body.signalId as string);
      expect(e).toMatchObject({ status: "done", decision: "opened", error: null });
      expect(drop).toEqual({ orders: 0, pairs: 0 });
      expect(t.logs.filter((l) => l.includes('"event":"OrderResent"'))).toHaveLength(3);

      const book = await t.relay.services.paper.book(accountIds[0] as string);
      await t.relay.services.paper.sync(book);
      const ids = book.venue.listOrders(accountIds[0] as string).map((o) => o.clientOrderId ?? "");
      expect(ids.filter((i) => i.endsWith("-entry"))).toHaveLength(1);
      expect(ids.filter((i) => i.endsWith("-tp1"))).toHaveLength(1);
      expect(ids.filter((i) => i.endsWith("-sl1"))).toHaveLength(1);
      expect(new Set(ids).size).toBe(ids.length);
      const [p] = await db.sql`select net_qty from positions where trader_id = ${traderIds[0] as string}`;
      expect(p?.net_qty).toBe(1);
      const orders =
        await db.sql`select leg, status from broker_orders where trader_id = ${traderIds[0] as string} order by leg`;
      // Exits are live: "accepted" until the broker's order update says "working".
      expect(orders.map((o) => `${o.leg}:${o.status === "working" ? "accepted" : o.status}`)).toEqual([
        "entry:filled",
        "sl1:accepted",
        "tp1:accepted",
      ]);
    } finally {
      await t.stop();
    }
  });

  it("L02 an entry whose signal went stale while it was being settled is not sent again", async () => {
    const drop = { orders: 0, pairs: 0 };
    const t = await startTestRelay({ url: db.url, factories: losing(drop), settleDelaysMs: [700, 700] });
    try {
      const { token, accountIds } = await paperSetup(t, {
        multipliers: [1],
        settings: { quantity: 1, maxSignalAgeSeconds: 1 },
        recorderName: "stale entry",
      });
      drop.orders = 1;
      const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
      // The broker says it never got it and it may not go any more: a definite "not entered", not unknown.
      const e = await finished(res.body.signalId as string);
      expect(e?.status).toBe("failed");
      expect(e?.error).toMatch(/not entered: entry never reached the broker and was not sent again/);
      expect(t.logs.some((l) => l.includes('"event":"OrderResent"'))).toBe(false);
      const book = await t.relay.services.paper.book(accountIds[0] as string);
      await t.relay.services.paper.sync(book);
      expect(book.venue.listOrders(accountIds[0] as string)).toHaveLength(0);
    } finally {
      await t.stop();
    }
  });

  it("L06 a socket that stays down past the settle delays is waited for: the lost entry is sent once it is back", async () => {
    // The entry dies with its socket, and the broker cannot be asked at all for longer than the settle
    // delays last (many sockets reconnecting at once). The relay keeps asking while it is unreachable.
    const down = { orders: 0, pairs: 0, lookUps: 0 };
    const t = await startTestRelay({
      url: db.url,
      factories: losing(down),
      settleDelaysMs: [20, 40, 80],
      unreachableDelaysMs: [50, 50, 50, 50, 50, 50],
    });
    try {
      const { token, accountIds } = await paperSetup(t, {
        multipliers: [1],
        settings: { quantity: 1 },
        recorderName: "socket down a while",
      });
      down.orders = 1;
      down.lookUps = 5; // more than the three settle delays
      const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
      const e = await finished(res.body.signalId as string);
      expect(e).toMatchObject({ status: "done", decision: "opened", error: null });
      expect(down).toEqual({ orders: 0, pairs: 0, lookUps: 0 });
      expect(t.logs.filter((l) => l.includes('"event":"OrderResent"'))).toHaveLength(1);
      const book = await t.relay.services.paper.book(accountIds[0] as string);
      await t.relay.services.paper.sync(book);
      expect(book.venue.listOrders(accountIds[0] as string)).toHaveLength(1);
    } finally {
      await t.stop();
    }
  });

  it("L07 an entry lost with its socket twice is sent a second time; an exit lost three times waits and goes out", async () => {
    const drop = { orders: 0, pairs: 0 };
    const t = await startTestRelay({ url: db.url, factories: losing(drop), settleDelaysMs: [20, 40, 80] });
    try {
      const { token, accountIds } = await paperSetup(t, {
        multipliers: [1],
        settings: { quantity: 1 },
        recorderName: "lost twice",
      });
      const book = await t.relay.services.paper.book(accountIds[0] as string);
      const entries = async () => {
        await t.relay.services.paper.sync(book);
        return book.venue
          .listOrders(accountIds[0] as string)
          .filter((o) => o.clientOrderId?.endsWith("-entry"));
      };
      const resent = () => t.logs.filter((l) => l.includes('"event":"OrderResent"')).length;

      drop.orders = 2;
      const first = await t.webhook(
        token,
        JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
      );
      expect(await finished(first.body.signalId as string)).toMatchObject({
        status: "done",
        decision: "opened",
      });
      expect(resent()).toBe(2);
      expect(await entries()).toHaveLength(1);

      drop.orders = 3;
      const second = await t.webhook(
        token,
        JSON.stringify({ ticker: "MNQ1!", action: "exit", price: "21000" }),
      );
      // Lost three times in a row: two resends at once, never a third; then the exit waits for the
      // broker instead of giving up, and goes out under the same id on its next run.
      const e = await finished(second.body.signalId as string);
      expect(e).toMatchObject({ status: "done", decision: "closed" });
      expect(resent()).toBe(4);
      expect(drop.orders).toBe(0);
      await t.relay.services.paper.sync(book);
      expect(book.venue.position(accountIds[0] as string, "MNQZ6")?.netPos ?? 0).toBe(0);
      const closes = book.venue
        .listOrders(accountIds[0] as string)
        .filter((o) => o.clientOrderId?.endsWith("-close"));
      expect(closes).toHaveLength(1);
      expect(t.logs.some((l) => l.includes('"event":"ExecutionWaiting"'))).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it("L04 a reply lost while the broker's look-up lags once is adopted, never sent twice", async () => {
    const t = await startTestRelay({
      url: db.url,
      settleDelaysMs: [20, 40, 80],
      factories: (paper) => {
        const inner = new PaperFactory(paper);
        return [
          {
            kinds: inner.kinds,
            validateCredentials: (c) => inner.validateCredentials(c),
            create: (ctx): BrokerSession => {
              const s = inner.create(ctx);
              const place = s.placeOrder.bind(s);
              const find = s.findOrder.bind(s);
              let lagging = false;
              s.placeOrder = async (req) => {
                await place(req); // it reaches the broker, its reply does not reach us
                lagging = true;
                return lost;
              };
              s.findOrder = async (sub, id) => {
                if (lagging) {
                  lagging = false;
                  return null;
                }
                return find(sub, id);
              };
              return s;
            },
          },
        ];
      },
    });
    try {
      const { token, accountIds } = await paperSetup(t, {
        multipliers: [1],
        settings: { quantity: 1 },
        recorderName: "lagging look-up",
      });
      const res = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
      expect((await finished(res.body.signalId as string))?.status).toBe("done");
      expect(t.logs.some((l) => l.includes('"event":"OrderResent"'))).toBe(false);
      const book = await t.relay.services.paper.book(accountIds[0] as string);
      await t.relay.services.paper.sync(book);
      expect(book.venue.listOrders(accountIds[0] as string)).toHaveLength(1);
      expect(
        book.venue.position(
          accountIds[0] as string,
          book.venue.listOrders(accountIds[0] as string)[0]?.contract ?? "",
        )?.netPos,
      ).toBe(1);
    } finally {
      await t.stop();
    }
  });

  for (const reached of [true, false]) {
    it(`L05${reached ? "a" : "b"} a cancel whose reply was lost ${reached ? "after it took effect is settled from the broker's record" : "before it arrived is sent again"}`, async () => {
      const t = await startTestRelay({
        url: db.url,
        settleDelaysMs: [20, 40, 80],
        factories: (paper) => {
          const inner = new PaperFactory(paper);
          return [
            {
              kinds: inner.kinds,
              validateCredentials: (c) => inner.validateCredentials(c),
              create: (ctx): BrokerSession => {
                const s = inner.create(ctx);
                const cancel = s.cancelOrder.bind(s);
                let dropped = 0;
                s.cancelOrder = async (sub, id) => {
                  if (!reached && dropped++ > 0) return cancel(sub, id);
                  if (reached) await cancel(sub, id); // the cancel takes effect; its reply is lost
                  return { kind: "unknown", reason: "socket closed before the reply" };
                };
                return s;
              },
            },
          ];
        },
      });
      try {
        const { token, traderIds } = await paperSetup(t, {
          multipliers: [1],
          settings: { quantity: 1, takeProfit: [{ ticks: 10, trimPercent: 100 }], stopLossTicks: 10 },
          recorderName: "lost cancel reply",
        });
        const open = await t.webhook(
          token,
          JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
        );
        expect((await finished(open.body.signalId as string))?.status).toBe("done");
        const exit = await t.webhook(
          token,
          JSON.stringify({ ticker: "MNQ1!", action: "exit", price: "21001" }),
        );
        const e = await finished(exit.body.signalId as string);
        expect(e).toMatchObject({ status: "done", decision: "closed", error: null });
        const rows = await db.sql`select leg, status from broker_orders
                                   where trader_id = ${traderIds[0] as string} and leg ~ '^(tp|sl)' order by leg`;
        expect(rows.map((r) => `${r.leg}:${r.status}`)).toEqual(["sl1:cancelled", "tp1:cancelled"]);
        const [p] = await db.sql`select net_qty from positions where trader_id = ${traderIds[0] as string}`;
        expect(p?.net_qty).toBe(0);
      } finally {
        await t.stop();
      }
    });
  }

  it("L03 a close that never arrived is sent again: the position does not stay open", async () => {
    const drop = { orders: 0, pairs: 0 };
    const t = await startTestRelay({ url: db.url, factories: losing(drop), settleDelaysMs: [20, 40, 80] });
    try {
      const { token, traderIds } = await paperSetup(t, {
        multipliers: [2],
        settings: { quantity: 1 },
        recorderName: "lost close",
      });
      const open = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
      expect((await finished(open.body.signalId as string))?.status).toBe("done");
      drop.orders = 1;
      const exit = await t.webhook(
        token,
        JSON.stringify({ ticker: "MNQ1!", action: "exit", price: "21001" }),
      );
      const e = await finished(exit.body.signalId as string);
      expect(e).toMatchObject({ status: "done", decision: "closed" });
      const [p] = await db.sql`select net_qty from positions where trader_id = ${traderIds[0] as string}`;
      expect(p?.net_qty).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
