/**
 * Reconciliation against the broker, on paper and on the Tradovate simulator: understood differences are
 * fixed (a lost stop comes back, a missed fill is booked, orphaned exits are cancelled), anything else is
 * reported and left alone; an unknown position is never flattened.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import type { Venue } from "../../src/domain/venue/engine";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let sim: TradovateSim;
let t: TestRelay;
let n = 0;

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

interface Follower {
  token: string;
  traderId: string;
  accountId: string;
  venue: () => Promise<Venue>;
  venueAccount: string;
  contract: () => string;
  price(p: string): Promise<void>;
}

async function follower(broker: "paper" | "tradovate"): Promise<Follower> {
  const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: `rc ${n}`,
    quantity: 1,
    takeProfit: [{ ticks: 8, trimPercent: 100 }],
    stopLossTicks: 12,
  });
  let credentials = {};
  let simAccount = 0;
  if (broker === "tradovate") {
    const ids = sim.addUser({
      name: `rc${n}`,
      password: "pw",
      accounts: [{ name: `RC${n}`, balance: dec(100_000) }],
    });
    simAccount = ids.accounts[0]?.id ?? 0;
    credentials = { username: `rc${n}`, password: "pw", appId: "Relay", deviceId: `rc${n}` };
  }
  n++;
  const acc = await t.api<{ id: string }>("POST", "/api/accounts", {
    name: `${broker} rc`,
    broker,
    credentials,
  });
  const tr = await t.api<{ id: string }>("POST", "/api/traders", {
    recorderId: rec.body.id,
    accountId: acc.body.id,
  });
  const paperBook = async () => {
    const b = await t.relay.services.paper.book(acc.body.id);
    await t.relay.services.paper.sync(b);
    return b.venue;
  };
  return {
    token: rec.body.webhookToken,
    traderId: tr.body.id,
    accountId: acc.body.id,
    venueAccount: broker === "paper" ? acc.body.id : String(simAccount),
    venue: broker === "paper" ? paperBook : async () => sim.venue,
    contract: () => sim.front("MNQ"),
    price:
      broker === "paper"
        ? async (p) => {
            await t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });
          }
        : async (p) => sim.setPrice(sim.front("MNQ"), dec(p)),
  };
}

async function open(f: Follower): Promise<void> {
  await f.price("21000");
  const res = await t.webhook(
    f.token,
    JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: `o${n}-${Date.now()}` }),
  );
  await waitFor(async () => {
    const [e] = await db.sql`select status from executions where signal_id = ${res.body.signalId as string}`;
    return e?.status === "done" ? true : undefined;
  }, "the entry");
}

const drifts = async (accountId: string) =>
  db.sql<{ kind: string; fixed: boolean; detail: string; resolved_at: Date | null }[]>`
    select kind, fixed, detail, resolved_at from drift where account_id = ${accountId} order by id`;

const liveExits = async (traderId: string) =>
  (
    await db.sql`select leg from broker_orders where trader_id = ${traderId} and leg ~ '^(tp|sl)' and status in ('accepted','working') order by leg`
  ).map((r) => r.leg as string);

for (const broker of ["paper", "tradovate"] as const) {
  describe(`reconciliation on ${broker}`, () => {
    it("C01 a position whose stop vanished gets its exits back, once", async () => {
      const f = await follower(broker);
      await open(f);
      const venue = await f.venue();
      for (const o of venue.listOrders(f.venueAccount)) if (o.status === "working") venue.cancel(o.id);
      if (broker === "paper")
        await t.relay.services.paper.save(await t.relay.services.paper.book(f.accountId));
      await waitFor(
        async () => ((await liveExits(f.traderId)).length === 0 ? true : undefined),
        "the cancels to be seen",
      );

      await t.relay.reconciler.account(f.accountId);
      expect(await liveExits(f.traderId)).toEqual(["sl1", "tp1"]);
      const working = (await f.venue()).listOrders(f.venueAccount).filter((o) => o.status === "working");
      expect(working.map((o) => [o.type, o.side, o.qty]).sort()).toEqual([
        ["limit", "sell", 1],
        ["stop", "sell", 1],
      ]);
      const [d] = await drifts(f.accountId);
      expect(d).toMatchObject({ kind: "missing_exit", fixed: true });
      // A second pass finds nothing missing and places nothing more.
      await t.relay.reconciler.account(f.accountId);
      expect((await f.venue()).listOrders(f.venueAccount).filter((o) => o.status === "working")).toHaveLength(
        2,
      );
    });

    it("C02 a position no trader of ours holds is reported and never flattened", async () => {
      const f = await follower(broker);
      await f.price("21000");
      const venue = await f.venue();
      venue.place({
        account: f.venueAccount,
        contract: f.contract(),
        side: "sell",
        type: "market",
        qty: 3,
        clientOrderId: `manual-${n}`,
      });
      if (broker === "paper")
        await t.relay.services.paper.save(await t.relay.services.paper.book(f.accountId));
      const before = (await f.venue()).listOrders(f.venueAccount).length;

      // The broker's stream brings the position to the session a moment later; reconcile until it shows.
      await waitFor(async () => {
        await t.relay.reconciler.account(f.accountId);
        return (await drifts(f.accountId)).length > 0 ? true : undefined;
      }, "the unknown position to be seen");
      expect((await f.venue()).position(f.venueAccount, f.contract())?.netPos).toBe(-3);
      expect((await f.venue()).listOrders(f.venueAccount)).toHaveLength(before);
      const [d] = await drifts(f.accountId);
      expect(d).toMatchObject({ kind: "unknown_position", fixed: false, resolved_at: null });
      expect(d?.detail).toMatch(/short 3 .* left untouched/);

      // The trader closes it by hand; the next pass closes the drift.
      (await f.venue()).liquidate(f.venueAccount, f.contract());
      if (broker === "paper")
        await t.relay.services.paper.save(await t.relay.services.paper.book(f.accountId));
      await waitFor(async () => {
        await t.relay.reconciler.account(f.accountId);
        return (await drifts(f.accountId))[0]?.resolved_at ? true : undefined;
      }, "the drift to resolve");
    });

    it("C03 a take-profit that filled while its report was lost is booked, and the book ends flat", async () => {
      const f = await follower(broker);
      await open(f);
      const deliver = t.relay.fills.handle.bind(t.relay.fills);
      t.relay.fills.handle = () => undefined; // the broker's reports of this fill never arrive
      await f.price("21002");
      await waitFor(
        async () =>
          (await f.venue()).position(f.venueAccount, f.contract())?.netPos === 0 ? true : undefined,
        "the take-profit to fill",
      );
      await new Promise((r) => setTimeout(r, 200));
      t.relay.fills.handle = deliver;
      const [p] = await db.sql`select net_qty from positions where trader_id = ${f.traderId}`;
      expect(p?.net_qty).toBe(1);

      await t.relay.reconciler.account(f.accountId);
      const [after] =
        await db.sql`select net_qty, realized_pnl from positions where trader_id = ${f.traderId}`;
      expect(after).toMatchObject({ net_qty: 0, realized_pnl: "4" }); // 8 ticks x $0.50
      expect((await drifts(f.accountId)).map((d) => d.kind)).toContain("order_settled");
      expect(await liveExits(f.traderId)).toEqual([]);
    });

    it("C04 exits left working after a position closed are cancelled", async () => {
      const f = await follower(broker);
      await open(f);
      // The position was closed in the book (say, by hand through the relay's close), but its exits remain.
      await db.sql`update positions set net_qty = 0, avg_price = null where trader_id = ${f.traderId}`;
      (await f.venue()).place({
        account: f.venueAccount,
        contract: f.contract(),
        side: "sell",
        type: "market",
        qty: 1,
      });
      if (broker === "paper")
        await t.relay.services.paper.save(await t.relay.services.paper.book(f.accountId));
      await t.relay.reconciler.account(f.accountId);
      expect(await liveExits(f.traderId)).toEqual([]);
      expect((await f.venue()).listOrders(f.venueAccount).filter((o) => o.status === "working")).toEqual([]);
      expect((await drifts(f.accountId)).map((d) => d.kind)).toContain("orphan_exit");
    });

    it("C05 positions are not compared while a trader of the sub-account has an execution in flight", async () => {
      const f = await follower(broker);
      await open(f);
      // Its entry is at the broker but, as far as the book knows, still in flight (another relay runs it).
      await db.sql`update positions set net_qty = 0, avg_price = null where trader_id = ${f.traderId}`;
      await db.sql`update executions set status = 'running', claimed_by = 'another-relay',
                     lease_until = now() + interval '1 hour', finished_at = null
                    where trader_id = ${f.traderId}`;
      await t.relay.reconciler.account(f.accountId);
      expect(await drifts(f.accountId)).toEqual([]);

      // It finished a while ago and the book still does not explain the broker: now that is drift.
      await db.sql`update executions set status = 'done', finished_at = now() - interval '1 minute'
                    where trader_id = ${f.traderId}`;
      await t.relay.reconciler.account(f.accountId);
      const found = await drifts(f.accountId);
      expect(found.find((d) => d.kind === "unknown_position")).toMatchObject({
        fixed: false,
        resolved_at: null,
      });
    });
  });
}
