/**
 * Everything a fault run needs around the relay: a PostgreSQL (embedded, or one given by URL), a TCP proxy
 * between the relay and that database (cut to lose the database on purpose), the Tradovate simulator in
 * this process (fault controls and its order log at hand), the relay as a child process, a webhook client
 * that records every reply, and setup through the relay's admin API. The harness reads the database only
 * through a read-only connection.
 */
import { createWriteStream } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { EmbeddedDatabase, freePort } from "../../src/db/embedded";
import { dec } from "../../src/domain/decimal";
import { createLogger } from "../../src/log";
import { TradovateSim, type TradovateSimOptions } from "../../src/sim/tradovate/index";
import { WebhookClient } from "./client";
import { DbProxy, viaProxy } from "./db-proxy";
import { RelayProcess } from "./relay-process";

export const ADMIN_TOKEN = "fault-admin-token-0123456789abcdef";
const CREDENTIALS_KEY = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";
export const INSTANCE_ID = "fault-relay-1";

export type ReadOnlySql = postgres.Sql<Record<string, unknown>>;

export interface HarnessOptions {
  /** A database the relay may own (migrated or empty); unset starts an embedded PostgreSQL. */
  databaseUrl?: string;
  /** Extra relay environment (defaults below keep faults quick to recover). */
  relayEnv?: Record<string, string>;
  sim?: TradovateSimOptions;
  log?: (line: string) => void;
}

export interface Follower {
  index: number;
  user: string;
  /** The simulator's numeric account id (the Tradovate sub-account). */
  tvAccountId: number;
  accountId: string;
  traderId: string;
}

export interface RecorderHandle {
  id: string;
  token: string;
  name: string;
  followers: Follower[];
}

export class FaultHarness {
  readonly client: WebhookClient;
  private nextUser = 0;

  private constructor(
    readonly databaseUrl: string,
    readonly sql: ReadOnlySql,
    readonly proxy: DbProxy,
    readonly sim: TradovateSim,
    readonly relay: RelayProcess,
    readonly logDir: string,
    private readonly embedded: EmbeddedDatabase | undefined,
    private readonly dataDir: string | undefined,
    readonly log: (line: string) => void,
  ) {
    this.client = new WebhookClient(relay.url);
  }

