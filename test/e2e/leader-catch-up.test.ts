/**
 * Leader copying across a relay restart, on the Tradovate and ProjectX simulators: what the leader did
 * while the relay was down is caught up when its session is ready again (the broker's position against
 * the one last copied): an add while it is recent, an exit whatever its age, an old entry never.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderWorld } from "../support/leader-world";
import { waitFor } from "../support/wait";

const w = new LeaderWorld();
beforeAll(() => w.start());
afterAll(() => w.stop());

for (const desk of w.desks()) {
  describe(`leader catch-up on ${desk.name}`, () => {
    it(`LD03 (${desk.name}) fills made while the relay was down are caught up at restart: an add and an exit always, an old entry not`, async () => {
      w.shiftMs = 0;
      const { accountId, subs } = await desk.login(`ld03${desk.name}`);
      const [leader = 0, f1 = 0] = subs;
      const recorderId = await w.recorder(`Catch-up ${desk.name}`, accountId, leader, [[f1, 1]]);
      desk.buy(leader, 2);
      await w.follows(desk, [[f1, 2]], "open copied");

      // Down: the human adds. Back (fresh): the add is copied.
      await w.t.stop();
      desk.buy(leader, 1);
      w.t = await w.relay();
      await w.follows(desk, [[f1, 3]], "the add made while the relay was down");
      expect(await w.leaderSignals(recorderId)).toBe(2);

      // Down: the human closes. Back ten minutes later by the relay's clock: the exit still goes.
      await w.t.stop();
      desk.close(leader);
      w.shiftMs = 600_000;
      w.t = await w.relay();
      await w.follows(desk, [[f1, 0]], "the old exit");
      expect(await w.leaderSignals(recorderId)).toBe(3);

      // Down: the human opens. Back ten minutes later: too old to open a follower.
      await w.t.stop();
      desk.buy(leader, 1);
      w.t = await w.relay();
      const decision = await waitFor(async () => {
        // Counted first: the row read after it is the fourth signal's.
        if ((await w.leaderSignals(recorderId)) !== 4) return undefined;
        const [row] = await w.t.sql`
          select e.decision, e.status from executions e join signals s on s.id = e.signal_id
           where s.recorder_id = ${recorderId} order by s.seq desc limit 1`;
        if (!row || ["pending", "running"].includes(row.status as string)) return undefined;
        return row.decision as string;
      }, "the old entry's signal");
      expect(decision).toBe("skipped_stale");
      expect(desk.position(f1)).toBe(0);
    });
  });
}
