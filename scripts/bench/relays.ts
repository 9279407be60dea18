/**
 * relays (issue 16): the fan-out of one alert to N Tradovate followers with one, two and three relays on
 * one database, each relay a real child process (`src/main.ts`) holding the sessions of the accounts it
 * owns. Alerts go to the relays in turn (a load balancer's round robin). Per relay count: the slowest
 * trader's "webhook received -> broker acknowledgment" (executions.latency_ms), its ratio to the floor (a
 * bare ws client sending the same N orders over N authorized sockets, same run), and the spread: the
 * share of executions each relay ran (max / min), and the accounts each holds.
 *
 * On a machine with two cores the relays share the cores with PostgreSQL and the simulator: more relays
 * buy no CPU here. The rows show that the work spreads evenly and what coordination costs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { freePort } from "../../src/db/embedded";
import { RelayProcess } from "../faults/relay-process";
import { databaseSeconds, processSeconds } from "./cpu";
import { FloorClient, type FloorUser } from "./floor-client";
import { api, BENCH_TOKEN, median } from "./harness";
import { SimProcess } from "./tradovate-process";

const CREDENTIALS_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

export interface RelaysOptions {
  followers: number;
  rounds: number;
  counts: number[];
  log?: (line: string) => void;
}

/** A database of its own on the same server: the other benchmarks' accounts are not this one's. */
async function freshDatabase(url: string): Promise<string> {
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe("drop database if exists relays_bench with (force)");
    await admin.unsafe("create database relays_bench");
  } finally {
    await admin.end({ timeout: 5 });
  }
  const u = new URL(url);
  u.pathname = "/relays_bench";
  return u.toString();
}

