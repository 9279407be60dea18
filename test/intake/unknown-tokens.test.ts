/**
 * Requests no recorder owns (issue 13): limited per source address, stored with a body prefix only, and
 * counted into aggregate rows past the limit, so a flood writes rows per address and minute, not per request.
 * The sender's address is set per request through X-Forwarded-For from a trusted proxy (the test's peer).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKey, BoundedBuckets, bodyPrefix } from "../../src/intake/unknown-tokens";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;
let token: string;

const from = (address: string) => ({ headers: { "x-forwarded-for": address } });
/** A JSON body of exactly `bytes` bytes. */
const padded = (bytes: number, fields: Record<string, unknown> = {}) => {
  const base = JSON.stringify({ ...fields, pad: "" });
  return JSON.stringify({ ...fields, pad: "x".repeat(bytes - base.length) });
};

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({
    url: db.url,
    peer: "127.0.0.1",
    env: {
      TRUSTED_PROXIES: "127.0.0.1",
      UNKNOWN_TOKEN_RATE_PER_MINUTE: "1",
      UNKNOWN_TOKEN_BURST: "3",
      UNKNOWN_TOKEN_ROWS_PER_MINUTE: "1000",
      WEBHOOK_RATE_PER_MINUTE: "6000",
      WEBHOOK_RATE_BURST: "1000",
    },
  });
  ({ token } = await paperSetup(t, { multipliers: [1] }));
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

async function rowsOf(address: string) {
  return db.sql`
    select outcome, http_status, body, body_bytes, requests, aggregate_minute, total_bytes, token_prefixes
      from webhooks where source_ip = ${address} order by id`;
}

