/**
 * Security headers on every response of the relay (successes, 404s, 4xx, 5xx and webhook replies), over
 * real HTTP through the server module and in-process; /metrics behind METRICS_TOKEN when it is set.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/client";
import { type RelayServer, startRelayServer } from "../../src/http/server";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { ADMIN_TOKEN, paperSetup, startTestRelay, type TestRelay } from "../support/relay";

const METRICS_TOKEN = "metrics-token-0123456789abcdef";

let db: TestDatabase;
let t: TestRelay;
let open: TestRelay;
let token: string;
let server: RelayServer;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, env: { METRICS_TOKEN, WEBHOOK_RATE_BURST: "1000" } });
  ({ token } = await paperSetup(t, { multipliers: [1] }));
  open = await startTestRelay({ url: db.url, env: { PUBLIC_URL: "http://localhost:3000" } });
  server = await startRelayServer({
    fetch: t.relay.app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: {
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
      keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 0,
      maxConnections: 100,
      maxConnectionsPerIp: 100,
      fdReserve: 0,
    },
    logger: createLogger({ level: "silent" }),
  });
});
afterAll(async () => {
  await server?.close();
  await open?.stop();
  await t?.stop();
  await db?.drop();
});

function expectSecure(res: Response, o: { https?: boolean } = {}): void {
  const h = res.headers;
  expect(h.get("x-content-type-options")).toBe("nosniff");
  expect(h.get("x-frame-options")).toBe("DENY");
  expect(h.get("referrer-policy")).toBe("no-referrer");
  expect(h.get("content-security-policy")).toBe(
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  expect(h.get("x-powered-by")).toBeNull();
  if (o.https === false) expect(h.get("strict-transport-security")).toBeNull();
  else expect(h.get("strict-transport-security")).toMatch(/^max-age=\d+/);
}

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
const alert = (id: string) => JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id });
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url(path), { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("security headers", () => {
  it("H01 on /health (200), an unknown route (404) and the admin API with and without its token", async () => {
    const health = await fetch(url("/health"));
    expect(health.status).toBe(200);
    expectSecure(health);
    const missing = await fetch(url("/api/nowhere"), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(missing.status).toBe(404);
    expectSecure(missing);
    // Any other path is the console's: signed out, it sends the browser to sign in, under the console's
    // own policy (scripts and styles from the relay only), with the same other headers.
    const page = await fetch(url("/nowhere"), { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Fnowhere");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("referrer-policy")).toBe("same-origin");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const denied = await fetch(url("/api/recorders"));
    expect(denied.status).toBe(401);
    expectSecure(denied);
    const listed = await fetch(url("/api/recorders"), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(listed.status).toBe(200);
    expectSecure(listed);
    const invalid = await post("/api/recorders", "{not json", { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(invalid.status).toBeGreaterThanOrEqual(400);
    expect(invalid.status).toBeLessThan(500);
    expectSecure(invalid);
  });

  it("H02 on every webhook reply: 202, 200 duplicate, 422, 404 unknown token, 413", async () => {
    const accepted = await post(`/webhook/${token}`, alert("h02"));
    expect(accepted.status).toBe(202);
    expectSecure(accepted);
    const duplicate = await post(`/webhook/${token}`, alert("h02"));
    expect(duplicate.status).toBe(200);
    expectSecure(duplicate);
    const invalid = await post(`/webhook/${token}`, "not json at all");
    expect(invalid.status).toBe(422);
    expectSecure(invalid);
    const unknown = await post("/webhook/no-such-token-here", alert("h02b"));
    expect(unknown.status).toBe(404);
    expectSecure(unknown);
    const large = await post(`/webhook/${token}`, "x".repeat(20_000));
    expect(large.status).toBe(413);
    expectSecure(large);
  });

  it("H03 on 5xx: the admin API's 500 and the webhook's 503 when the database is gone", async () => {
    const lost = connect(db.url, createLogger({ level: "silent" }), { max: 2 });
    const broken = await startTestRelay({ url: db.url, sql: lost, logLevel: "silent" });
    try {
      await lost.end({ timeout: 1 });
      const api = await broken.relay.app.request("/api/signals", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(api.status).toBe(500);
      expectSecure(api);
      const hook = await broken.relay.app.request(`/webhook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: alert("h03"),
      });
      expect(hook.status).toBe(503);
      expectSecure(hook);
    } finally {
      await broken.stop(500).catch(() => undefined);
    }
  });

  it("H04 no Strict-Transport-Security when the relay is reached over plain http", async () => {
    const res = await open.relay.app.request("/health");
    expect(res.status).toBe(200);
    expectSecure(res, { https: false });
    const missing = await open.relay.app.request("/api/nowhere");
    expectSecure(missing, { https: false });
  });
});

describe("/metrics", () => {
  it("M01 with METRICS_TOKEN set it needs that bearer token: 401 in the error envelope otherwise", async () => {
    const none = await fetch(url("/metrics"));
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    expectSecure(none);
    const wrong = await fetch(url("/metrics"), { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const admin = await fetch(url("/metrics"), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(admin.status).toBe(401);
    const right = await fetch(url("/metrics"), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain("relay_webhooks_total");
    expectSecure(right);
  });

  it("M02 without METRICS_TOKEN it stays open, as before", async () => {
    const res = await open.relay.app.request("/metrics");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("relay_http_connections_open");
  });
});
