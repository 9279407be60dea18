/**
 * fan-out: webhook received -> last broker acknowledgment, over N pre-warmed Tradovate sessions (one login
 * each), against the floor of a bare ws client sending the same N orders over N authorized sockets to the
 * same simulator in the same run. Also warm vs cold first order, and memory per idle session.
 *
 * The simulator runs in its own process. Each round is one alert (buy, then exit, alternating) that makes
 * exactly one market order per trader; its fan-out time is the slowest trader's "received -> acknowledged"
 * (executions.latency_ms, measured inside the relay from the moment the webhook arrived).
 */
import { FloorClient, type FloorUser } from "./floor-client";
import { api, type BenchRelay, median, percentile, startRelay } from "./harness";
import { collect, probe } from "./memory-probe";
import { startProfile } from "./profile";
import { SimProcess } from "./tradovate-process";

export interface FanoutOptions {
  sizes: number[];
  rounds: number;
  warmColdRounds: number;
  log?: (line: string) => void;
}

async function waitFanout(relay: BenchRelay, signalId: string, expected: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await relay.sql`
      select count(*)::int as n,
             count(*) filter (where status in ('pending', 'running'))::int as open,
             count(*) filter (where status <> 'done')::int as not_done,
             max(latency_ms)::int as slowest
        from executions where signal_id = ${signalId}`;
    if (row && row.n === expected && row.open === 0) {
      if (row.not_done > 0)
        throw new Error(`${row.not_done} of ${expected} executions did not finish "done"`);
      return row.slowest as number;
    }
    if (Date.now() > deadline) throw new Error(`fan-out of ${expected} did not finish in 120 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function signal(relay: BenchRelay, token: string, action: string, expected: number): Promise<number> {
  const res = await fetch(`${relay.url}/webhook/${token}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ticker: "MNQ1!", action, price: "21000", id: `${Date.now()}-${Math.random()}` }),
  });
  const body = (await res.json()) as { signalId: string; traders: number };
  if (res.status !== 202 || body.traders !== expected)
    throw new Error(`webhook: ${res.status} ${JSON.stringify(body)}`);
  return waitFanout(relay, body.signalId, expected);
}

async function addFollowers(
  relay: BenchRelay,
  sim: SimProcess,
  recorderId: string,
  from: number,
  count: number,
): Promise<{ users: FloorUser[]; accountIds: string[] }> {
  const users = (await sim.call("addUsers", { prefix: "bench", from, count })) as FloorUser[];
  const accountIds: string[] = [];
  for (let i = 0; i < users.length; i += 25) {
    const batch = users.slice(i, i + 25);
    const ids = await Promise.all(
      batch.map(async (u) => {
        const account = await api<{ id: string; status: string }>(relay.url, "POST", "/api/accounts", {
          name: u.name,
          broker: "tradovate",
          environment: "demo",
          credentials: { username: u.name, password: u.password, appId: "Relay", deviceId: `dev-${u.name}` },
        });
        if (account.status !== "connected") throw new Error(`account ${u.name}: ${account.status}`);
        await api(relay.url, "POST", "/api/traders", { recorderId, accountId: account.id });
        return account.id;
      }),
    );
    accountIds.push(...ids);
  }
  return { users, accountIds };
}

async function readySessions(relay: BenchRelay): Promise<number> {
  const s = await api<{ sessions: { state: string; broker: string }[] }>(relay.url, "GET", "/api/status");
  return s.sessions.filter((x) => x.broker === "tradovate" && x.state === "ready").length;
}