describe("requests to unknown tokens", () => {
  it("U01 answers 429 past an address's limit, writes no row per refused request, counts every one in an aggregate, and keeps only a body prefix", async () => {
    const address = "198.51.100.7";
    const statuses: number[] = [];
    const replies: Record<string, unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await t.webhook(`nope${i}-not-a-token-at-all`, padded(10_000), from(address));
      statuses.push(res.status);
      replies.push(res.body);
    }
    expect(statuses).toEqual([404, 404, 404, 429, 429, 429, 429, 429, 429, 429]);
    expect(replies[0]).toMatchObject({ status: "rejected", error: { code: "unknown_token" } });
    expect(replies[9]).toMatchObject({ status: "rejected", error: { code: "rate_limited" } });

    const rows = await rowsOf(address);
    const own = rows.filter((r) => r.aggregate_minute === null);
    const aggregates = rows.filter((r) => r.aggregate_minute !== null);
    // The three within the limit have rows of their own, with their body cut to 256 bytes.
    expect(own).toHaveLength(3);
    for (const r of own) {
      expect(r).toMatchObject({
        outcome: "unknown_token",
        http_status: 404,
        body_bytes: 10_000,
        requests: 1,
      });
      expect(Buffer.byteLength(r.body as string)).toBeLessThanOrEqual(256);
      expect(Buffer.byteLength(r.body as string)).toBeGreaterThan(200);
    }
    // The seven refused are one aggregate row (two if a minute turned meanwhile) that counts all of them.
    expect(aggregates.length).toBeGreaterThanOrEqual(1);
    expect(aggregates.length).toBeLessThanOrEqual(2);
    for (const r of aggregates)
      expect(r).toMatchObject({ outcome: "unknown_token", http_status: 429, body: null });
    expect(aggregates.reduce((n, r) => n + (r.requests as number), 0)).toBe(7);
    expect(aggregates.reduce((n, r) => n + Number(r.total_bytes), 0)).toBe(70_000);
    expect(aggregates.flatMap((r) => r.token_prefixes as string[])).toContain("nope");
    // Every request is accounted for in the raw log.
    expect(rows.reduce((n, r) => n + (r.requests as number), 0)).toBe(10);

    // The API shows the aggregate with its count.
    const api = await t.api<{ webhooks: { sourceIp: string; requests: number; aggregate?: unknown }[] }>(
      "GET",
      "/api/webhooks?outcome=unknown_token&limit=50",
    );
    const listed = api.body.webhooks.filter((w) => w.sourceIp === address && w.aggregate);
    expect(listed.reduce((n, w) => n + w.requests, 0)).toBe(7);
  });

  it("U02 leaves other addresses and known tokens alone", async () => {
    const limited = "198.51.100.7";
    // Still limited...
    expect((await t.webhook("nope-again-xxxxxxxxxxxxxxxx", "{}", from(limited))).status).toBe(429);
    // ...while another address gets its own 404s and rows.
    const other = "198.51.100.8";
    for (let i = 0; i < 3; i++)
      expect((await t.webhook(`other${i}-xxxxxxxxxxxxxxxxxx`, "{}", from(other))).status).toBe(404);
    const otherRows = await rowsOf(other);
    expect(otherRows.map((r) => [r.http_status, r.requests, r.aggregate_minute])).toEqual([
      [404, 1, null],
      [404, 1, null],
      [404, 1, null],
    ]);
    // The limited address's alerts to a known token are untouched, and keep their whole body.
    const ok = await t.webhook(
      token,
      padded(10_000, { ticker: "MNQ1!", action: "buy", time: new Date().toISOString() }),
      from(limited),
    );
    expect(ok.status).toBe(202);
    const bad = await t.webhook(token, padded(10_000, { action: "hold" }), from(limited));
    expect(bad.status).toBe(422);
    const known = await db.sql`
      select outcome, octet_length(body) as stored from webhooks
       where source_ip = ${limited} and recorder_id is not null order by id`;
    expect(known.map((r) => [r.outcome, r.stored])).toEqual([
      ["accepted", 10_000],
      ["invalid", 10_000],
    ]);
  });

  it("U03 counts requests past the relay-wide row budget into aggregates, still answering 404 within the address's limit", async () => {
    const r = await startTestRelay({
      url: db.url,
      peer: "127.0.0.1",
      env: {
        TRUSTED_PROXIES: "127.0.0.1",
        UNKNOWN_TOKEN_RATE_PER_MINUTE: "1",
        UNKNOWN_TOKEN_BURST: "3",
        UNKNOWN_TOKEN_ROWS_PER_MINUTE: "2",
      },
    });
    try {
      const addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"];
      for (const a of addresses)
        expect((await r.webhook("budget-xxxxxxxxxxxxxxxxxxxx", "{}", from(a))).status).toBe(404);
      const rows = await db.sql`
        select aggregate_minute is not null as aggregate, http_status, requests from webhooks
         where source_ip = any(${addresses}::text[])`;
      expect(rows.filter((x) => !x.aggregate)).toHaveLength(2);
      const aggregates = rows.filter((x) => x.aggregate);
      expect(aggregates.every((x) => x.http_status === 404)).toBe(true);
      expect(aggregates.reduce((n, x) => n + (x.requests as number), 0)).toBe(3);
    } finally {
      await r.stop();
    }
  });

  it("U04 applies the same limit to bodies too large for any recorder, keeping their 413", async () => {
    const r = await startTestRelay({
      url: db.url,
      peer: "127.0.0.1",
      env: {
        TRUSTED_PROXIES: "127.0.0.1",
        UNKNOWN_TOKEN_RATE_PER_MINUTE: "1",
        UNKNOWN_TOKEN_BURST: "2",
        WEBHOOK_MAX_BYTES: "4096",
      },
    });
    try {
      const address = "192.0.2.44";
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await r.webhook("big-xxxxxxxxxxxxxxxxxxxxxxx", padded(5_000), from(address))).status);
      expect(statuses).toEqual([413, 413, 413, 413, 413, 413]);
      const rows = await rowsOf(address);
      expect(rows.filter((x) => x.aggregate_minute === null)).toHaveLength(2);
      const aggregated = rows.filter((x) => x.aggregate_minute !== null);
      expect(aggregated.every((x) => x.outcome === "too_large" && x.http_status === 413)).toBe(true);
      expect(aggregated.reduce((n, x) => n + (x.requests as number), 0)).toBe(4);
    } finally {
      await r.stop();
    }
  });
});

describe("unknown-token state", () => {
  it("U05 keeps at most its cap of addresses, forgetting the least recently seen", () => {
    let now = 0;
    const buckets = new BoundedBuckets(60, 1, 3, () => now);
    for (const a of ["a", "b", "c"]) expect(buckets.take(a)).toBe(true);
    expect(buckets.take("a")).toBe(false); // a is now the most recent
    expect(buckets.take("d")).toBe(true); // b, the least recently seen, is forgotten
    expect(buckets.size).toBe(3);
    expect(buckets.take("c")).toBe(false);
    expect(buckets.take("b")).toBe(true); // forgotten, so a fresh bucket
    expect(buckets.size).toBe(3);
    now += 1_000; // 60 per minute: one more after a second
    expect(buckets.take("b")).toBe(true);
    expect(buckets.take("b")).toBe(false);
  });

  it("U06 limits IPv6 senders by their /64 and cuts bodies on character boundaries", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey(null)).toBeNull();
    expect(bodyPrefix("abc", 256)).toBe("abc");
    const euro = "€".repeat(200); // 3 bytes each
    expect(Buffer.byteLength(bodyPrefix(euro, 256))).toBe(255);
    expect(bodyPrefix(`${"a".repeat(255)}€`, 256)).toBe("a".repeat(255));
  });
});
