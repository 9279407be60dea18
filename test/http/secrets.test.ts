/**
 * Secrets stay secret: broker credentials, the admin token and webhook tokens never appear in an API
 * response or a log line, whatever happens to the account (created, renamed, login failing, deleted).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BROKER_KINDS } from "../../src/brokers/port";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { ADMIN_TOKEN, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;
const responses: string[] = [];

// Every broker points at a closed local port: logins fail at once, and their errors must not leak either.
const DEAD = "http://127.0.0.1:9";
const SENTINELS = {
  password: "pw-SENTINEL-7f3a91",
  sec: "sec-SENTINEL-22be04",
  apiKey: "key-SENTINEL-c0ffee",
  appSecret: "app-SENTINEL-5e11ad",
  accessToken: "tok-SENTINEL-0b5e55",
};

/** Credentials each broker accepts, made of sentinel values. */
const CREDENTIALS: Record<string, Record<string, unknown>> = {
  tradovate: {
    username: "trader1",
    password: SENTINELS.password,
    appId: "Relay",
    cid: 8,
    sec: SENTINELS.sec,
    deviceId: "dev-1",
  },
  ninjatrader: { accessToken: SENTINELS.accessToken },
  projectx: { userName: "trader1", apiKey: SENTINELS.apiKey },
  webull: { appKey: "app-key-1", appSecret: SENTINELS.appSecret, accountId: "ACC1" },
};

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({
    url: db.url,
    env: {
      TRADOVATE_DEMO_URL: `${DEAD}/v1`,
      TRADOVATE_LIVE_URL: `${DEAD}/v1`,
      TRADOVATE_MD_URL: "ws://127.0.0.1:9/md",
      PROJECTX_API_URL: DEAD,
      PROJECTX_RTC_URL: DEAD,
      WEBULL_API_URL: DEAD,
    },
  });
  const api = t.api.bind(t);
  t.api = (async (...args: Parameters<TestRelay["api"]>) => {
    const res = await api(...args);
    responses.push(JSON.stringify(res.body));
    return res;
  }) as TestRelay["api"];
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

describe("secrets", () => {
  it("S01 credentials of every broker never appear in a response or a log line", async () => {
    const kinds = BROKER_KINDS.filter((k) => k !== "paper" && t.relay.services.pool.factory(k));
    for (const kind of kinds) {
      const credentials = CREDENTIALS[kind];
      expect(credentials, `test credentials for ${kind}`).toBeDefined();
      const created = await t.api<{ id: string; status: string }>("POST", "/api/accounts", {
        name: `${kind} account`,
        broker: kind,
        credentials,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await waitFor(async () => {
        const a = await t.api<{ status: string }>("GET", `/api/accounts/${created.body.id}`);
        return a.body.status === "error" ? true : undefined;
      }, `${kind} login to fail against a closed port`);
      await t.api("PATCH", `/api/accounts/${created.body.id}`, { name: "renamed", credentials });
      await t.api("GET", "/api/accounts");
      await t.api("GET", "/api/status");
      await t.api("DELETE", `/api/accounts/${created.body.id}`);
    }
    // A wrong field in credentials is refused without echoing the value.
    const refused = await t.api("POST", "/api/accounts", {
      name: "p",
      broker: "paper",
      credentials: { password: SENTINELS.password },
    });
    expect(refused.status).toBe(400);

    const everything = [...responses, ...t.logs].join("\n");
    for (const secret of Object.values(SENTINELS)) expect(everything).not.toContain(secret);
    const [row] =
      await db.sql`select count(*)::int n from accounts where credentials::text like ${`%${SENTINELS.password}%`}`;
    expect(row?.n).toBe(0); // sealed at rest, not plain text
  });

  it("S02 webhook tokens and the admin token never reach the logs", async () => {
    const rec = await t.api<{ webhookToken: string }>("POST", "/api/recorders", { name: "secret recorder" });
    await t.webhook(rec.body.webhookToken, "not json");
    await t.webhook(rec.body.webhookToken, JSON.stringify({ ticker: "MNQ1!", action: "buy" }));
    await t.relay.app.request(`/webhook/${rec.body.webhookToken}/extra`, { method: "POST" });
    const logs = t.logs.join("\n");
    expect(logs).not.toContain(rec.body.webhookToken);
    expect(logs).not.toContain(ADMIN_TOKEN);
  });
});
