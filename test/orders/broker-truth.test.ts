/**
 * The broker is the truth (issue 12), end to end on a real relay against each broker's simulator: traders
 * close positions by hand at their broker every day, and nothing the relay does afterwards may open a
 * position no plan asked for.
 *
 * B01 manual close, then an exit signal: nothing is sent that would go short; the book follows the broker.
 * B02 manual flatten, then a restart: reconciliation places no exits on the flat account.
 * B03 a late exit signal executes (and says how late); a late entry is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import type { Venue } from "../../src/domain/venue/engine";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let tv: TradovateSim;
let t: TestRelay;
let n = 0;

const env = () => ({
  TRADOVATE_DEMO_URL: tv.restUrl,
  TRADOVATE_LIVE_URL: tv.restUrl,
  TRADOVATE_MD_URL: tv.mdUrl,
});

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  await tv.start();
  tv.setPrice(tv.front("MNQ"), dec("21000"));
  t = await startTestRelay({ url: db.url, env: env(), logLevel: "info" });
});
afterAll(async () => {
  await t?.stop();
  await tv?.stop();
  await db?.drop();
});

type Broker = "paper" | "tradovate";

interface Follower {
  broker: Broker;
  token: string;
  traderId: string;
  accountId: string;
  venueAccount: string;
  contract: string;
  venue(): Promise<Venue>;
  /** Saves a paper venue changed behind the relay's back (the other brokers' venues are the broker). */
  saved(): Promise<void>;
  price(p: string): Promise<void>;
}

async function follower(broker: Broker, settings: Record<string, unknown> = {}): Promise<Follower> {
  n++;
  const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `truth ${broker} ${n}`,
    quantity: 2,
    takeProfit: [{ ticks: 8, trimPercent: 100 }],
    stopLossTicks: 8,
    ...settings,
  });
  let credentials = {};
  let venueAccount = "";
  if (broker === "tradovate") {
    const ids = tv.addUser({
      name: `truth${n}`,
      password: "pw-truth",
      accounts: [{ name: `TRUTH${n}`, balance: dec(100_000) }],
    });
    venueAccount = String(ids.accounts[0]?.id);
    credentials = { username: `truth${n}`, password: "pw-truth", appId: "Relay", deviceId: `truth${n}` };
  }
  const acc = await t.api<{ id: string }>("POST", "/api/accounts", {
    name: `${broker} truth ${n}`,
    broker,
    credentials,
  });
  expect(acc.status, JSON.stringify(acc.body)).toBe(201);
  const tr = await t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: rec.body.id,
    accountId: acc.body.id,
  });
  expect(tr.status, JSON.stringify(tr.body)).toBe(201);
  if (broker === "paper") venueAccount = acc.body.id;
  const paper = t.relay.services.paper;
  const f: Follower = {
    broker,
    token: rec.body.webhookToken,
    traderId: tr.body.id,
    accountId: acc.body.id,
    venueAccount,
    contract: tv.front("MNQ"),
    async venue() {
      if (broker === "tradovate") return tv.venue;
      const b = await paper.book(acc.body.id);
      await paper.sync(b);
      return b.venue;
    },
    async saved() {
      if (broker === "paper") await paper.save(await paper.book(acc.body.id));
    },
    async price(p) {
      if (broker === "tradovate") tv.setPrice(tv.front("MNQ"), dec(p));
      else await t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });
    },
  };
  await f.price("21000");
  return f;
}

