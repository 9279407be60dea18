/**
 * Memory per idle session of one broker, in a process of its own (a relay's freed memory is not given
 * back to the system at once, so two measurements in one process would share it). Run by memory.ts:
 *
 *   node --expose-gc --import tsx scripts/bench/idle-memory.ts --broker projectx --sessions 1000 --db URL
 *
 * The relay is served in this process, the broker's simulator in a child. The baseline is taken after the
 * relay started and one login is ready (so code compiled once is not billed per session), after a full
 * collection; then N logins are added through the API (25 at a time, like the fan-out benchmark), each
 * with one trader; the figure is taken once all N sessions are `ready`: as they are, every 10 s of
 * idling up to `--unforced` s with no collection forced (what a relay gives back by itself), then as a
 * forced collection returns, 1 s later (V8 has given back what it freed), and after `--settle` s more.
 * `--snapshots` adds a heap snapshot before and after, reduced to the object kinds that grew per session
 * (the snapshots themselves cost RSS: read only the heap figures of such a run). Prints `IDLE_RESULT`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { api, type BenchRelay, startRelay } from "./harness";
import { collect, heapKinds, kindGrowth, type MemoryProbe, probe } from "./memory-probe";
import { SimProcess } from "./tradovate-process";

type Broker = "tradovate" | "projectx" | "webull";

const args = process.argv.slice(2);
const arg = (name: string, fallback?: string): string => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? args[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
};
const broker = arg("broker") as Broker;
const sessions = Number(arg("sessions", "1000"));
const settleS = Number(arg("settle", "10"));
/** Seconds of idling watched before any forced collection. */
const unforcedS = Number(arg("unforced", "30"));
const batch = Number(arg("batch", "25"));
const snapshots = args.includes("--snapshots");
/** How long after a forced collection its freed pages are back with the system (see the trace below). */
const RELEASE_MS = 1_000;
const adminUrl = arg("db");

interface Login {
  name: string;
  credentials: Record<string, string>;
}

async function startSim(): Promise<{ sim: SimProcess; env: Record<string, string> }> {
  if (broker === "tradovate") {
    const sim = new SimProcess();
    const urls = await sim.start();
    return {
      sim,
      env: {
        TRADOVATE_DEMO_URL: urls.restUrl,
        TRADOVATE_LIVE_URL: urls.restUrl,
        TRADOVATE_MD_URL: urls.mdUrl,
      },
    };
  }
  const sim = new SimProcess("sims-worker.ts");
  sim.spawn();
  const env = (await sim.call("start", { broker })) as Record<string, string>;
  return { sim, env };
}

async function logins(sim: SimProcess, from: number, count: number): Promise<Login[]> {
  if (broker !== "tradovate")
    return (await sim.call("addLogins", { prefix: "idle", from, count })) as Login[];
  const users = (await sim.call("addUsers", { prefix: "idle", from, count })) as {
    name: string;
    password: string;
  }[];
  return users.map((u) => ({
    name: u.name,
    credentials: { username: u.name, password: u.password, appId: "Relay", deviceId: `dev-${u.name}` },
  }));
}

async function readyCount(relay: BenchRelay): Promise<number> {
  const s = await api<{ sessions: { state: string; broker: string }[] }>(relay.url, "GET", "/api/status");
  return s.sessions.filter((x) => x.broker === broker && x.state === "ready").length;
}

/** RSS per session at moments after a forced collection, until RELEASE_MS. */
async function rssTrace(baseRss: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const out: Record<string, number> = {};
  for (const at of [0, 50, 100, 200, 500, RELEASE_MS]) {
    while (performance.now() - t0 < at) await new Promise((r) => setTimeout(r, 5));
    out[`${at}ms`] = Math.round(((process.memoryUsage().rss - baseRss) / 1024 / sessions) * 10) / 10;
  }
  return out;
}

