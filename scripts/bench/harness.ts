/** A durable embedded PostgreSQL and a relay served over HTTP, for benchmarks. */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import type { BrokerFactory } from "../../src/brokers/port";
import type { PaperExchange } from "../../src/brokers/registry";
import { loadConfig } from "../../src/config";
import { connect, type Sql } from "../../src/db/client";
import { EmbeddedDatabase, freePort } from "../../src/db/embedded";
import { migrate } from "../../src/db/migrate";
import { createLogger } from "../../src/log";
import { buildRelay, type Relay } from "../../src/runtime";

export const BENCH_TOKEN = "bench-admin-token-0123456789abcdef";

export interface BenchRelay {
  relay: Relay;
  sql: Sql;
  url: string;
  stop(): Promise<void>;
}

export async function startDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "relay-bench-"));
  await chmod(dir, 0o755); // the unprivileged postgres user must reach it when we run as root
  const db = new EmbeddedDatabase({
    dataDir: dir,
    logger: createLogger({ level: "warn" }),
    durable: process.env.BENCH_DURABLE !== "0",
    maxConnections: 300,
    // BENCH_PG_STATEMENTS=1: pg_stat_statements loaded, for benchmarks that print where PostgreSQL's time goes.
    ...(process.env.BENCH_PG_STATEMENTS
      ? { settings: { shared_preload_libraries: "pg_stat_statements" } }
      : {}),
  });
  const url = await db.start();
  return {
    url,
    async stop() {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startRelay(o: {
  databaseUrl: string;
  env?: Record<string, string>;
  factories?: (paper: PaperExchange) => BrokerFactory[];
  logLevel?: string;
  /** Collects the relay's log lines (for latency breakdowns). */
  logLines?: string[];
}): Promise<BenchRelay> {
  const logger = createLogger({
    level: o.logLevel ?? "warn",
    ...(o.logLines ? { destination: { write: (l: string) => void o.logLines?.push(l) } } : {}),
  });
  const port = await freePort();
  const config = loadConfig({
    DATABASE_URL: o.databaseUrl,
    CREDENTIALS_KEY: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    RELAY_ADMIN_TOKEN: BENCH_TOKEN,
    PORT: String(port),
    WEBHOOK_RATE_PER_MINUTE: "100000000",
    WEBHOOK_RATE_BURST: "100000000",
    ...o.env,
  });
  const sql = connect(o.databaseUrl, logger, { max: 40 });
  await migrate(sql, logger);
  const relay = buildRelay({
    config,
    sql,
    logger,
    credentialsKey: Buffer.from(config.CREDENTIALS_KEY ?? "", "hex"),
    ...(o.factories ? { factories: o.factories } : {}),
  });
  await relay.start();
  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: relay.app.fetch, port, hostname: "127.0.0.1" }, () => ok(s));
  });
  return {
    relay,
    sql,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await new Promise((r) => server.close(() => r(undefined)));
      await relay.stop(5_000);
      await sql.end({ timeout: 5 });
    },
  };
}

export async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T;
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}
