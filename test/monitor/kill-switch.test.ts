/**
 * The kill switch's state is shared by every relay on the database (issue 16): a change made on one relay
 * while another marks its accounts flat loses neither. Both writes are locked read-modify-writes of the
 * one relay_state row, and every write bumps `rev`, so a relay keeps the newest it has seen.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readState } from "../../src/db/relay-state";
import { EventBus } from "../../src/events";
import { KILL_SWITCH_KEY, KillSwitch, type KillSwitchState } from "../../src/monitor/kill-switch";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

/** Backends of this database waiting on a lock (the test's own transaction holds the row). */
async function waiters(): Promise<number> {
  const [r] = await db.sql`
    select count(*)::int as n from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock'`;
  return (r?.n as number) ?? 0;
}

describe("kill switch shared by relays", () => {
  it("KS01 a resume on one relay and accounts marked flat on another, at the same moment, both land", async () => {
    const now = () => new Date();
    const a = new KillSwitch(db.sql, new EventBus(), now);
    const b = new KillSwitch(db.sql, new EventBus(), now);
    await a.beginFlatten("admin", "news", ["acc-1", "acc-2"]);
    await b.load();
    await b.accountsFlat(1, ["acc-1"]);

    // Hold the row so both writers queue: relay B's flat mark first, then relay A's resume.
    const lock = await db.sql.reserve();
    try {
      await lock`begin`;
      await lock`select 1 from relay_state where key = ${KILL_SWITCH_KEY} for update`;
      const flat = b.accountsFlat(1, ["acc-2"]);
      await waitFor(async () => ((await waiters()) >= 1 ? true : undefined), "B queued", 5_000);
      const resumed = a.resume("admin", "all clear");
      await waitFor(async () => ((await waiters()) >= 2 ? true : undefined), "A queued", 5_000);
      await lock`commit`;
      const [, state] = await Promise.all([flat, resumed]);
      expect(state.stopped).toBe(false);
    } finally {
      lock.release();
    }

    const stored = (await readState<KillSwitchState>(db.sql, KILL_SWITCH_KEY)) as KillSwitchState;
    expect(stored.stopped, "the resume is not undone by the flat mark").toBe(false);
    expect(stored.flatten).toMatchObject({ seq: 1, done: true });
    expect([...(stored.flatten?.flat ?? [])].sort()).toEqual(["acc-1", "acc-2"]);
    // Each relay ends with the newest state, whatever order its answers came in.
    await b.load();
    for (const k of [a, b]) {
      expect(k.current.stopped).toBe(false);
      expect(k.current.rev).toBe(stored.rev);
    }
  });

  it("KS02 a reload never replaces a newer state with an older one", async () => {
    const now = () => new Date();
    const a = new KillSwitch(db.sql, new EventBus(), now);
    await a.load();
    const before = a.current.rev ?? 0;
    await a.stop("admin", null);
    expect(a.current.rev).toBe(before + 1);
    // An older answer (as a reload issued before the write and answered after it would bring).
    const stale = { ...a.current, stopped: false, rev: before };
    await db.sql`update relay_state set value = ${db.sql.json(stale as never)} where key = ${KILL_SWITCH_KEY}`;
    await a.load();
    expect(a.current.stopped).toBe(true);
    expect(a.current.rev).toBe(before + 1);
    await a.resume("admin", null);
  });
});
