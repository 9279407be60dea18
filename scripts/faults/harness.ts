/**
 * Everything a fault run needs around the relay: a PostgreSQL (embedded, or one given by URL), a TCP proxy
 * between the relay and that database (cut to lose the database on purpose), the Tradovate, ProjectX and
 * Webull simulators in this process, each behind its own cuttable proxy (brokers.ts: fault controls, order
 * logs, fill tapes, manual trading and restarts at hand), the relay as a child process pointed at those
 * proxies by environment, a webhook client that records every reply, and setup through the relay's admin
 * API. The harness reads the database only through a read-only connection.
 */
import { createWriteStream } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { EmbeddedDatabase, freePort } from "../../src/db/embedded";
import { createLogger } from "../../src/log";
import type { TradovateSim, TradovateSimOptions } from "../../src/sim/tradovate/index";
import { type BrokerName, BrokerSims, type SimGeneration, type SlotName } from "./brokers";
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
  broker: BrokerName;
  /** Which simulator slot the login trades on now (secondary after a move to live / another firm). */
  slot: SlotName;
  user: string;
  /** Password, API key or app secret of the login. */
  secret: string;
  /** The broker sub-account as the relay names it (broker_orders.broker_account_id). */
  brokerAccountId: string;
  /** The simulator's numeric account id (Tradovate, ProjectX; 0 for Webull). */
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
  /** Every follower created, by the relay's account id. */
  readonly followers = new Map<string, Follower>();
  private nextUser = 0;

  private constructor(
    readonly databaseUrl: string,
    readonly sql: ReadOnlySql,
    readonly proxy: DbProxy,
    readonly brokers: BrokerSims,
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
    const brokers = await BrokerSims.start({ ...(o.sim ? { tradovate: o.sim } : {}) });
    brokers.setPrice("MNQ", "21000");
    brokers.setPrice("MES", "6000");
    const tv = brokers.slot("tradovate");
    const tvLive = brokers.slot("tradovate", "secondary");
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
        TRADOVATE_DEMO_URL: tv.url,
        TRADOVATE_LIVE_URL: tvLive.url,
        TRADOVATE_MD_URL: `ws://127.0.0.1:${tv.proxy.port}/md/v1/websocket`,
        PROJECTX_API_URL: brokers.slot("projectx").url,
        PROJECTX_RTC_URL: brokers.slot("projectx").url,
        WEBULL_DEMO_API_URL: brokers.slot("webull").url,
        WEBULL_API_URL: brokers.slot("webull", "secondary").url,
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
    const h = new FaultHarness(databaseUrl, sql, proxy, brokers, relay, logDir, embedded, dataDir, log);
    await relay.start();
    return h;
  }

  /** An admin API call over HTTP; throws on 4xx/5xx. */
  async api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.apiCall<T>(method, path, body);
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 500)}`);
    return res.body;
  }

  /** An admin API call over HTTP, whatever its status. */
  async apiCall<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T; text: string }> {
    const res = await fetch(`${this.relay.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let json: unknown = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { raw: text };
    }
    return { status: res.status, body: json as T, text };
  }

  /** The current Tradovate simulator of the primary slot (demo logins). */
  get sim(): TradovateSim {
    return this.brokers.slot("tradovate").current.raw as TradovateSim;
  }

  /** The simulator a follower's login trades on now. */
  simOf(f: Follower): SimGeneration {
    return this.brokers.slot(f.broker, f.slot).current;
  }

  /**
   * A recorder with `count` followers, each on its own simulator login and broker account, spread over
   * `brokers` in turn (Tradovate only by default). Exits: one take-profit and one stop, OCO-paired (by the
   * broker or the adapter), so an entry places three orders and an exit one close.
   */
  async recorder(
    name: string,
    count: number,
    settings: Record<string, unknown> = {},
    o: { brokers?: readonly BrokerName[] } = {},
  ): Promise<RecorderHandle> {
    const r = await this.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name,
      quantity: 1,
      takeProfit: [{ ticks: 40, trimPercent: 100 }],
      stopLossTicks: 40,
      ...settings,
    });
    const brokers = o.brokers ?? ["tradovate"];
    const followers: Follower[] = [];
    for (let from = 0; from < count; from += 25) {
      const batch = Array.from({ length: Math.min(25, count - from) }, (_, k) => ({
        index: this.nextUser++,
        broker: brokers[(from + k) % brokers.length] as BrokerName,
      }));
      followers.push(...(await Promise.all(batch.map((b) => this.follower(r.id, b.index, b.broker)))));
    }
    return { id: r.id, token: r.webhookToken, name, followers };
  }

  /**
   * A broker login with one sub-account, in both simulator slots of its broker, and its account in the
   * relay (demo). No trader yet.
   */
  async login(
    index: number,
    broker: BrokerName,
  ): Promise<Omit<Follower, "traderId"> & { credentials: Record<string, unknown> }> {
    // The simulators' ids come from counters: logins are added synchronously, in index order.
    const user =
      broker === "tradovate" ? `fuser${index}` : broker === "projectx" ? `pxuser${index}` : `wbapp${index}`;
    const secret = `pw-${index}-secret`;
    const accountName =
      broker === "tradovate"
        ? `FAULT${10_000 + index}`
        : broker === "projectx"
          ? `PRAC-${10_000 + index}`
          : `WBF${10_000 + index}`;
    const ids = this.brokers.addLogin({ broker, index, user, secret, accountName });
    const credentials: Record<string, unknown> =
      broker === "tradovate"
        ? {
            username: user,
            password: secret,
            appId: "FaultRelay",
            appVersion: "1.0",
            deviceId: `dev-${index}`,
          }
        : broker === "projectx"
          ? { userName: user, apiKey: secret }
          : { appKey: user, appSecret: secret, accountId: accountName };
    const account = await this.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name: `Fault ${broker} ${index}`,
      broker,
      environment: "demo",
      credentials,
    });
    if (account.status !== "connected") throw new Error(`account ${broker} ${user}: ${account.status}`);
    return {
      index,
      broker,
      slot: "primary",
      user,
      secret,
      brokerAccountId: ids.brokerAccountId,
      tvAccountId: ids.numericId,
      accountId: account.id,
      credentials,
    };
  }

  /** A trader linking a recorder to a login made by `login`. */
  async link(recorderId: string, login: Omit<Follower, "traderId">): Promise<Follower> {
    const trader = await this.api<{ id: string }>("POST", "/api/traders", {
      recorderId,
      accountId: login.accountId,
    });
    const f: Follower = {
      index: login.index,
      broker: login.broker,
      slot: login.slot,
      user: login.user,
      secret: login.secret,
      brokerAccountId: login.brokerAccountId,
      tvAccountId: login.tvAccountId,
      accountId: login.accountId,
      traderId: trader.id,
    };
    this.followers.set(f.accountId, f);
    return f;
  }

  private async follower(recorderId: string, index: number, broker: BrokerName): Promise<Follower> {
    return this.link(recorderId, await this.login(index, broker));
  }

  /**
   * Moves a follower's login to the other simulator slot: Tradovate and Webull `live`, ProjectX another
   * firm (`firmHost`). The relay reconnects the login there.
   */
  async move(f: Follower, to: SlotName): Promise<void> {
    const slot = this.brokers.slot(f.broker, to);
    const body =
      f.broker === "projectx"
        ? {
            credentials: {
              userName: f.user,
              apiKey: f.secret,
              ...(to === "secondary" ? { firmHost: slot.url, firmRtcHost: slot.url } : {}),
            },
          }
        : { environment: to === "secondary" ? "live" : "demo" };
    await this.api("PATCH", `/api/accounts/${f.accountId}`, body);
    for (const other of this.followers.values()) if (other.accountId === f.accountId) other.slot = to;
    f.slot = to;
  }

  /** Sessions of these relay accounts that are `ready` now. */
  async readySessions(accountIds: readonly string[]): Promise<Set<string>> {
    const status = await this.api<{ sessions: { accountId: string; state: string }[] }>("GET", "/api/status");
    return new Set(
      status.sessions
        .filter((x) => x.state === "ready" && accountIds.includes(x.accountId))
        .map((x) => x.accountId),
    );
  }

  /** Waits until every one of these accounts has a ready session; returns those that never got one. */
  async waitSessions(accountIds: readonly string[], timeoutMs = 90_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.relay.recovered();
      const ready = await this.readySessions(accountIds).catch(() => new Set<string>());
      const missing = accountIds.filter((id) => !ready.has(id));
      if (missing.length === 0 || Date.now() > deadline) return missing;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Executions still pending, running or waiting for their broker. */
  async openExecutions(): Promise<number> {
    const [row] = await this.sql`
      select count(*)::int as n from executions where status in ('pending', 'running', 'waiting_for_broker')`;
    return (row?.n as number | undefined) ?? 0;
  }

  /** Waits until no execution is open (or the deadline passes); returns how many are left. */
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
    await this.brokers.stop();
    await this.proxy.stop();
    await this.sql.end({ timeout: 5 });
    if (this.embedded) {
      await this.embedded.stop();
      if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}
