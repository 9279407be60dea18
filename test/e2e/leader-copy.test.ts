/**
 * Leader copying end to end on the Tradovate and ProjectX simulators: a human trades a leader
 * sub-account at the broker's own platform (the simulators' manual desks), and the recorder's followers
 * on other sub-accounts follow: open, add, trim, reverse, close, with their multipliers. The relay's own
 * orders on the leader sub-account (it also follows another recorder) are never copied; a fill delivered
 * again is a duplicate, never a second signal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerEvent } from "../../src/brokers/port";
import { dec } from "../../src/domain/decimal";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let tv: TradovateSim;
let px: ProjectXSim;
let t: TestRelay;
const events: { accountId: string; event: BrokerEvent }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  px = new ProjectXSim({ hubPingMs: 500 });
  await Promise.all([tv.start(), px.start()]);
  t = await startTestRelay({
    url: db.url,
    logLevel: "debug",
    env: {
      TRADOVATE_DEMO_URL: tv.restUrl,
      TRADOVATE_LIVE_URL: tv.restUrl,
      TRADOVATE_MD_URL: tv.mdUrl,
      PROJECTX_API_URL: px.apiUrl,
      PROJECTX_RTC_URL: px.rtcUrl.replace(/^ws/, "http"),
    },
  });
  t.relay.services.pool.onEvent((accountId, event) => events.push({ accountId, event }));
});
afterAll(async () => {
  await t.stop();
  await Promise.all([tv.stop(), px.stop()]);
  await db.drop();
});

interface Desk {
  /** Creates one login with four sub-accounts; returns the relay's account id and the sub-account ids. */
  login(name: string): Promise<{ accountId: string; subs: number[] }>;
  buy(sub: number, qty: number): void;
  sell(sub: number, qty: number): void;
  close(sub: number): void;
  position(sub: number): number;
}

const tradovate: Desk = {
  async login(name) {
    const ids = tv.addUser({
      name,
      password: "pw",
      accounts: [0, 1, 2, 3].map((i) => ({ name: `D${name}${i}`, balance: dec(100_000) })),
    });
    tv.setPrice(tv.front("MNQ"), dec("21000"));
    const acc = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name,
      broker: "tradovate",
      credentials: { username: name, password: "pw", appId: "Relay", deviceId: `d-${name}` },
    });
    expect(acc.body.status).toBe("connected");
    return { accountId: acc.body.id, subs: ids.accounts.map((a) => a.id) };
  },
  buy: (sub, qty) => void tv.manual.marketOrder(sub, tv.front("MNQ"), "Buy", qty),
  sell: (sub, qty) => void tv.manual.marketOrder(sub, tv.front("MNQ"), "Sell", qty),
  close: (sub) => void tv.manual.closePosition(sub, tv.front("MNQ")),
  position: (sub) => tv.venue.position(String(sub), tv.front("MNQ"))?.netPos ?? 0,
};

const projectx: Desk = {
  async login(name) {
    const { accounts } = px.addUser({
      userName: name,
      apiKey: `key-${name}`,
      accounts: [0, 1, 2, 3].map((i) => ({ name: `PRAC-${name}${i}`, balance: 50_000 })),
    });
    px.setPrice("MNQ", dec("21000"));
    const acc = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name,
      broker: "projectx",
      environment: "demo",
      credentials: { userName: name, apiKey: `key-${name}` },
    });
    expect(acc.body.status, JSON.stringify(acc.body)).toBe("connected");
    return { accountId: acc.body.id, subs: accounts.map((a) => a.id) };
  },
  buy: (sub, qty) => void px.manual.marketOrder(sub, px.contractId("MNQ"), 0, qty),
  sell: (sub, qty) => void px.manual.marketOrder(sub, px.contractId("MNQ"), 1, qty),
  close: (sub) => void px.manual.closePosition(sub, px.contractId("MNQ")),
  position: (sub) => {
    const p = px.positions(sub).find((x) => x.contractId === px.contractId("MNQ"));
    return p ? (p.type === 1 ? p.size : -p.size) : 0;
  },
};

async function leaderSignals(recorderId: string): Promise<number> {
  const [row] = await t.sql`
    select count(*)::int as n from signals where recorder_id = ${recorderId} and source = 'leader'`;
  return Number(row?.n ?? 0);
}

/** Waits for every follower to hold `want` at the broker and every execution to be finished. */
async function follows(desk: Desk, want: [number, number][], what: string): Promise<void> {
  await waitFor(async () => {
    if (!want.every(([sub, qty]) => desk.position(sub) === qty)) return undefined;
    await t.relay.leaders.idle();
    const [open] = await t.sql`
      select count(*)::int as n from executions where status in ('pending', 'running', 'waiting_for_broker')`;
    return Number(open?.n) === 0 ? true : undefined;
  }, what);
}

