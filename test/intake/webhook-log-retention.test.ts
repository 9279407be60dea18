/**
 * Retention of the raw webhook log (issue 13): rows older than WEBHOOK_LOG_DAYS go (a signal outlives its
 * raw row, its reference nulled), the size cap prunes the oldest prunable rows and never the raw rows of
 * accepted signals younger than the retention, and two relays never prune at once. Old and bulky rows are
 * inserted directly; nothing here waits on the clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookLogRetention } from "../../src/intake/webhook-log-retention";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;
let token: string;
const lines: string[] = [];
const logger = createLogger({ level: "info", destination: { write: (l: string) => void lines.push(l) } });

const alert = (ticker: string) =>
  JSON.stringify({ ticker, action: "buy", price: "21000", time: new Date().toISOString() });

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
  ({ token } = await paperSetup(t, { multipliers: [1] }));
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

/** `n` rejected rows received `daysAgo` days ago, each with a body of `bodyChars` random hex characters. */
async function insertRejected(n: number, daysAgo: number, bodyChars: number, tag: string): Promise<void> {
  await db.sql`
    insert into webhooks (received_at, source_ip, headers, body, body_bytes, outcome, http_status, error)
    select now() - make_interval(days => ${daysAgo}) + make_interval(secs => g / 1000.0), ${tag}, '{}',
           (select string_agg(md5(g::text || '-' || i::text || random()::text), '')
              from generate_series(1, ${Math.ceil(bodyChars / 32)}) i),
           ${bodyChars}, 'invalid', 422, 'synthetic'
      from generate_series(1, ${n}) g`;
}

async function countWhere(tag: string): Promise<number> {
  const [row] = await db.sql`select count(*)::int n from webhooks where source_ip = ${tag}`;
  return row?.n as number;
}

const retention = (o: { days?: number; maxMb?: number }) =>
  new WebhookLogRetention({
    sql: db.sql,
    logger,
    days: o.days ?? 30,
    maxBytes: (o.maxMb ?? 1024) * 1_048_576,
    batchSize: 500,
    pauseMs: 0,
  });

describe("raw webhook log retention", () => {
  it("L01 deletes rows older than WEBHOOK_LOG_DAYS; an old accepted signal stays, without its raw row", async () => {
    const old = await t.webhook(token, alert("MNQ1!"));
    const young = await t.webhook(token, alert("MES1!"));
    expect([old.status, young.status]).toEqual([202, 202]);
    await db.sql`update webhooks set received_at = now() - interval '40 days' where signal_id = ${old.body.signalId as string}`;
    await insertRejected(1_200, 45, 100, "old");
    await insertRejected(50, 10, 100, "recent");

    const report = await retention({ days: 30 }).runOnce();
    expect(report).toMatchObject({ byAge: 1_201, signalsUnlinked: 1, bySize: 0 });
    expect(await countWhere("old")).toBe(0);
    expect(await countWhere("recent")).toBe(50);
    const signals = await db.sql`
      select s.id, s.webhook_id, w.id as raw from signals s left join webhooks w on w.id = s.webhook_id
       where s.id in (${old.body.signalId as string}, ${young.body.signalId as string})`;
    const byId = new Map(signals.map((s) => [s.id as string, s]));
    expect(byId.get(old.body.signalId as string)?.webhook_id).toBeNull();
    expect(byId.get(young.body.signalId as string)?.raw).not.toBeNull();
    // The API still shows the old signal.
    expect((await t.api("GET", `/api/signals/${old.body.signalId as string}`)).status).toBe(200);
    expect(lines.some((l) => l.includes('"event":"WebhookLogPruned"') && l.includes('"byAge":1201'))).toBe(
      true,
    );
  });

  it("L02 enforces the size cap on the oldest prunable rows, never on young accepted signals' rows", async () => {
    const first = await t.webhook(token, alert("ES1!"));
    expect(first.status).toBe(202);
    // ~6 MB of recent rejected rows, oldest first, then one more accepted signal.
    await insertRejected(3_500, 2, 1_600, "bulk");
    const [{ hi: newestBulk }] = (await db.sql`
      select max(id)::int hi from webhooks where source_ip = 'bulk'`) as unknown as [{ hi: number }];
    const last = await t.webhook(token, alert("NQ1!"));
    expect(last.status).toBe(202);
    const [{ bytes: before }] = (await db.sql`
      select sum(pg_column_size(w.*) + 100)::bigint as bytes from webhooks w`) as unknown as [
      { bytes: string },
    ];
    expect(Number(before)).toBeGreaterThan(4 * 1_048_576);

    const report = await retention({ maxMb: 2 }).runOnce();
    expect(report?.bySize).toBeGreaterThan(0);
    expect(report?.estimatedBytes).toBeLessThanOrEqual(2 * 1_048_576);
    const [{ bytes: after }] = (await db.sql`
      select sum(pg_column_size(w.*) + 100)::bigint as bytes from webhooks w`) as unknown as [
      { bytes: string },
    ];
    expect(Number(after)).toBeLessThanOrEqual(2 * 1_048_576);
    // The newest rows stayed, the oldest went.
    const [kept] = await db.sql`
      select count(*)::int n, min(id)::int lo, max(id)::int hi from webhooks where source_ip = 'bulk'`;
    expect(kept?.n).toBeGreaterThan(0);
    expect(kept?.n).toBeLessThan(3_500);
    expect(kept?.hi).toBe(newestBulk);
    expect((kept?.hi as number) - (kept?.lo as number) + 1).toBe(kept?.n);
    // Accepted signals keep their raw rows, the oldest included.
    const raws = await db.sql`
      select s.id from signals s join webhooks w on w.id = s.webhook_id
       where s.id in (${first.body.signalId as string}, ${last.body.signalId as string})`;
    expect(raws).toHaveLength(2);

    // Under the cap now: the next run deletes nothing.
    expect(await retention({ maxMb: 2 }).runOnce()).toMatchObject({ byAge: 0, bySize: 0 });
  });

  it("L03 warns when young accepted signals' rows alone exceed the cap, and keeps them", async () => {
    const signalsBefore = await db.sql`select count(*)::int n from signals where webhook_id is not null`;
    await db.sql`
      update webhooks set body = (select string_agg(md5(random()::text), '') from generate_series(1, 20000))
       where outcome = 'accepted'`;
    const report = await retention({ maxMb: 1 }).runOnce();
    expect(report).toBeDefined();
    const signalsAfter = await db.sql`select count(*)::int n from signals where webhook_id is not null`;
    expect(signalsAfter[0]?.n).toBe(signalsBefore[0]?.n);
    expect(lines.some((l) => l.includes('"event":"WebhookLogOverCap"'))).toBe(true);
  });

  it("L04 skips a run while another relay holds the pruning lock", async () => {
    await insertRejected(10, 60, 10, "locked");
    const other = await db.sql.reserve();
    try {
      await other`select pg_advisory_lock(7316006)`;
      expect(await retention({}).runOnce()).toBeUndefined();
      expect(await countWhere("locked")).toBe(10);
      await other`select pg_advisory_unlock(7316006)`;
    } finally {
      other.release();
    }
    expect(await retention({}).runOnce()).toMatchObject({ byAge: 10 });
    expect(await countWhere("locked")).toBe(0);
  });
});
