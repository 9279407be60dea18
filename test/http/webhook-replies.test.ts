/**
 * Every reply of BRIEF section 4, against a real relay on a real Postgres, in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/client";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { TcpProxy, viaProxy } from "../support/tcp-proxy";

let db: TestDatabase;
let t: TestRelay;
let token: string;

const alert = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ticker: "MNQ1!",
    action: "buy",
    price: "21000",
    time: new Date().toISOString(),
    ...extra,
  });

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({
    url: db.url,
    env: { WEBHOOK_RATE_PER_MINUTE: "6000", WEBHOOK_RATE_BURST: "1000" },
  });
  ({ token } = await paperSetup(t, { multipliers: [1], settings: { dedupWindowMs: 3000 } }));
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

async function logged(outcome: string): Promise<number> {
  const [row] = await db.sql`select count(*)::int n from webhooks where outcome = ${outcome}`;
  return row?.n as number;
}

describe("webhook replies", () => {
  it("R01 accepts a valid alert with 202 and a signal id, after the commit", async () => {
    const res = await t.webhook(token, alert({ id: "r01" }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "accepted", signalId: expect.any(String) });
    const [row] = await db.sql`select id from signals where id = ${res.body.signalId as string}`;
    expect(row).toBeDefined();
    const [raw] =
      await db.sql`select outcome, http_status from webhooks where signal_id = ${res.body.signalId as string}`;
    expect(raw).toMatchObject({ outcome: "accepted", http_status: 202 });
  });

  it("R02 answers the same alert delivered twice within a millisecond with one accept and one duplicate", async () => {
    const body = alert({ ticker: "MES1!" });
    const [a, b] = await Promise.all([t.webhook(token, body), t.webhook(token, body)]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 202]);
    const dup = a.status === 200 ? a : b;
    const acc = a.status === 202 ? a : b;
    expect(dup.body).toEqual({ status: "duplicate", signalId: acc.body.signalId });
    const [n] = await db.sql`select count(*)::int n from signals where ticker = 'MES1!'`;
    expect(n?.n).toBe(1);
  });

  it("R03 treats an alert id seen before as a duplicate forever, even after the dedup window", async () => {
    const first = await t.webhook(token, alert({ id: "once", ticker: "ES1!" }));
    expect(first.status).toBe(202);
    // Past the 3 s window: make the stored signal look old rather than waiting.
    await db.sql`update signals set received_at = received_at - interval '1 hour' where id = ${first.body.signalId as string}`;
    const again = await t.webhook(token, alert({ id: "once", ticker: "ES1!", price: "5000" }));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: "duplicate", signalId: first.body.signalId });
    // Without an id, the same content after the window is a new signal.
    const plain = alert({ ticker: "NQ1!", time: undefined });
    const p1 = await t.webhook(token, plain);
    await db.sql`update signal_fingerprints set last_at = last_at - interval '10 seconds' where signal_id = ${p1.body.signalId as string}`;
    const p2 = await t.webhook(token, plain);
    expect([p1.status, p2.status]).toEqual([202, 202]);
  });

  it("R04 records a stale alert, does not execute it, and says how old it was", async () => {
    const before = await logged("stale");
    const res = await t.webhook(token, alert({ time: new Date(Date.now() - 95_000).toISOString() }));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status: "stale", error: { code: "stale" } });
    expect(String((res.body.error as { message: string }).message)).toMatch(/9\d\.\d s old/);
    expect(await logged("stale")).toBe(before + 1);
    const [row] = await db.sql`select age_ms from webhooks where outcome = 'stale' order by id desc limit 1`;
    expect(Number(row?.age_ms)).toBeGreaterThanOrEqual(95_000);
  });

  it("R05 refuses invalid alerts with 422 and a message naming the problem", async () => {
    const cases: [string, RegExp][] = [
      ["not json at all", /not valid JSON/],
      ['{"action":"buy"}', /needs a "ticker"/],
      ['{"ticker":"MNQ1!","action":"hold"}', /Unknown action "hold"/],
      ['{"ticker":"MNQ1!","action":"buy","quantity":"abc"}', /quantity.*not a number/],
      ['{"ticker":"{{ticker}}","action":"buy"}', /placeholder \{\{ticker\}\}/],
      ['{"ticker":"MNQ1!","action":"buy","time":"yesterday"}', /"time" is not/],
      [
        '{"ticker":"MNQ1!","action":"buy","id":"x\\ud800y"}',
        /"id" contains control characters or broken Unicode/,
      ],
      [
        '{"ticker":"MNQ1!","action":"buy","time":"2099-01-01T00:00:00Z"}',
        /"time" is \d+ days in the future: it must be UTC/,
      ],
      ["[1,2,3]", /JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await t.webhook(token, body);
      expect(res.status, body).toBe(422);
      expect(res.body.status).toBe("invalid");
      expect((res.body.error as { message: string }).message, body).toMatch(message);
    }
  });

  it("R06 answers an unknown token with 404, taking as long as a known token's rejection", async () => {
    const res = await t.webhook("not-a-real-token", alert());
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: "rejected", error: { code: "unknown_token" } });
    // Interleaved so machine noise hits both alike; a lookup that short-circuits would be many times faster.
    const unknown: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 40; i++) {
      let s = performance.now();
      await t.webhook(`unknown${i}xxxxxxxxxxxxxxxxxxxxxxxxx`, "{}");
      unknown.push(performance.now() - s);
      s = performance.now();
      await t.webhook(token, "{}");
      known.push(performance.now() - s);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const ratio = median(unknown) / median(known);
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });

  it("R07 refuses a body over the limit with 413 and logs it", async () => {
    const before = await logged("too_large");
    const res = await t.webhook(
      token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", comment: "x".repeat(20_000) }),
    );
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: "too_large" } });
    expect(await logged("too_large")).toBe(before + 1);
  });

  it("R08 answers 429 past the per-token rate limit, per token", async () => {
    const limited = await startTestRelay({
      url: db.url,
      env: { WEBHOOK_RATE_PER_MINUTE: "1", WEBHOOK_RATE_BURST: "3" },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await limited.webhook(token, alert({ ticker: `M2K${i}!` }))).status);
      expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
      expect(statuses.slice(3)).toEqual([429, 429]);
      const [row] =
        await db.sql`select error from webhooks where outcome = 'rate_limited' order by id desc limit 1`;
      expect(row?.error).toMatch(/Too many alerts/);
    } finally {
      await limited.stop();
    }
  });

  it("R09 answers 503 only when the signal could not be recorded, and accepts again once Postgres is back", async () => {
    const u = new URL(db.url);
    const proxy = new TcpProxy(u.hostname, Number(u.port));
    await proxy.start();
    const logger = createLogger({ level: "silent" });
    const sql = connect(viaProxy(db.url, proxy.port), logger, { max: 4 });
    const r = await startTestRelay({ url: db.url, sql });
    try {
      proxy.cut();
      const down = await r.webhook(token, alert({ ticker: "YM1!" }));
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: "error", error: { code: "not_recorded" } });
      // A handled rejection is never a 5xx, even with the database down.
      const invalid = await r.webhook(token, "garbage");
      expect(invalid.status).toBe(422);
      proxy.restore();
      const up = await r.webhook(token, alert({ ticker: "YM1!" }));
      expect(up.status).toBe(202);
    } finally {
      await r.stop();
      await sql.end({ timeout: 1 });
      await proxy.stop();
    }
  });

  it("R10 reads JSON sent as text/plain or with no content type", async () => {
    const plain = await t.webhook(token, alert({ ticker: "GC1!" }), {
      contentType: "text/plain; charset=utf-8",
    });
    expect(plain.status).toBe(202);
    const none = await t.webhook(token, alert({ ticker: "CL1!" }), { contentType: "" });
    expect(none.status).toBe(202);
  });

  it("R11 refuses a disabled recorder's alerts with the reason, and logs them", async () => {
    const rec = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name: "off",
      enabled: false,
    });
    const res = await t.webhook(rec.body.webhookToken, alert());
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status: "disabled", error: { code: "disabled" } });
  });

  it("R12 with the TradingView allowlist on, refuses other senders with 403 and accepts TradingView's", async () => {
    const outsider = await startTestRelay({
      url: db.url,
      env: { WEBHOOK_IP_ALLOWLIST: "tradingview" },
      peer: "203.0.113.9",
    });
    const tv = await startTestRelay({
      url: db.url,
      env: { WEBHOOK_IP_ALLOWLIST: "tradingview" },
      peer: "52.89.214.238",
    });
    const proxied = await startTestRelay({
      url: db.url,
      env: { WEBHOOK_IP_ALLOWLIST: "tradingview", TRUSTED_PROXIES: "10.0.0.0/8" },
      peer: "10.1.2.3",
    });
    try {
      expect((await outsider.webhook(token, alert({ ticker: "ZN1!" }))).status).toBe(403);
      expect((await tv.webhook(token, alert({ ticker: "ZN1!" }))).status).toBe(202);
      // Behind our proxy the sender is the last untrusted hop; a spoofed left-most entry changes nothing.
      const spoof = { headers: { "x-forwarded-for": "52.89.214.238, 198.51.100.7" } };
      expect((await proxied.webhook(token, alert({ ticker: "ZB1!" }), spoof)).status).toBe(403);
      const real = { headers: { "x-forwarded-for": "198.51.100.7, 34.212.75.30" } };
      expect((await proxied.webhook(token, alert({ ticker: "ZB1!" }), real)).status).toBe(202);
      // Without a trusted proxy, X-Forwarded-For is ignored entirely.
      expect(
        (
          await outsider.webhook(token, alert({ ticker: "ZF1!" }), {
            headers: { "x-forwarded-for": "52.89.214.238" },
          })
        ).status,
      ).toBe(403);
    } finally {
      await Promise.all([outsider.stop(), tv.stop(), proxied.stop()]);
    }
  });
});