for (const [name, desk] of [
  ["Tradovate", tradovate],
  ["ProjectX", projectx],
] as const) {
  describe(`leader copying on ${name}`, () => {
    it(`LD01 (${name}) a human's open, add, trim, reverse and close on the leader are followed x1 and x2; the leader is refused as a follower`, async () => {
      const { accountId, subs } = await desk.login(`ld01${name}`);
      const [leader = 0, f1 = 0, f2 = 0] = subs;
      const rec = await t.api<{ id: string }>("POST", "/api/recorders", { name: `Lead ${name}` });
      const recorderId = rec.body.id;
      for (const [sub, multiplier] of [
        [f1, 1],
        [f2, 2],
      ] as const) {
        const tr = await t.api("POST", "/api/traders", {
          recorderId,
          accountId,
          brokerAccountId: String(sub),
          multiplier,
        });
        expect(tr.status, JSON.stringify(tr.body)).toBe(201);
      }
      // A follower cannot lead, and the leader cannot follow: its copies would come back as its fills.
      const refused = await t.api("PUT", `/api/recorders/${recorderId}/leader`, {
        accountId,
        brokerAccountId: String(f1),
      });
      expect(refused.status).toBe(409);
      const set = await t.api("PUT", `/api/recorders/${recorderId}/leader`, {
        accountId,
        brokerAccountId: String(leader),
      });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      const asFollower = await t.api("POST", "/api/traders", {
        recorderId,
        accountId,
        brokerAccountId: String(leader),
      });
      expect(asFollower.status).toBe(409);
      expect((await t.api("GET", `/api/recorders/${recorderId}/leader`)).body).toMatchObject({
        leader: { accountId, brokerAccountId: String(leader) },
      });

      desk.buy(leader, 2);
      await follows(
        desk,
        [
          [f1, 2],
          [f2, 4],
        ],
        "open: followers long 2 and 4",
      );
      desk.buy(leader, 1);
      await follows(
        desk,
        [
          [f1, 3],
          [f2, 6],
        ],
        "add: followers long 3 and 6",
      );
      desk.sell(leader, 2);
      await follows(
        desk,
        [
          [f1, 1],
          [f2, 2],
        ],
        "trim: followers long 1 and 2",
      );
      desk.sell(leader, 3);
      await follows(
        desk,
        [
          [f1, -2],
          [f2, -4],
        ],
        "reverse: followers short 2 and 4",
      );
      desk.close(leader);
      await follows(
        desk,
        [
          [f1, 0],
          [f2, 0],
        ],
        "close: followers flat",
      );
      expect(desk.position(leader)).toBe(0);
      expect(await leaderSignals(recorderId)).toBe(5);
      const decisions = await t.sql`
        select e.decision, count(*)::int as n from executions e join signals s on s.id = e.signal_id
         where s.recorder_id = ${recorderId} group by e.decision order by e.decision`;
      expect(decisions.map((d) => [d.decision, d.n])).toEqual([
        ["added", 2],
        ["closed", 2],
        ["closed_partial", 2],
        ["opened", 2],
        ["reversed", 2],
      ]);
    });

    it(`LD02 (${name}) the relay's own orders on the leader are not copied; a fill delivered again is not doubled`, async () => {
      const { accountId, subs } = await desk.login(`ld02${name}`);
      const [leader = 0, f1 = 0] = subs;
      const a = await t.api<{ id: string }>("POST", "/api/recorders", { name: `Lead A ${name}` });
      const b = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
        name: `Other B ${name}`,
      });
      await t.api("POST", "/api/traders", { recorderId: a.body.id, accountId, brokerAccountId: String(f1) });
      // The leader sub-account also follows recorder B: the relay places orders on it.
      await t.api("POST", "/api/traders", {
        recorderId: b.body.id,
        accountId,
        brokerAccountId: String(leader),
      });
      await t.api("PUT", `/api/recorders/${a.body.id}/leader`, {
        accountId,
        brokerAccountId: String(leader),
      });

      const ours = () => t.logs.filter((l) => l.includes('"LeaderFillOurs"')).length;
      const oursBefore = ours();
      const res = await t.webhook(
        b.body.webhookToken,
        JSON.stringify({ ticker: "MNQ1!", action: "buy", id: "b1" }),
      );
      expect(res.status).toBe(202);
      await waitFor(
        () => (ours() > oursBefore ? true : undefined),
        "the relay's own fill on the leader seen",
      );
      await follows(
        desk,
        [
          [leader, 1],
          [f1, 0],
        ],
        "B's order on the leader; the follower of A stays flat",
      );
      expect(await leaderSignals(a.body.id)).toBe(0);

      // The human's own contracts are the leader's position: the relay's 1 is not part of it.
      desk.buy(leader, 2);
      await follows(
        desk,
        [
          [leader, 3],
          [f1, 2],
        ],
        "the follower holds the human's 2, not 3",
      );
      const fill = events
        .filter(
          (e) =>
            e.accountId === accountId &&
            e.event.type === "OrderFilled" &&
            e.event.brokerAccountId === String(leader) &&
            !e.event.clientOrderId,
        )
        .at(-1);
      expect(fill).toBeDefined();
      // The session reports the same fill again (as after a reconnect): a duplicate, nothing sent.
      const dupes = () => t.logs.filter((l) => l.includes('"LeaderFillDuplicate"')).length;
      const dupesBefore = dupes();
      if (fill) t.relay.leaders.handle(fill.accountId, fill.event);
      await t.relay.leaders.idle();
      await follows(desk, [[f1, 2]], "still long 2");
      expect(await leaderSignals(a.body.id)).toBe(1);
      expect(dupes()).toBe(dupesBefore + 1);

      desk.sell(leader, 2);
      await follows(
        desk,
        [
          [leader, 1],
          [f1, 0],
        ],
        "the human's exit flattens the follower; the relay's 1 stays",
      );
      const exit = await t.webhook(
        b.body.webhookToken,
        JSON.stringify({ ticker: "MNQ1!", action: "exit", id: "b2" }),
      );
      expect(exit.status).toBe(202);
      await follows(
        desk,
        [
          [leader, 0],
          [f1, 0],
        ],
        "B's exit is not copied",
      );
      expect(await leaderSignals(a.body.id)).toBe(2);
    });
  });
}