export async function fanoutBench(databaseUrl: string, o: FanoutOptions): Promise<Record<string, number>> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const out: Record<string, number> = {};
  const sim = new SimProcess();
  const urls = await sim.start();
  const lines: string[] = [];
  const relay = await startRelay({
    databaseUrl,
    logLevel: "info",
    logLines: lines,
    env: {
      TRADOVATE_DEMO_URL: urls.restUrl,
      TRADOVATE_LIVE_URL: urls.restUrl,
      TRADOVATE_MD_URL: urls.mdUrl,
      // The relay's own knob, passed through so its effect can be measured.
      ...(process.env.DISPATCH_CONCURRENCY ? { DISPATCH_CONCURRENCY: process.env.DISPATCH_CONCURRENCY } : {}),
    },
  });
  try {
    const front = (await sim.call("front", { root: "MNQ" })) as string;
    await sim.call("setPrice", { symbol: front, price: "21000" });

    // Warm vs cold first order: one follower on its own recorder.
    const wc = await api<{ id: string; webhookToken: string }>(relay.url, "POST", "/api/recorders", {
      name: "warm/cold",
    });
    const wcFollower = await addFollowers(relay, sim, wc.id, 0, 1);
    const warm: number[] = [];
    const cold: number[] = [];
    for (let r = 0; r < o.warmColdRounds; r++) {
      // Warm: an entry on the pre-warmed session. Cold: the session closed first, so the exit logs in,
      // connects, authorizes and syncs before its order. Each is exactly one market order.
      warm.push(await signal(relay, wc.webhookToken, "buy", 1));
      await relay.relay.services.pool.remove(wcFollower.accountIds[0] as string);
      cold.push(await signal(relay, wc.webhookToken, "exit", 1));
      await relay.relay.services.pool.warm(wcFollower.accountIds);
    }
    out.warmFirstOrderMs = median(warm);
    out.coldFirstOrderMs = median(cold);
    out.warmColdRatio = median(warm) / median(cold);
    log(`warm first order ${median(warm)} ms, cold ${median(cold)} ms`);
    // Where a warm order's time goes (the warm rounds are the entries, the cold ones the exits).
    const wcLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const warmDone = wcLines.filter((l) => l.event === "ExecutionDone" && l.decision === "opened");
    const warmStage = (k: string) => median(warmDone.map((d) => Number(d[k])));
    const commits = wcLines
      .filter((l) => l.event === "SignalAccepted")
      .map((l) => Number(l.committedAfterMs));
    log(
      `  warm (median): committed ${median(commits.filter((_, i) => i % 2 === 0))} ms, started ${warmStage("startedAfterMs")} ms, first order sent ${warmStage("firstSendAfterMs")} ms, acknowledged ${warmStage("latencyMs")} ms after the webhook`,
    );
    // Leave the warm/cold recorder's follower out of the fan-out figures.
    await api(relay.url, "PATCH", `/api/recorders/${wc.id}`, { enabled: false });

    const fan = await api<{ id: string; webhookToken: string }>(relay.url, "POST", "/api/recorders", {
      name: "fan-out",
    });
    const users: FloorUser[] = [];
    const floorAll: FloorUser[] = [];
    let floorCount = 0;
    // A full collection first, so the baseline holds no garbage that the sessions' figure would absorb,
    // read once V8 has handed back the pages it freed (it does so on a background thread).
    collect();
    await new Promise((r) => setTimeout(r, 1_000));
    const memBase = await probe();
    for (const n of o.sizes) {
      const added = await addFollowers(relay, sim, fan.id, 1 + users.length, n - users.length);
      users.push(...added.users);
      const deadline = Date.now() + 120_000;
      while ((await readySessions(relay)) < n + 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (n >= 1000) {
        const kb = (x: number, base: number) => (x - base) / 1024 / n;
        // The log lines this harness keeps for the latency breakdown (a few per login) are not the
        // relay's: it writes them out. Dropped here, as before the rounds below.
        lines.length = 0;
        collect();
        // As the collection returns (how this figure was always read) and 1 s later: the pages it just
        // freed are given back by V8 on a background thread within a few hundred ms, sessions untouched.
        const atCollection = process.memoryUsage().rss;
        await new Promise((r) => setTimeout(r, 1_000));
        const ready = await probe();
        // The same sessions after 10 s of idling: what the burst of logins left behind (V8 pages kept
        // committed, malloc memory not yet given back) may shrink; what sessions hold does not.
        await new Promise((r) => setTimeout(r, 10_000));
        collect();
        await new Promise((r) => setTimeout(r, 1_000));
        const settled = await probe();
        out[`rssPerSessionKb${n}`] = kb(atCollection, memBase.rss);
        out[`rssReleasedPerSessionKb${n}`] = kb(ready.rss, memBase.rss);
        out[`rssSettledPerSessionKb${n}`] = kb(settled.rss, memBase.rss);
        // Where it goes: the JS heap, and buffers held outside it (sockets, zlib, TLS).
        out[`heapPerSessionKb${n}`] = kb(ready.heapUsed, memBase.heapUsed);
        out[`heapTotalPerSessionKb${n}`] = kb(ready.heapTotal, memBase.heapTotal);
        out[`heapTotalSettledPerSessionKb${n}`] = kb(settled.heapTotal, memBase.heapTotal);
        out[`externalPerSessionKb${n}`] = kb(
          ready.external + ready.arrayBuffers,
          memBase.external + memBase.arrayBuffers,
        );
        log(
          `N=${n}: per idle session rss ${out[`rssPerSessionKb${n}`]?.toFixed(1)} KB as the collection returns, ${out[`rssReleasedPerSessionKb${n}`]?.toFixed(1)} KB 1 s later, ${out[`rssSettledPerSessionKb${n}`]?.toFixed(1)} KB after 10 s idle; heap ${out[`heapPerSessionKb${n}`]?.toFixed(1)} KB used, ${out[`heapTotalPerSessionKb${n}`]?.toFixed(1)} KB committed (${out[`heapTotalSettledPerSessionKb${n}`]?.toFixed(1)} KB after idling); buffers ${out[`externalPerSessionKb${n}`]?.toFixed(1)} KB`,
        );
      }

      const relayMs: number[] = [];
      lines.length = 0;
      const profile = process.env.BENCH_PROFILE ? await startProfile() : undefined;
      // The relay's CPU and how busy its event loop was over the rounds: figures a loaded machine moves
      // much less than wall-clock times (this process is the relay; the simulator runs in its own).
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      for (let r = 0; r < o.rounds; r++) {
        relayMs.push(await signal(relay, fan.webhookToken, r % 2 === 0 ? "buy" : "exit", n));
      }
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      out[`relayCpuMsPerRound${n}`] = (cpu.user + cpu.system) / 1000 / o.rounds;
      log(
        `  relay CPU ${((cpu.user + cpu.system) / 1000 / o.rounds).toFixed(0)} ms per round (${(cpu.system / 1000 / o.rounds).toFixed(0)} ms system), event loop ${(elu.utilization * 100).toFixed(0)}% busy`,
      );
      if (profile) for (const line of await profile.stop(`fanout-${n}.cpuprofile`)) log(line);
      // Every size starts flat: an odd number of rounds ends long, so close it, unmeasured.
      if (o.rounds % 2 === 1) await signal(relay, fan.webhookToken, "exit", n);
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const done = parsed.filter((l) => l.event === "ExecutionDone");
      const stage = (k: string) => median(done.map((d) => Number(d[k])).filter((x) => !Number.isNaN(x)));
      // Where the time goes: commit (intake), waiting to start, start -> first order on the wire, the
      // broker's acknowledgment as the relay saw it (send -> ack, per order).
      const of = (event: string, k: string) =>
        median(
          parsed
            .filter((l) => l.event === event)
            .map((l) => Number(l[k]))
            .filter((x) => !Number.isNaN(x)),
        );
      log(
        `  per execution (median): committed ${of("SignalAccepted", "committedAfterMs")} ms, started ${stage("startedAfterMs")} ms, first order sent ${stage("firstSendAfterMs")} ms, acknowledged ${stage("latencyMs")} ms after the webhook; send -> ack ${of("OrderAcknowledged", "ms")} ms`,
      );
      // The floor trades on its own logins, so the relay's sessions see none of its traffic.
      const floorUsers = (await sim.call("addUsers", {
        prefix: "floor",
        from: floorCount,
        count: n - floorCount,
      })) as FloorUser[];
      floorAll.push(...floorUsers);
      floorCount = n;
      const floor = new FloorClient();
      await floor.connect(urls.restUrl, urls.wsUrl, floorAll);
      const floorMs: number[] = [];
      for (let r = 0; r < o.rounds; r++) floorMs.push(await floor.fire(front, r % 2 === 0 ? "Buy" : "Sell"));
      floor.close();

      out[`fanoutRatio${n}`] = median(relayMs) / median(floorMs);
      out[`fanoutP50Ms${n}`] = median(relayMs);
      out[`fanoutP99Ms${n}`] = percentile(relayMs, 99);
      out[`floorP50Ms${n}`] = median(floorMs);
      log(
        `N=${n}: relay p50 ${median(relayMs)} ms p99 ${percentile(relayMs, 99)} ms | floor p50 ${median(floorMs).toFixed(1)} ms | ratio ${(median(relayMs) / median(floorMs)).toFixed(2)}`,
      );
    }
    const stats = (await sim.call("stats")) as { duplicates: number };
    if (stats.duplicates > 0)
      throw new Error(`${stats.duplicates} duplicate client order ids at the simulator`);
    const largest = (prefix: string) => {
      const values = Object.entries(out)
        .filter(([k]) => k.startsWith(prefix) && k !== prefix)
        .map(([, v]) => v);
      if (values.length) out[prefix] = Math.max(...values);
    };
    largest("rssPerSessionKb");
    largest("rssReleasedPerSessionKb");
    largest("rssSettledPerSessionKb");
    return out;
  } finally {
    await relay.stop();
    await sim.stop();
  }
}
