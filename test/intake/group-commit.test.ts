/**
 * Group commit at intake (issue 16): webhooks arriving together share one transaction, each answered only
 * after that COMMIT, each with its own result; duplicates inside one batch, a bad alert in a batch, the
 * 503 past WEBHOOK_COMMIT_TIMEOUT_MS and a stuck batch behave as they do for alerts committed alone.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AcceptInput } from "../../src/db/signals";
import { GroupCommitter } from "../../src/intake/group-commit";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;
let token: string;
let recorderId: string;

const OPEN_LIMITS = {
  WEBHOOK_RATE_PER_MINUTE: "600000",
  WEBHOOK_RATE_BURST: "10000",
  RECORDER_MAX_PENDING_SIGNALS: "10000",
};

const alert = (extra: Record<string, unknown>) =>
  JSON.stringify({
    ticker: "MNQ1!",
    action: "buy",
    price: "21000",
    time: new Date().toISOString(),
    ...extra,
  });

/** An alert as the intake hands it to the committer, for the committer's own tests. */
function input(o: { fingerprint: string; alertId?: string; body?: string }): AcceptInput {
  return {
    signalId: randomUUID(),
    recorderId,
    webhook: {
      receivedAt: new Date(),
      recorderId,
      tokenPrefix: null,
      sourceIp: "127.0.0.1",
      contentType: "application/json",
      headers: { "content-type": "application/json" },
      body: o.body ?? '{"ticker":"MNQ1!","action":"buy"}',
      bodyBytes: (o.body ?? "").length,
    },
    alertId: o.alertId,
    fingerprint: o.fingerprint,
    dedupWindowMs: 3_000,
    signal: { action: "buy", ticker: "MNQ1!", payload: { ticker: "MNQ1!", action: "buy" } },
    instanceId: "test-relay",
    leaseMs: 60_000,
  };
}

const committer = () =>
  new GroupCommitter(db.sql, createLogger({ level: "silent" }), {
    concurrency: 1,
    maxBatch: 64,
    releaseAfterMs: 10_000,
  });

/** Transactions that wrote these raw webhook rows (rows written by one transaction share its xmin). */
async function transactionsOf(signalIds: string[]): Promise<number> {
  const [row] = await db.sql`
    select count(distinct xmin::text)::int as n from webhooks where signal_id = any(${signalIds}::uuid[])`;
  return row?.n as number;
}

/** Makes every raw-log insert whose body mentions "poison" fail: a bad alert, as the database sees it. */
async function poisonTrigger(): Promise<() => Promise<void>> {
  await db.sql.unsafe(`
    create function gc_poison() returns trigger language plpgsql as $$
    begin
      if new.body like '%poison%' then raise exception 'poisoned alert'; end if;
      return new;
    end $$;
    create trigger gc_poison before insert on webhooks for each row execute function gc_poison();`);
  return async () => {
    await db.sql.unsafe("drop trigger gc_poison on webhooks; drop function gc_poison();");
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, env: OPEN_LIMITS });
  ({ token, recorderId } = await paperSetup(t, { multipliers: [1], settings: { dedupWindowMs: 3000 } }));
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