  static async start(o: HarnessOptions = {}): Promise<FaultHarness> {
    const log = o.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    const repoRoot = resolve(import.meta.dirname, "..", "..");
    const logDir = await mkdtemp(join(tmpdir(), "relay-faults-"));
    // The embedded server runs as the unprivileged postgres user when we are root: it must reach the cluster.
    await chmod(logDir, 0o755);
    let embedded: EmbeddedDatabase | undefined;
    let dataDir: string | undefined;
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      dataDir = join(logDir, "db");
      // The server's own log (deadlock details, disconnects) goes to postgres.log beside the relay's logs.
      const pgLog = createWriteStream(join(logDir, "postgres.log"));
      embedded = new EmbeddedDatabase({
        dataDir,
        logger: createLogger({ level: "debug", destination: pgLog }),
        durable: true,
        maxConnections: 300,
      });
      databaseUrl = await embedded.start();
    }
    const u = new URL(databaseUrl);
    const proxy = new DbProxy(u.hostname, Number(u.port || 5432));
    await proxy.start();
    const sim = new TradovateSim({ heartbeatTimeoutMs: 60_000, authorizeTimeoutMs: 60_000, ...o.sim });
    await sim.start();
    sim.setPrice(sim.front("MNQ"), dec("21000"));
    const port = await freePort();
    const relay = new RelayProcess({
      repoRoot,
      logDir,
      env: {
        DATABASE_URL: viaProxy(databaseUrl, proxy.port),
        CREDENTIALS_KEY,
        RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
        PORT: String(port),
        HOST: "127.0.0.1",
        INSTANCE_ID,
        TRADOVATE_DEMO_URL: sim.restUrl,
        TRADOVATE_LIVE_URL: sim.restUrl,
        TRADOVATE_MD_URL: sim.mdUrl,
        FILL_WAIT_MS: "5000",
        EXECUTION_LEASE_MS: "6000",
        WEBHOOK_RATE_PER_MINUTE: "100000000",
        WEBHOOK_RATE_BURST: "100000000",
        DEMO_SETUP: "false",
        LOG_LEVEL: "info",
        ...o.relayEnv,
      },
    });
    const sql = postgres(databaseUrl, {
      max: 4,
      onnotice: () => undefined,
      connection: { application_name: "fault-auditor", default_transaction_read_only: true },
    }) as ReadOnlySql;
    const h = new FaultHarness(databaseUrl, sql, proxy, sim, relay, logDir, embedded, dataDir, log);
    await relay.start();
    return h;
  }

  /** An admin API call over HTTP; throws on 4xx/5xx. */
  async api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.relay.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as T;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return json;
  }

  /**
   * A recorder with `count` followers, each on its own simulator login and Tradovate account. Exits:
   * one take-profit and one stop, OCO-paired, so an entry places three orders and an exit one close.
   */
  async recorder(
    name: string,
    count: number,
    settings: Record<string, unknown> = {},
  ): Promise<RecorderHandle> {
    const r = await this.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name,
      quantity: 1,
      takeProfit: [{ ticks: 40, trimPercent: 100 }],
      stopLossTicks: 40,
      ...settings,
    });
    const followers: Follower[] = [];
    for (let from = 0; from < count; from += 25) {
      const batch = Array.from({ length: Math.min(25, count - from) }, () => this.nextUser++);
      followers.push(...(await Promise.all(batch.map((i) => this.follower(r.id, i)))));
    }
    return { id: r.id, token: r.webhookToken, name, followers };
  }

  private async follower(recorderId: string, index: number): Promise<Follower> {
    const user = `fuser${index}`;
    const password = `pw-${index}-secret`;
    const ids = this.sim.addUser({
      name: user,
      password,
      accounts: [{ name: `FAULT${10_000 + index}`, balance: dec(1_000_000) }],
    });
    const tvAccountId = ids.accounts[0]?.id;
    if (tvAccountId === undefined) throw new Error("the simulator created no account");
    const account = await this.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name: `Fault ${index}`,
      broker: "tradovate",
      environment: "demo",
      credentials: {
        username: user,
        password,
        appId: "FaultRelay",
        appVersion: "1.0",
        deviceId: `dev-${index}`,
      },
    });
    if (account.status !== "connected") throw new Error(`account ${user}: ${account.status}`);
    const trader = await this.api<{ id: string }>("POST", "/api/traders", {
      recorderId,
      accountId: account.id,
    });
    return { index, user, tvAccountId, accountId: account.id, traderId: trader.id };
  }

  /** Executions still pending or running. */
  async openExecutions(): Promise<number> {
    const [row] = await this.sql`
      select count(*)::int as n from executions where status in ('pending', 'running')`;
    return (row?.n as number | undefined) ?? 0;
  }

  /** Waits until no execution is pending or running (or the deadline passes); returns how many are left. */
  async waitQuiet(timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A relay that crashed is being started again by its supervisor: its work resumes after that.
      await this.relay.recovered();
      const open = await this.openExecutions();
      if (open === 0 || Date.now() > deadline) return open;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL now (synchronous), then the same relay again: same INSTANCE_ID, same database. */
  async restart(): Promise<void> {
    await this.relay.recovered();
    this.relay.kill();
    await this.relay.waitExit();
    await this.relay.start();
  }

  async stop(): Promise<void> {
    await this.relay.stop().catch(() => undefined);
    this.relay.dispose();
    await this.client.close().catch(() => undefined);
    await this.sim.stop();
    await this.proxy.stop();
    await this.sql.end({ timeout: 5 });
    if (this.embedded) {
      await this.embedded.stop();
      if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}