async function signal(f: Follower, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await t.webhook(f.token, JSON.stringify({ ticker: "MNQ1!", price: "21000", ...body }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return waitFor(async () => {
    const [e] = await db.sql`
      select status, decision, reason, error from executions where signal_id = ${res.body.signalId as string}`;
    return e && !["pending", "running", "waiting_for_broker"].includes(e.status as string) ? e : undefined;
  }, "the execution to finish");
}

/** What a trader does in the broker's own platform: cancel every working order, close the position. */
async function flattenByHand(f: Follower): Promise<void> {
  const venue = await f.venue();
  for (const o of venue.listOrders(f.venueAccount)) if (o.status === "working") venue.cancel(o.id);
  venue.liquidate(f.venueAccount, f.contract);
  await f.saved();
}

const brokerNet = async (f: Follower) => (await f.venue()).position(f.venueAccount, f.contract)?.netPos ?? 0;
const working = async (f: Follower) =>
  (await f.venue()).listOrders(f.venueAccount).filter((o) => o.status === "working");
const booked = async (f: Follower) =>
  ((await db.sql`select net_qty from positions where trader_id = ${f.traderId}`)[0]?.net_qty as number) ?? 0;
const driftKinds = async (f: Follower) =>
  (await db.sql`select kind from drift where account_id = ${f.accountId} order by id`).map(
    (r) => r.kind as string,
  );

for (const broker of ["paper", "tradovate"] as const) {
  describe(`the broker is the truth on ${broker}`, () => {
    it("B01 an exit after a manual close at the broker sends nothing: the account stays flat, the book follows", async () => {
      const f = await follower(broker);
      expect(await signal(f, { action: "buy" })).toMatchObject({ status: "done", decision: "opened" });
      expect(await brokerNet(f)).toBe(2);
      await flattenByHand(f);
      expect(await brokerNet(f)).toBe(0);

      const exit = await signal(f, { action: "exit" });
      expect(exit).toMatchObject({ status: "done", decision: "closed" });
      expect(exit.reason).toMatch(/nothing sent: the broker shows flat .*closed outside the relay/);
      // Never short: nothing of ours went out against a flat position.
      expect(await brokerNet(f)).toBe(0);
      const closes = (await f.venue())
        .listOrders(f.venueAccount)
        .filter((o) => o.clientOrderId?.endsWith("-close"));
      expect(closes).toEqual([]);
      expect(await booked(f)).toBe(0);
      expect(await driftKinds(f)).toContain("book_corrected");
      // The price runs through the old exits: nothing fills, nothing opens.
      await f.price("20990");
      await f.price("21010");
      expect(await brokerNet(f)).toBe(0);
      expect(await working(f)).toEqual([]);
    });

    it("B02 a partial close by hand: the exit closes only what the broker still holds", async () => {
      const f = await follower(broker);
      await signal(f, { action: "buy" });
      const venue = await f.venue();
      venue.place({ account: f.venueAccount, contract: f.contract, side: "sell", type: "market", qty: 1 });
      await f.saved();
      expect(await brokerNet(f)).toBe(1);

      const exit = await signal(f, { action: "exit" });
      expect(exit).toMatchObject({ status: "done", decision: "closed" });
      expect(exit.reason).toMatch(/closed 1 instead of 2: the broker holds only long 1/);
      expect(await brokerNet(f)).toBe(0);
      expect(await booked(f)).toBe(0);
      expect(await working(f)).toEqual([]);
    });

    it("B03 an exit alert older than the age limit still closes and says how late; a late entry is refused", async () => {
      const f = await follower(broker, { maxSignalAgeSeconds: 5 });
      await signal(f, { action: "buy" });
      const old = new Date(Date.now() - 60_000).toISOString();
      const lateEntry = await t.webhook(
        f.token,
        JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", time: old }),
      );
      expect(lateEntry.status).toBe(422);
      expect(lateEntry.body).toMatchObject({ status: "stale" });
      const exit = await signal(f, { action: "exit", time: old });
      expect(exit).toMatchObject({ status: "done", decision: "closed" });
      expect(exit.reason).toMatch(/carried out 6\d s after the alert .*exits run whatever their age/);
      expect(await brokerNet(f)).toBe(0);
    });
  });
}

describe("a restart after a manual flatten", () => {
  it("B04 reconciliation places no exits on the flat account and corrects the book", async () => {
    const f = await follower("tradovate");
    await signal(f, { action: "buy" });
    expect((await working(f)).length).toBe(2);
    await t.stop();
    await flattenByHand(f);
    t = await startTestRelay({ url: db.url, env: env(), logLevel: "info" });
    // Start-up reconciliation has run before start() returned.
    expect(await working(f)).toEqual([]);
    expect(await booked(f)).toBe(0);
    expect(await driftKinds(f)).toContain("book_corrected");
    expect(t.logs.join("\n")).not.toMatch(/placed again from the trader's settings/);
    await t.relay.reconciler.account(f.accountId);
    expect(await working(f)).toEqual([]);
    await f.price("20990");
    await f.price("21010");
    expect(await brokerNet(f)).toBe(0);
  });
});

describe("a broker that cannot be reached during exits", () => {
  it("B05 the exit waits for the broker (waiting_for_broker, notified) and goes out once it is back; a late entry expires", async () => {
    const { TcpProxy } = await import("../support/tcp-proxy");
    const rest = new URL(tv.restUrl);
    const proxy = new TcpProxy(rest.hostname, Number(rest.port));
    const port = await proxy.start();
    const viaProxy = `${rest.protocol}//127.0.0.1:${port}${rest.pathname}`;
    const r = await startTestRelay({
      url: db.url,
      env: { ...env(), TRADOVATE_LIVE_URL: viaProxy },
      logLevel: "info",
    });
    const events: string[] = [];
    r.relay.bus.on((e) => {
      events.push(e.type);
    });
    try {
      const login = async (maxSignalAgeSeconds: number) => {
        n++;
        const rec = await r.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
          name: `away ${n}`,
          quantity: 1,
          takeProfit: [{ ticks: 8, trimPercent: 100 }],
          stopLossTicks: 8,
          maxSignalAgeSeconds,
        });
        const ids = tv.addUser({
          name: `away${n}`,
          password: "pw-away",
          accounts: [{ name: `AWAY${n}`, balance: dec(100_000) }],
        });
        const acc = await r.api<{ id: string; status: string }>("POST", "/api/accounts", {
          name: `away ${n}`,
          broker: "tradovate",
          environment: "live",
          credentials: { username: `away${n}`, password: "pw-away", appId: "Relay", deviceId: `away${n}` },
        });
        expect(acc.body.status).toBe("connected");
        await r.api("POST", "/api/traders", { recorderId: rec.body.id, accountId: acc.body.id });
        return { token: rec.body.webhookToken, venueAccount: String(ids.accounts[0]?.id) };
      };
      const exits = await login(30);
      const entries = await login(2);
      const send = async (token: string, action: string) => {
        const res = await r.webhook(token, JSON.stringify({ ticker: "MNQ1!", action, price: "21000" }));
        expect(res.status).toBe(202);
        return res.body.signalId as string;
      };
      const status = async (signalId: string) =>
        (await db.sql`select status, error from executions where signal_id = ${signalId}`)[0];
      const done = (signalId: string, want: string[]) =>
        waitFor(
          async () => {
            const e = await status(signalId);
            return e && want.includes(e.status as string) ? e : undefined;
          },
          `execution ${want.join("/")}`,
          40_000,
        );
      await done(await send(exits.token, "buy"), ["done"]);
      const net = (account: string) => tv.venue.position(account, tv.front("MNQ"))?.netPos ?? 0;
      expect(net(exits.venueAccount)).toBe(1);

      proxy.cut();
      const exit = await send(exits.token, "exit");
      const entry = await send(entries.token, "buy");
      const waiting = await done(exit, ["waiting_for_broker"]);
      expect(waiting.error).toMatch(/waiting for the broker: .*goes out as soon as the broker is back/);
      // The entry waits only while its signal is fresh (2 s), then expires without being sent.
      const expired = await done(entry, ["failed"]);
      expect(expired.error).toMatch(/not entered: the broker could not be reached .*nothing was sent/);
      await new Promise((res) => setTimeout(res, 3_000));
      expect((await status(exit))?.status).toBe("waiting_for_broker");
      expect(net(exits.venueAccount)).toBe(1);

      proxy.restore();
      const closed = await done(exit, ["done", "failed", "unknown"]);
      expect(closed.status).toBe("done");
      expect(net(exits.venueAccount)).toBe(0);
      expect(net(entries.venueAccount)).toBe(0);
      expect(tv.duplicateClOrdIds()).toEqual([]);
      expect(tv.venue.listOrders(entries.venueAccount)).toEqual([]);
      expect(events).toContain("ExecutionWaiting");
    } finally {
      await r.stop();
      await proxy.stop();
    }
  }, 90_000);
});

for (const broker of ["paper", "tradovate"] as const) {
  describe(`deleting with an open position on ${broker}`, () => {
    it("B06 a trader with a position is refused; ?flatten=true closes and cancels at the broker, then deletes", async () => {
      const f = await follower(broker);
      await signal(f, { action: "buy" });
      expect(await working(f)).toHaveLength(2);
      const refused = await t.api<{ error: { code: string; message: string } }>(
        "DELETE",
        `/api/traders/${f.traderId}`,
      );
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toMatch(/holds long 2 MNQ\w+, 2 working orders at the broker/);
      expect(await working(f)).toHaveLength(2);
      expect((await t.api("GET", `/api/traders/${f.traderId}`)).status).toBe(200);

      expect((await t.api("DELETE", `/api/traders/${f.traderId}?flatten=true`)).status).toBe(204);
      expect(await brokerNet(f)).toBe(0);
      expect(await working(f)).toEqual([]);
      expect((await t.api("GET", `/api/traders/${f.traderId}`)).status).toBe(404);
      // The price runs through the old stop: nothing of ours is left to open a position.
      await f.price("20990");
      await f.price("21010");
      expect(await brokerNet(f)).toBe(0);
    });

    it("B07 an account is deleted with its traders only with ?flatten=true; no trader can join it meanwhile", async () => {
      const f = await follower(broker);
      await signal(f, { action: "buy" });
      const refused = await t.api<{ error: { message: string } }>("DELETE", `/api/accounts/${f.accountId}`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toMatch(/linked to 1 trader.*\?flatten=true/);
      expect(await working(f)).toHaveLength(2);
      // While a delete is under way, no trader can be linked to the account.
      const { beginAccountDelete, abandonAccountDelete } = await import("../../src/db/accounts");
      const rec = await t.api<{ id: string }>("POST", "/api/recorders", { name: `joiner ${n}` });
      expect(await beginAccountDelete(t.sql, f.accountId)).toBe("begun");
      const joined = await t.api<{ error: { message: string } }>("POST", "/api/traders", {
        recorderId: rec.body.id,
        accountId: f.accountId,
      });
      expect(joined.status).toBe(409);
      expect(joined.body.error.message).toMatch(/being deleted/);
      await abandonAccountDelete(t.sql, f.accountId);

      expect((await t.api("DELETE", `/api/accounts/${f.accountId}?flatten=true`)).status).toBe(204);
      expect(await brokerNet(f)).toBe(0);
      expect(await working(f)).toEqual([]);
      expect((await t.api("GET", `/api/accounts/${f.accountId}`)).status).toBe(404);
      expect((await t.api("GET", `/api/traders/${f.traderId}`)).status).toBe(404);
    });
  });
}

describe("broker ids that repeat", () => {
  it("B08 after the broker restarts its ids, new fills are booked (never taken for old ones) and exits still work", async () => {
    const { freePort } = await import("../../src/db/embedded");
    const port = await freePort();
    const user = {
      name: "reused",
      password: "pw-reused",
      accounts: [{ name: "REUSED1", balance: dec(100_000) }],
    };
    let sim = new TradovateSim({ port });
    await sim.start();
    const account = String(sim.addUser(user).accounts[0]?.id);
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    const r = await startTestRelay({
      url: db.url,
      env: { TRADOVATE_DEMO_URL: sim.restUrl, TRADOVATE_LIVE_URL: sim.restUrl, TRADOVATE_MD_URL: sim.mdUrl },
      logLevel: "info",
    });
    try {
      const rec = await r.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
        name: "reused ids",
        quantity: 2,
        takeProfit: [{ ticks: 8, trimPercent: 100 }],
        stopLossTicks: 8,
      });
      const acc = await r.api<{ id: string }>("POST", "/api/accounts", {
        name: "reused",
        broker: "tradovate",
        credentials: { username: user.name, password: user.password, appId: "Relay", deviceId: "reused" },
      });
      const tr = await r.api<{ id: string }>("POST", "/api/traders", {
        recorderId: rec.body.id,
        accountId: acc.body.id,
      });
      const run = async (action: string) => {
        const res = await r.webhook(
          rec.body.webhookToken,
          JSON.stringify({ ticker: "MNQ1!", action, price: "21000", id: `${action}-${++n}` }),
        );
        expect(res.status).toBe(202);
        return waitFor(
          async () => {
            const [e] =
              await db.sql`select status, decision, error from executions where signal_id = ${res.body.signalId as string}`;
            return e && !["pending", "running", "waiting_for_broker"].includes(e.status as string)
              ? e
              : undefined;
          },
          `the ${action}`,
          30_000,
        );
      };
      const booked = async () =>
        ((await db.sql`select net_qty from positions where trader_id = ${tr.body.id}`)[0]
          ?.net_qty as number) ?? 0;
      expect(await run("buy")).toMatchObject({ status: "done" });
      expect(await run("exit")).toMatchObject({ status: "done" });
      expect(await booked()).toBe(0);

      // The broker starts over on the same host: every order and fill id is handed out again.
      await sim.stop();
      sim = new TradovateSim({ port });
      await sim.start();
      expect(String(sim.addUser(user).accounts[0]?.id)).toBe(account);
      sim.setPrice(sim.front("MNQ"), dec("21000"));
      await waitFor(
        async () => (r.relay.services.pool.peek(acc.body.id)?.status().state === "ready" ? true : undefined),
        "the session to come back",
        40_000,
      );

      expect(await run("buy")).toMatchObject({ status: "done", decision: "opened" });
      const net = () => sim.venue.position(account, sim.front("MNQ"))?.netPos ?? 0;
      expect(net()).toBe(2);
      expect(await booked()).toBe(2);
      expect(sim.venue.listOrders(account).filter((o) => o.status === "working")).toHaveLength(2);
      expect(await run("exit")).toMatchObject({ status: "done", decision: "closed" });
      expect(net()).toBe(0);
      expect(await booked()).toBe(0);
      expect(sim.venue.listOrders(account).filter((o) => o.status === "working")).toEqual([]);
    } finally {
      await r.stop();
      await sim.stop();
    }
  }, 120_000);
});

describe("a position closed by hand with its exits left working", () => {
  it("B09 the exits are cancelled within seconds of the broker going flat, before price can reach them", async () => {
    const f = await follower("tradovate");
    await signal(f, { action: "buy" });
    expect(await working(f)).toHaveLength(2);
    // The trader closes the position at the broker and leaves the take-profit and the stop working.
    tv.venue.place({ account: f.venueAccount, contract: f.contract, side: "sell", type: "market", qty: 2 });
    expect(await brokerNet(f)).toBe(0);
    await waitFor(
      async () => ((await working(f)).length === 0 ? true : undefined),
      "the orphaned exits to go",
      10_000,
    );
    expect(await booked(f)).toBe(0);
    // The pass writes its drift report after the broker has confirmed the cancels.
    await waitFor(
      async () => ((await driftKinds(f)).includes("orphan_exit") ? true : undefined),
      "the orphaned exits to be reported",
      10_000,
    );
    expect(await driftKinds(f)).toEqual(expect.arrayContaining(["book_corrected", "orphan_exit"]));
    await f.price("20990");
    await f.price("21010");
    expect(await brokerNet(f)).toBe(0);
  });
});