describe("group commit", () => {
  it("GC01 50 webhooks at once: fewer transactions than alerts, each 202 with its own signal, every row once", async () => {
    const before = t.relay.services.intake.commitStats();
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.webhook(token, alert({ id: `gc01-${i}`, price: `${21000 + i}` })),
      ),
    );
    const after = t.relay.services.intake.commitStats();

    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(202));
    const ids = replies.map((r) => r.body.signalId as string);
    expect(new Set(ids).size).toBe(50);
    expect(after.alerts - before.alerts).toBe(50);
    expect(after.batches - before.batches).toBeLessThan(50);
    expect(after.largest).toBeGreaterThan(1);
    // The database agrees: the rows were written by fewer transactions than there were alerts.
    expect(await transactionsOf(ids)).toBeLessThan(50);

    const signals = await db.sql`select id, alert_id from signals where id = any(${ids}::uuid[])`;
    expect(signals).toHaveLength(50);
    // Each reply names the signal of its own alert.
    const alertOf = new Map(signals.map((s) => [s.id as string, s.alert_id as string]));
    expect(ids.map((id) => alertOf.get(id))).toEqual(ids.map((_, i) => `gc01-${i}`));
    const raw = await db.sql`
      select signal_id, count(*)::int as n, min(outcome) as outcome from webhooks
       where signal_id = any(${ids}::uuid[]) group by signal_id`;
    expect(raw).toHaveLength(50);
    expect(raw.every((r) => r.n === 1 && r.outcome === "accepted")).toBe(true);
    // Each signal's execution was created in the batch and handed to dispatch.
    await waitFor(async () => {
      const [e] = await db.sql`
        select count(*)::int as n, count(*) filter (where status in ('pending', 'running'))::int as open
          from executions where signal_id = any(${ids}::uuid[])`;
      return e?.n === 50 && e.open === 0 ? true : undefined;
    }, "every execution of the batch to run");
  });

  it("GC02 two identical alerts in one batch: one signal and one duplicate, by fingerprint and by alert id", async () => {
    const c = committer();
    const a = input({ fingerprint: "gc02-print" });
    const b = input({ fingerprint: "gc02-print" });
    const x = input({ fingerprint: "gc02-x1", alertId: "gc02-id" });
    const y = input({ fingerprint: "gc02-x2", alertId: "gc02-id" });
    const results = await Promise.all([c.accept(a), c.accept(b), c.accept(x), c.accept(y)]);

    expect(c.stats()).toMatchObject({ batches: 1, alerts: 4, largest: 4 });
    expect(results[0]).toMatchObject({ outcome: "accepted", signalId: a.signalId });
    expect(results[1]).toEqual({ outcome: "duplicate", signalId: a.signalId, webhookId: expect.any(String) });
    expect(results[2]).toMatchObject({ outcome: "accepted", signalId: x.signalId });
    expect(results[3]).toEqual({ outcome: "duplicate", signalId: x.signalId, webhookId: expect.any(String) });
    const signals = await db.sql`
      select id from signals where id = any(${[a.signalId, b.signalId, x.signalId, y.signalId]}::uuid[])`;
    expect(signals.map((s) => s.id).sort()).toEqual([a.signalId, x.signalId].sort());
    const raw = await db.sql`
      select outcome, signal_id, xmin::text as tx from webhooks
       where id = any(${results.map((r) => r.webhookId)}::bigint[]) order by id`;
    expect(raw.map((r) => [r.outcome, r.signal_id])).toEqual([
      ["accepted", a.signalId],
      ["duplicate", a.signalId],
      ["accepted", x.signalId],
      ["duplicate", x.signalId],
    ]);
    expect(new Set(raw.map((r) => r.tx)).size).toBe(1);
  });

  it("GC03 one bad alert in a batch fails alone; the others are committed and answered", async () => {
    const cleanup = await poisonTrigger();
    try {
      const c = committer();
      const inputs = [0, 1, 2, 3, 4].map((i) =>
        input({ fingerprint: `gc03-${i}`, body: i === 2 ? '{"note":"poison"}' : `{"n":${i}}` }),
      );
      const settled = await Promise.allSettled(inputs.map((i) => c.accept(i)));
      expect(c.stats()).toMatchObject({ batches: 1, alerts: 5, split: 1, largest: 5 });
      expect(settled.map((s) => s.status)).toEqual([
        "fulfilled",
        "fulfilled",
        "rejected",
        "fulfilled",
        "fulfilled",
      ]);
      expect(String((settled[2] as PromiseRejectedResult).reason)).toMatch(/poisoned alert/);
      for (const [i, s] of settled.entries())
        if (s.status === "fulfilled")
          expect(s.value).toMatchObject({ outcome: "accepted", signalId: inputs[i]?.signalId });
      const signals =
        await db.sql`select id from signals where id = any(${inputs.map((i) => i.signalId)}::uuid[])`;
      expect(signals).toHaveLength(4);

      // Through the webhook: the bad alert is answered 503 (not recorded), every other one 202.
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.webhook(token, alert({ id: i === 7 ? "gc03-poison" : `gc03-${i}`, price: `${22000 + i}` })),
        ),
      );
      expect(replies.map((r) => r.status)).toEqual(
        Array.from({ length: 20 }, (_, i) => (i === 7 ? 503 : 202)),
      );
      expect(replies[7]?.body).toMatchObject({ error: { code: "not_recorded" } });
      const [n] = await db.sql`select count(*)::int as n from signals where alert_id like 'gc03-%'`;
      expect(n?.n).toBe(19);
    } finally {
      await cleanup();
    }
  });

  it("GC04 past WEBHOOK_COMMIT_TIMEOUT_MS batched alerts are answered 503; the late commits land and re-sends are duplicates", async () => {
    const slow = await startTestRelay({
      url: db.url,
      env: { ...OPEN_LIMITS, WEBHOOK_COMMIT_TIMEOUT_MS: "1000", WEBHOOK_COMMIT_CONCURRENCY: "1" },
    });
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    // Every commit of the raw log waits on this lock while it is held: a stalled database.
    const stall = db.sql.begin(async (tx) => {
      await tx`lock table webhooks in share mode`;
      locked();
      await held;
    });
    try {
      const { token: slowToken } = await paperSetup(slow, {
        multipliers: [],
        settings: { dedupWindowMs: 50 },
        recorderName: "gc04",
      });
      await isLocked;
      const bodies = [0, 1, 2, 3].map((i) => alert({ price: `${23000 + i}` }));
      const first = await Promise.all(bodies.map((b) => slow.webhook(slowToken, b)));
      expect(first.map((r) => r.status)).toEqual([503, 503, 503, 503]);
      release();
      await stall;

      const late = await waitFor(async () => {
        const rows = await db.sql`
          select s.id, s.price::text as price from signals s join recorders r on r.id = s.recorder_id
           where r.webhook_token = ${slowToken} order by s.price`;
        return rows.length === 4 ? rows : undefined;
      }, "the late commits");
      // TradingView's re-sends, past the dedup window: each is a duplicate of its own late signal.
      await new Promise((r) => setTimeout(r, 100));
      const resent = await Promise.all(bodies.map((b) => slow.webhook(slowToken, b)));
      expect(resent.map((r) => [r.status, r.body.signalId])).toEqual(late.map((s) => [200, s.id]));
      expect(slow.logs.some((l) => l.includes('"event":"SignalCommittedLate"'))).toBe(true);
    } finally {
      release();
      await stall.catch(() => undefined);
      await slow.stop();
    }
  });

  it("GC05 a batch stuck past the timeout frees its slot: an alert behind it is committed in time", async () => {
    const slow = await startTestRelay({
      url: db.url,
      env: { ...OPEN_LIMITS, WEBHOOK_COMMIT_TIMEOUT_MS: "1500", WEBHOOK_COMMIT_CONCURRENCY: "1" },
    });
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let stall: Promise<unknown> = Promise.resolve();
    try {
      const { token: slowToken } = await paperSetup(slow, {
        multipliers: [],
        settings: { dedupWindowMs: 50 },
        recorderName: "gc05",
      });
      const stuck = alert({ ticker: "MES1!" });
      const once = await slow.webhook(slowToken, stuck);
      expect(once.status).toBe(202);
      const [row] = await db.sql`select fingerprint from signals where id = ${once.body.signalId as string}`;
      let locked: () => void = () => undefined;
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      // The same alert again must lock its fingerprint row, which this transaction holds.
      stall = db.sql.begin(async (tx) => {
        await tx`select 1 from signal_fingerprints where fingerprint = ${row?.fingerprint as string} for update`;
        locked();
        await held;
      });
      await isLocked;
      const blocked = await slow.webhook(slowToken, stuck);
      expect(blocked.status).toBe(503);
      // The only commit slot is still held by the stuck batch; this alert is committed anyway.
      const behind = await slow.webhook(slowToken, alert({ ticker: "M2K1!" }));
      expect(behind.status).toBe(202);
      release();
      await stall;
    } finally {
      release();
      await stall.catch(() => undefined);
      await slow.stop();
    }
  });
});
