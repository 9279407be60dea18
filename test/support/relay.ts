/**
 * A relay on a test database, driven in-process through `app.request()`, with every log line captured so
 * tests can read them (and grep them for secrets).
 */
import type { BrokerFactory } from "../../src/brokers/port";
import type { PaperExchange } from "../../src/brokers/registry";
import { loadConfig } from "../../src/config";
import { connect, type Sql } from "../../src/db/client";
import { createLogger } from "../../src/log";
import { buildRelay, type Relay, type RelayOptions } from "../../src/runtime";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const CREDENTIALS_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

export interface TestRelay {
  relay: Relay;
  sql: Sql;
  logs: string[];
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  webhook(
    token: string,
    body: string | Uint8Array,
    init?: { contentType?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** `abandon`: as a crash would, leave its account leases to lapse. */
  stop(drainMs?: number, opts?: { abandon?: boolean }): Promise<void>;
}

export interface TestRelayOptions {
  url: string;
  env?: Record<string, string>;
  factories?: (paper: PaperExchange) => BrokerFactory[];
  sql?: Sql;
  now?: () => Date;
  peer?: string;
  settleDelaysMs?: number[];
  unreachableDelaysMs?: number[];
  logLevel?: string;
  lossMonitor?: RelayOptions["lossMonitor"];
}

export async function startTestRelay(o: TestRelayOptions): Promise<TestRelay> {
  const logs: string[] = [];
  const logger = createLogger({
    level: o.logLevel ?? "debug",
    destination: { write: (line: string) => void logs.push(line) },
  });
  const config = loadConfig({
    DATABASE_URL: o.url,
    CREDENTIALS_KEY,
    RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
    INSTANCE_ID: "test-relay",
    FILL_WAIT_MS: "3000",
    PUBLIC_URL: "https://relay.example.com",
    ...o.env,
  });
  const sql = o.sql ?? connect(o.url, logger, { max: 10 });
  const relay = buildRelay({
    config,
    sql,
    logger,
    credentialsKey: Buffer.from(CREDENTIALS_KEY, "hex"),
    ...(o.factories ? { factories: o.factories } : {}),
    ...(o.now ? { now: o.now } : {}),
    peerAddress: () => o.peer ?? "127.0.0.1",
    settleDelaysMs: o.settleDelaysMs ?? [50, 100, 200],
    ...(o.unreachableDelaysMs ? { unreachableDelaysMs: o.unreachableDelaysMs } : {}),
    warmTimeoutMs: 5_000,
    processMetrics: false,
    // Short pauses so flatten retries happen within a test's time.
    lossMonitor: {
      retryDelaysMs: [50, 100, 200, 400],
      verifyMs: 3_000,
      settleDelaysMs: [50, 100, 200],
      ...o.lossMonitor,
    },
  });
  await relay.start();
  const ownSql = !o.sql;
  return {
    relay,
    sql,
    logs,
    async api(method, path, body, token = ADMIN_TOKEN) {
      const res = await relay.app.request(path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    },
    async webhook(token, body, init = {}) {
      const res = await relay.app.request(`/webhook/${token}`, {
        method: "POST",
        headers: { "content-type": init.contentType ?? "application/json", ...init.headers },
        body,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    },
    async stop(drainMs = 5_000, opts = {}) {
      await relay.stop(drainMs, opts);
      if (ownSql) await sql.end({ timeout: 5 });
    },
  };
}

/** Creates a paper account, a recorder and one trader per multiplier through the API. */
export async function paperSetup(
  t: TestRelay,
  o: { multipliers: (number | string)[]; settings?: Record<string, unknown>; recorderName?: string },
): Promise<{ recorderId: string; token: string; traderIds: string[]; accountIds: string[] }> {
  const recorder = await t.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: o.recorderName ?? "Test recorder",
    ...o.settings,
  });
  if (recorder.status !== 201) throw new Error(`recorder: ${JSON.stringify(recorder.body)}`);
  const traderIds: string[] = [];
  const accountIds: string[] = [];
  for (const [i, multiplier] of o.multipliers.entries()) {
    const account = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: `Paper ${i + 1}`,
      broker: "paper",
    });
    if (account.status !== 201) throw new Error(`account: ${JSON.stringify(account.body)}`);
    const trader = await t.api<{ id: string }>("POST", "/api/traders", {
      recorderId: recorder.body.id,
      accountId: account.body.id,
      multiplier,
    });
    if (trader.status !== 201) throw new Error(`trader: ${JSON.stringify(trader.body)}`);
    traderIds.push(trader.body.id);
    accountIds.push(account.body.id);
  }
  return { recorderId: recorder.body.id, token: recorder.body.webhookToken, traderIds, accountIds };
}