export async function relaysBench(serverUrl: string, o: RelaysOptions): Promise<Record<string, number>> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const out: Record<string, number> = {};
  const databaseUrl = await freshDatabase(serverUrl);
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => undefined });
  const sim = new SimProcess();
  const urls = await sim.start();
  const logDir = await mkdtemp(join(tmpdir(), "relay-bench-relays-"));
  const relays: RelayProcess[] = [];
  const start = async (i: number) => {
    const port = await freePort();
    const relay = new RelayProcess({
      repoRoot: process.cwd(),
      logDir: join(logDir),
      restartOnCrash: false,
      env: {
        DATABASE_URL: databaseUrl,
        CREDENTIALS_KEY,
        RELAY_ADMIN_TOKEN: BENCH_TOKEN,
        PORT: String(port),
        HOST: "127.0.0.1",
        INSTANCE_ID: `bench-relay-${i + 1}`,
        LOG_LEVEL: "warn",
        ACCOUNT_LEASE_MS: "6000",
        TRADOVATE_DEMO_URL: urls.restUrl,
        TRADOVATE_LIVE_URL: urls.restUrl,
        TRADOVATE_MD_URL: urls.mdUrl,
        WEBHOOK_RATE_PER_MINUTE: "100000000",
        WEBHOOK_RATE_BURST: "100000000",
      },
      // BENCH_PROFILE=1: each relay writes CPU profiles (one per thread) of its whole life into
      // relays-<n>.cpuprofiles/ when it stops (Node's --cpu-prof).
      nodeArgs: process.env.BENCH_PROFILE
        ? ["--cpu-prof", `--cpu-prof-dir=${join(process.cwd(), `relays-${i + 1}.cpuprofiles`)}`]
        : [],
    });
    await relay.start();
    relays.push(relay);
  };
  try {
    await start(0);
    const first = relays[0] as RelayProcess;
    const front = (await sim.call("front", { root: "MNQ" })) as string;
    await sim.call("setPrice", { symbol: front, price: "21000" });
    const fan = await api<{ id: string; webhookToken: string }>(first.url, "POST", "/api/recorders", {
      name: "relays fan-out",
    });
    const users = (await sim.call("addUsers", { prefix: "mrb", from: 0, count: o.followers })) as FloorUser[];
    for (let i = 0; i < users.length; i += 25) {
      await Promise.all(
        users.slice(i, i + 25).map(async (u) => {
          const account = await api<{ id: string; status: string }>(first.url, "POST", "/api/accounts", {
            name: u.name,
            broker: "tradovate",
            environment: "demo",
            credentials: {
              username: u.name,
              password: u.password,
              appId: "Relay",
              deviceId: `dev-${u.name}`,
            },
          });
          await api(first.url, "POST", "/api/traders", { recorderId: fan.id, accountId: account.id });
        }),
      );
    }
    // The floor, on logins of its own, in the same run.
    const floorUsers = (await sim.call("addUsers", {
      prefix: "mrf",
      from: 0,
      count: o.followers,
    })) as FloorUser[];
    const floor = new FloorClient();
    await floor.connect(urls.restUrl, urls.wsUrl, floorUsers);
    const floorMs: number[] = [];
    for (let r = 0; r < o.rounds; r++) floorMs.push(await floor.fire(front, r % 2 === 0 ? "Buy" : "Sell"));
    floor.close();
    const floorP50 = median(floorMs);
    out.relaysFloorP50Ms = floorP50;

    for (const count of o.counts) {
      while (relays.length < count) await start(relays.length);
      // Accounts spread (idle ones are handed over) and every holder's sessions ready.
      const share = Math.ceil(o.followers / count);
      const deadline = Date.now() + 180_000;
      for (;;) {
        const rows = await sql`
          select o.relay, count(*)::int as n from account_owners o
           where o.lease_until > clock_timestamp() group by o.relay`;
        const held = rows.reduce((n, r) => n + (r.n as number), 0);
        const even = rows.length === count && rows.every((r) => (r.n as number) <= share);
        let ready = 0;
        for (const relay of relays) {
          const s = await api<{ sessionsReady: number }>(relay.url, "GET", "/api/status");
          ready += s.sessionsReady;
        }
        if (even && held >= o.followers && ready >= o.followers) break;
        if (Date.now() > deadline) throw new Error(`${count} relays: accounts did not spread in 180 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const latencies: number[] = [];
      const signalIds: string[] = [];
      // Who used the cores over the rounds: every relay process together, and PostgreSQL.
      const relayCpu = async () => {
        let s = 0;
        for (const relay of relays) s += await processSeconds(relay.pid);
        return s;
      };
      const statements = process.env.BENCH_PG_STATEMENTS !== undefined;
      if (statements) {
        await sql`create extension if not exists pg_stat_statements`;
        await sql`select pg_stat_statements_reset()`;
      }
      const relayCpu0 = await relayCpu();
      const dbCpu0 = await databaseSeconds(sql);
      const rounds = o.rounds + (o.rounds % 2);
      for (let r = 0; r < rounds; r++) {
        const via = relays[r % count] as RelayProcess;
        const res = await fetch(`${via.url}/webhook/${fan.webhookToken}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            ticker: "MNQ1!",
            action: r % 2 === 0 ? "buy" : "exit",
            price: "21000",
            id: `${count}-${r}`,
          }),
        });
        const body = (await res.json()) as { signalId: string };
        if (res.status !== 202) throw new Error(`webhook: ${res.status} ${JSON.stringify(body)}`);
        const until = Date.now() + 120_000;
        for (;;) {
          const [row] = await sql`
            select count(*) filter (where status in ('pending', 'running'))::int as open,
                   count(*) filter (where status <> 'done')::int as not_done, count(*)::int as n,
                   max(latency_ms)::int as slowest
              from executions where signal_id = ${body.signalId}`;
          if (row && row.n === o.followers && row.open === 0) {
            if (row.not_done > 0) throw new Error(`${row.not_done} executions did not finish "done"`);
            if (r < o.rounds) latencies.push(row.slowest as number);
            break;
          }
          if (Date.now() > until) throw new Error("fan-out did not finish in 120 s");
          await new Promise((res2) => setTimeout(res2, 10));
        }
        signalIds.push(body.signalId);
      }
      const relayCpuMs = (((await relayCpu()) - relayCpu0) * 1000) / rounds;
      const dbCpu1 = await databaseSeconds(sql);
      const dbCpuMs =
        dbCpu0 !== undefined && dbCpu1 !== undefined ? ((dbCpu1 - dbCpu0) * 1000) / rounds : NaN;
      // Created -> marked running (started_at, written behind the first order), for executions the
      // answering relay ran itself against those another relay was woken for (NOTIFY relay_work, a claim).
      const waits = await sql`
        select (x.claimed_by = 'bench-relay-' || (1 + (split_part(s.alert_id, '-', 2)::int % ${count})))
                 as local,
               percentile_cont(0.5) within group (
                 order by extract(epoch from x.started_at - x.created_at) * 1000)::float8 as wait_ms
          from executions x join signals s on s.id = x.signal_id
         where x.signal_id = any(${signalIds}::uuid[]) group by 1`;
      const waitOf = (local: boolean) => Number(waits.find((w) => w.local === local)?.wait_ms ?? NaN);
      const spread = await sql`
        select claimed_by, count(*)::int as n from executions where signal_id = any(${signalIds}::uuid[])
         group by claimed_by order by claimed_by`;
      const perRelay = spread.map((s) => s.n as number);
      const p50 = median(latencies);
      const key = count === 1 ? "One" : count === 2 ? "Two" : "Three";
      out[`relays${key}P50Ms`] = p50;
      out[`relays${key}Ratio`] = p50 / floorP50;
      out[`relays${key}Spread`] = Math.max(...perRelay) / Math.max(1, Math.min(...perRelay));
      out[`relays${key}RelayCpuMsPerRound`] = relayCpuMs;
      if (!Number.isNaN(waitOf(true))) out[`relays${key}LocalStartMs`] = waitOf(true);
      if (!Number.isNaN(waitOf(false))) out[`relays${key}RemoteStartMs`] = waitOf(false);
      if (!Number.isNaN(dbCpuMs)) out[`relays${key}DatabaseCpuMsPerRound`] = dbCpuMs;
      log(
        `${count} relay(s), N=${o.followers}: p50 ${p50} ms, ratio ${(p50 / floorP50).toFixed(2)} (floor ${floorP50.toFixed(1)} ms); executions per relay ${spread.map((s) => `${s.claimed_by}=${s.n}`).join(", ")}; CPU per round: relays ${relayCpuMs.toFixed(0)} ms, PostgreSQL ${dbCpuMs.toFixed(0)} ms; created -> marked running (median, written behind the first order) ${waitOf(true).toFixed(0)} ms on the answering relay${count > 1 ? `, ${waitOf(false).toFixed(0)} ms on another` : ""}`,
      );
      if (statements) {
        // Where PostgreSQL's time went over the rounds (this database only), by total execution time.
        const top = await sql`
          select calls::int, total_exec_time::float8 as ms, rows::int,
                 regexp_replace(left(query, 110), '[[:space:]]+', ' ', 'g') as query
            from pg_stat_statements s join pg_database d on d.oid = s.dbid
           where d.datname = current_database()
           order by total_exec_time desc limit 12`;
        for (const t of top)
          log(
            `    ${(t.ms / rounds).toFixed(1).padStart(8)} ms/round ${String(Math.round(t.calls / rounds)).padStart(6)} calls/round  ${t.query}`,
          );
      }
    }
  } finally {
    for (const relay of relays) await relay.stop(20_000).catch(() => undefined);
    for (const relay of relays) relay.dispose();
    await sim.stop();
    await sql.end({ timeout: 5 });
    await rm(logDir, { recursive: true, force: true });
  }
  return out;
}