const perSession = (a: MemoryProbe, b: MemoryProbe) => {
  const kb = (x: number) => Math.round((x / 1024 / sessions) * 10) / 10;
  const outsideV8 = (p: MemoryProbe) => p.mallocHeap + p.anonymous - p.v8Physical;
  // The young generation's size follows the allocation rate, not what is held: reported on its own.
  const young = (p: MemoryProbe) => p.spaces.new_space?.committed ?? 0;
  return {
    rssKb: kb(b.rss - a.rss),
    heapUsedKb: kb(b.heapUsed - a.heapUsed),
    heapCommittedKb: kb(b.heapTotal - a.heapTotal),
    oldCommittedKb: kb(b.heapTotal - young(b) - (a.heapTotal - young(a))),
    youngCommittedKb: kb(young(b) - young(a)),
    v8ResidentKb: kb(b.v8Physical - a.v8Physical),
    buffersKb: kb(b.external + b.arrayBuffers - a.external - a.arrayBuffers),
    outsideV8Kb: kb(outsideV8(b) - outsideV8(a)),
    mallocHeapKb: kb(b.mallocHeap - a.mallocHeap),
    filesKb: kb(b.files - a.files),
    spaces: Object.fromEntries(
      Object.entries(b.spaces).map(([name, s]) => {
        const base = a.spaces[name] ?? { used: 0, committed: 0, physical: 0 };
        return [name, { usedKb: kb(s.used - base.used), committedKb: kb(s.committed - base.committed) }];
      }),
    ),
  };
};

async function main(): Promise<void> {
  const dbName = `idle_${broker}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const { sim, env } = await startSim();
  const relay = await startRelay({ databaseUrl: url.toString(), env });
  const snapDir = snapshots ? await mkdtemp(join(tmpdir(), "idle-heap-")) : undefined;
  try {
    const recorder = await api<{ id: string }>(relay.url, "POST", "/api/recorders", { name: "idle" });
    const add = async (l: Login) => {
      const account = await api<{ id: string; status: string }>(relay.url, "POST", "/api/accounts", {
        name: l.name,
        broker,
        environment: "demo",
        credentials: l.credentials,
      });
      await api(relay.url, "POST", "/api/traders", { recorderId: recorder.id, accountId: account.id });
    };
    // One login first, outside the count: the code every login runs is compiled once, not per session.
    const [warm, ...all] = await logins(sim, 0, sessions + 1);
    if (warm) await add(warm);
    while ((await readyCount(relay)) < 1) await new Promise((r) => setTimeout(r, 50));
    collect();
    // Read once V8 has handed back what the collection freed, as every reading below is.
    await new Promise((r) => setTimeout(r, RELEASE_MS));
    const base = await probe();
    const kindsBefore = snapDir ? await heapKinds(snapDir) : undefined;
    const started = Date.now();
    for (let i = 0; i < all.length; i += batch) await Promise.all(all.slice(i, i + batch).map(add));
    const deadline = Date.now() + 300_000;
    while ((await readyCount(relay)) < sessions + 1) {
      if (Date.now() > deadline) throw new Error(`${sessions} ${broker} sessions not ready in 300 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const loginSeconds = (Date.now() - started) / 1000;
    const atReady = await probe();
    // What the process gives back by itself (no forced collection) while the sessions idle.
    const unforced: Record<string, number> = {};
    for (let s = 0; s <= unforcedS; s += 10) {
      if (s > 0) await new Promise((r) => setTimeout(r, 10_000));
      unforced[`${s}s`] = Math.round(((process.memoryUsage().rss - base.rss) / 1024 / sessions) * 10) / 10;
    }
    collect();
    // RSS at the instant the collection returns still holds what it just freed: V8 gives those pages
    // back on a background thread within a few hundred ms. Sampled, so the result shows it happen.
    const releaseTrace = await rssTrace(base.rss);
    const ready = await probe();
    await new Promise((r) => setTimeout(r, settleS * 1000));
    collect();
    await new Promise((r) => setTimeout(r, RELEASE_MS));
    const settled = await probe();
    if ((await readyCount(relay)) < sessions + 1) throw new Error("sessions dropped while idle");
    const kindsAfter = snapDir ? await heapKinds(snapDir) : undefined;
    const result = {
      broker,
      sessions,
      loginSeconds,
      /** RSS per session the moment the last session was ready, before any forced collection. */
      atReadyRssKb: Math.round(((atReady.rss - base.rss) / 1024 / sessions) * 10) / 10,
      /** RSS per session while idling after the burst, no collection forced (s -> KB). */
      unforced,
      /** RSS per session from the instant the forced collection returned (ms -> KB). */
      releaseTrace,
      ready: perSession(base, ready),
      settled: { afterSeconds: settleS, ...perSession(base, settled) },
      ...(kindsBefore && kindsAfter ? { heapKinds: kindGrowth(kindsBefore, kindsAfter, sessions) } : {}),
    };
    process.stdout.write(`IDLE_RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await relay.stop();
    await sim.stop();
    if (snapDir && !process.env.KEEP_HEAP_SNAPSHOTS) await rm(snapDir, { recursive: true, force: true });
    else if (snapDir) process.stderr.write(`heap snapshots kept in ${snapDir}\n`);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
