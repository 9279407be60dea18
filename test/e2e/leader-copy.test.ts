/**
 * Leader copying end to end on the Tradovate and ProjectX simulators: a human trades a leader
 * sub-account at the broker's own platform (the simulators' manual desks), and the recorder's followers
 * on other sub-accounts follow: open, add, trim, reverse, close, with their multipliers. The relay's own
 * orders on the leader sub-account (it also follows another recorder) are never copied; a fill delivered
 * again is a duplicate, never a second signal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderWorld } from "../support/leader-world";
import { waitFor } from "../support/wait";

const w = new LeaderWorld();
beforeAll(() => w.start());
afterAll(() => w.stop());

for (const desk of w.desks()) {
  describe(`leader copying on ${desk.name}`, () => {
    it(`LD01 (${desk.name}) a human's open, add, trim, reverse and close on the leader are followed x1 and x2; the leader is refused as a follower`, async () => {
      const t = w.t;
      const { accountId, subs } = await desk.login(`ld01${desk.name}`);
      const [leader = 0, f1 = 0, f2 = 0] = subs;
      const rec = await t.api<{ id: string }>("POST", "/api/recorders", { name: `Lead ${desk.name}` });
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
      await w.follows(
        desk,
        [
          [f1, 2],
          [f2, 4],
        ],
        "open: followers long 2 and 4",
      );
      desk.buy(leader, 1);
      await w.follows(
        desk,
        [
          [f1, 3],
          [f2, 6],
        ],
        "add: followers long 3 and 6",
      );
      desk.sell(leader, 2);
      await w.follows(
        desk,
        [
          [f1, 1],
          [f2, 2],
        ],
        "trim: followers long 1 and 2",
      );
      desk.sell(leader, 3);
      await w.follows(
        desk,
        [
          [f1, -2],
          [f2, -4],
        ],
        "reverse: followers short 2 and 4",
      );
      desk.close(leader);
      await w.follows(
        desk,
        [
          [f1, 0],
          [f2, 0],
        ],
        "close: followers flat",
      );
      expect(desk.position(leader)).toBe(0);
      const listed = await t.api<{ signals: { source: string; signal: { leader?: unknown } }[] }>(
        "GET",
        `/api/signals?recorderId=${recorderId}&limit=1`,
      );
      expect(listed.body.signals[0]).toMatchObject({
        source: "leader",
        signal: { leader: { before: -2, after: 0 } },
      });
      expect(await w.leaderSignals(recorderId)).toBe(5);
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

    it(`LD02 (${desk.name}) the relay's own orders on the leader are not copied; a fill delivered again is not doubled`, async () => {
      const t = w.t;
      const { accountId, subs } = await desk.login(`ld02${desk.name}`);
      const [leader = 0, f1 = 0] = subs;
      const a = await t.api<{ id: string }>("POST", "/api/recorders", { name: `Lead A ${desk.name}` });
      const b = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
        name: `Other B ${desk.name}`,
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
      await w.follows(
        desk,
        [
          [leader, 1],
          [f1, 0],
        ],
        "B's order on the leader; the follower of A stays flat",
      );
      expect(await w.leaderSignals(a.body.id)).toBe(0);

      // The human's own contracts are the leader's position: the relay's 1 is not part of it.
      desk.buy(leader, 2);
      await w.follows(
        desk,
        [
          [leader, 3],
          [f1, 2],
        ],
        "the follower holds the human's 2, not 3",
      );
      const fill = w.events
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
      await w.follows(desk, [[f1, 2]], "still long 2");
      expect(await w.leaderSignals(a.body.id)).toBe(1);
      expect(dupes()).toBe(dupesBefore + 1);

      desk.sell(leader, 2);
      await w.follows(
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
      await w.follows(
        desk,
        [
          [leader, 0],
          [f1, 0],
        ],
        "B's exit is not copied",
      );
      expect(await w.leaderSignals(a.body.id)).toBe(2);
    });

    it(`LD04 (${desk.name}) a burst of leader orders (five at once) leaves the followers at their share, nothing doubled or crossed`, async () => {
      const { accountId, subs } = await desk.login(`ld04${desk.name}`);
      const [leader = 0, f1 = 0, f2 = 0] = subs;
      const recorderId = await w.recorder(`Burst ${desk.name}`, accountId, leader, [
        [f1, 1],
        [f2, 1.5],
      ]);
      desk.buy(leader, 2);
      await w.follows(
        desk,
        [
          [f1, 2],
          [f2, 3],
        ],
        "open before the burst",
      );
      // 2 -> 3 -> 5 -> 6 -> 3 -> 5, all at once.
      for (const q of [1, 2, 1, -3, 2]) (q > 0 ? desk.buy : desk.sell)(leader, Math.abs(q));
      await w.follows(
        desk,
        [
          [leader, 5],
          [f1, 5],
          [f2, 7],
        ],
        "followers at 5 and floor(7.5)",
      );
      // Down to flat at once, in two orders.
      desk.sell(leader, 4);
      desk.sell(leader, 1);
      await w.follows(
        desk,
        [
          [f1, 0],
          [f2, 0],
        ],
        "flat",
      );
      // Replayed order by order, no follower's position ever went below zero (nothing crossed, nothing doubled).
      const filled = await w.t.sql`
        select o.trader_id, o.side, o.filled_qty from broker_orders o join traders tr on tr.id = o.trader_id
         where tr.recorder_id = ${recorderId} and o.filled_qty > 0 order by o.id`;
      const running = new Map<string, number>();
      let lowest = 0;
      for (const f of filled) {
        const n =
          (running.get(f.trader_id as string) ?? 0) +
          (f.side === "buy" ? Number(f.filled_qty) : -Number(f.filled_qty));
        running.set(f.trader_id as string, n);
        lowest = Math.min(lowest, n);
      }
      expect(lowest).toBe(0);
      expect([...running.values()]).toEqual([0, 0]);
      expect(await w.leaderSignals(recorderId)).toBeLessThanOrEqual(8);
    });
  });
}

describe("leader copying across brokers", () => {
  it("LD05 a Tradovate leader's fills are followed on ProjectX (the leader's contract by name)", async () => {
    const [tradovate, projectx] = w.desks();
    if (!tradovate || !projectx) throw new Error("desks");
    const lead = await tradovate.login("ld05lead");
    const follow = await projectx.login("ld05follow");
    const rec = await w.t.api<{ id: string }>("POST", "/api/recorders", { name: "Cross" });
    const tr = await w.t.api("POST", "/api/traders", {
      recorderId: rec.body.id,
      accountId: follow.accountId,
      brokerAccountId: String(follow.subs[0]),
      multiplier: 2,
    });
    expect(tr.status).toBe(201);
    const set = await w.t.api("PUT", `/api/recorders/${rec.body.id}/leader`, {
      accountId: lead.accountId,
      brokerAccountId: String(lead.subs[0]),
    });
    expect(set.status).toBe(200);
    const leader = lead.subs[0] ?? 0;
    const f = follow.subs[0] ?? 0;
    tradovate.buy(leader, 1);
    await waitFor(() => (projectx.position(f) === 2 ? true : undefined), "the ProjectX follower long 2");
    tradovate.close(leader);
    await waitFor(() => (projectx.position(f) === 0 ? true : undefined), "the ProjectX follower flat");
    expect(await w.leaderSignals(rec.body.id)).toBe(2);
  });
});
