/**
 * ack: POST /webhook with a durable commit (embedded PostgreSQL, fsync on) versus a bare Hono hello-world
 * served the same way, under the same autocannon load. Every alert is unique (an id per request), so each
 * one is a real insert of the raw log row and the signal, not a duplicate short-cut.
 */
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { freePort } from "../../src/db/embedded";
import { startCpuSplit } from "./cpu";
import { api, type BenchRelay, startRelay } from "./harness";
import { autocannon, type LoadResult } from "./load";
import { startProfile } from "./profile";

export interface AckResult {
  ackRatio: number;
  ackP50Ms: number;
  ackP99Ms: number;
  ackRps: number;
  bareRps: number;
  bareP50Ms: number;
  bareP99Ms: number;
  /** CPU per acknowledged alert: the relay's process, and PostgreSQL's processes (ms). */
  ackRelayCpuMs: number;
  ackDatabaseCpuMs?: number;
  /** CPU per request of the bare Hono floor (ms), in the same process. */
  bareCpuMs: number;
  /** Group commit over the measured run: alerts per intake transaction (mean) and the largest batch. */
  ackBatchMean?: number;
  ackBatchMax?: number;
}

async function bareHello(): Promise<{ url: string; stop(): Promise<void> }> {
  const app = new Hono();
  app.post("/webhook/:token", (c) => c.json({ status: "accepted" }, 202));
  const port = await freePort();
  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => ok(s));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => server.close(() => r())) };
}

export async function ackBench(
  databaseUrl: string,
  o: { seconds: number; connections: number; log?: (line: string) => void },
): Promise<AckResult> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  // The group-commit knobs may be set for a run (WEBHOOK_COMMIT_CONCURRENCY=4 npm run bench -- --only ack).
  const env = Object.fromEntries(
    ["WEBHOOK_COMMIT_CONCURRENCY", "WEBHOOK_COMMIT_BATCH_MAX"].flatMap((k) =>
      process.env[k] ? [[k, process.env[k] as string]] : [],
    ),
  );
  const relay: BenchRelay = await startRelay({ databaseUrl, env });
  const recorder = await api<{ webhookToken: string }>(relay.url, "POST", "/api/recorders", {
    name: "ack bench",
  });
  const bare = await bareHello();
  const body = '{"ticker":"MNQ1!","action":"buy","price":"21000.25","id":"[<id>]"}';
  const load = (url: string): Promise<LoadResult> =>
    autocannon({
      url: `${url}/webhook/${recorder.webhookToken}`,
      method: "POST",
      body,
      idReplacement: true,
      headers: { "content-type": "application/json" },
      connections: o.connections,
      seconds: o.seconds,
    });
  try {
    await load(relay.url); // warm-up: JIT, connection pool, caches
    // Absent on a relay without group commit (an A/B run against an older checkout).
    const commitStats = () =>
      "commitStats" in relay.relay.services.intake ? relay.relay.services.intake.commitStats() : undefined;
    const stats0 = commitStats();
    const cpu = await startCpuSplit(relay.sql);
    const profile = process.env.BENCH_PROFILE ? await startProfile() : undefined;
    const ack = await load(relay.url);
    if (profile) for (const line of await profile.stop("ack.cpuprofile")) log(line);
    const used = await cpu.stop();
    const stats = commitStats();
    const batches = (stats?.batches ?? 0) - (stats0?.batches ?? 0);
    const alerts = (stats?.alerts ?? 0) - (stats0?.alerts ?? 0);
    const sizes = [...(stats?.sizes ?? [])]
      .map(([size, n]) => [size, n - (stats0?.sizes.get(size) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => a[0] - b[0]);
    if (stats)
      log(
        `ack: ${alerts} alerts in ${batches} commits; batch size: commits ${sizes.map(([k, n]) => `${k}:${n}`).join(" ")}`,
      );
    const bareCpu = process.cpuUsage();
    const floor = await load(bare.url);
    const bareUsed = process.cpuUsage(bareCpu);
    if (ack.non2xx > 0 || ack.errors > 0)
      throw new Error(`relay answered ${ack.non2xx} non-2xx and ${ack.errors} errors`);
    return {
      ackRatio: ack.requestsPerSec / floor.requestsPerSec,
      ackP50Ms: ack.p50Ms,
      ackP99Ms: ack.p99Ms,
      ackRps: ack.requestsPerSec,
      bareRps: floor.requestsPerSec,
      bareP50Ms: floor.p50Ms,
      bareP99Ms: floor.p99Ms,
      ackRelayCpuMs: (1000 * used.relaySeconds) / Math.max(1, ack.total),
      bareCpuMs: (bareUsed.user + bareUsed.system) / 1000 / Math.max(1, floor.total),
      ...(batches > 0
        ? { ackBatchMean: alerts / batches, ackBatchMax: Math.max(...sizes.map(([k]) => k)) }
        : {}),
      ...(used.databaseSeconds !== undefined
        ? { ackDatabaseCpuMs: (1000 * used.databaseSeconds) / Math.max(1, ack.total) }
        : {}),
    };
  } finally {
    await bare.stop();
    await relay.stop();
  }
}
