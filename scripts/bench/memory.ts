/**
 * memory per idle session, per broker: each broker measured by idle-memory.ts in a fresh process (see
 * there for what is measured and when). `npm run bench -- --only memory --brokers tradovate,projectx`
 * `--sessions 1000 [--batch 25]` (logins added at once); MEMORY_SNAPSHOTS=1 adds the heap-snapshot
 * breakdown by object kind (KEEP_HEAP_SNAPSHOTS=1 keeps the two .heapsnapshot files for a closer look).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

interface PerSession {
  rssKb: number;
  heapUsedKb: number;
  heapCommittedKb: number;
  oldCommittedKb: number;
  youngCommittedKb: number;
  outsideV8Kb: number;
  buffersKb: number;
}

export interface IdleResult {
  broker: string;
  sessions: number;
  loginSeconds: number;
  atReadyRssKb: number;
  releaseTrace: Record<string, number>;
  unforced: Record<string, number>;
  ready: PerSession;
  settled: PerSession & { afterSeconds: number };
  heapKinds?: { kind: string; countPerUnit: number; bytesPerUnit: number }[];
}

function measure(databaseUrl: string, broker: string, sessions: number, batch: number): Promise<IdleResult> {
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      "tsx",
      join(import.meta.dirname, "idle-memory.ts"),
      "--broker",
      broker,
      "--sessions",
      String(sessions),
      "--db",
      databaseUrl,
      "--batch",
      String(batch),
      ...(process.env.MEMORY_SNAPSHOTS ? ["--snapshots"] : []),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("IDLE_RESULT "));
      if (code !== 0 || !line) reject(new Error(`idle-memory ${broker} exited ${code}`));
      else resolve(JSON.parse(line.slice("IDLE_RESULT ".length)) as IdleResult);
    });
  });
}

export async function memoryBench(
  databaseUrl: string,
  o: { brokers: string[]; sessions: number; batch?: number; log?: (line: string) => void },
): Promise<Record<string, number>> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const out: Record<string, number> = {};
  for (const broker of o.brokers) {
    const r = await measure(databaseUrl, broker, o.sessions, o.batch ?? 25);
    log(
      `${broker} N=${r.sessions} (logins took ${r.loginSeconds.toFixed(1)} s): per idle session rss ${r.ready.rssKb} KB ` +
        `(${r.atReadyRssKb} KB before a collection, ${r.settled.rssKb} KB after ${r.settled.afterSeconds} s idle), ` +
        `heap used ${r.ready.heapUsedKb} KB, committed ${r.ready.heapCommittedKb} KB ` +
        `(old generation ${r.ready.oldCommittedKb} KB, ${r.settled.oldCommittedKb} KB after idling), ` +
        `outside V8 ${r.ready.outsideV8Kb} KB, buffers ${r.ready.buffersKb} KB`,
    );
    log(`  rss per session idling, no collection forced: ${JSON.stringify(r.unforced)}`);
    log(`  rss per session after the forced collection: ${JSON.stringify(r.releaseTrace)}`);
    log(`  detail ${JSON.stringify({ ready: r.ready, settled: r.settled })}`);
    for (const k of r.heapKinds ?? [])
      log(
        `  ${k.bytesPerUnit.toFixed(0).padStart(7)} B ${k.countPerUnit.toFixed(1).padStart(7)} x ${k.kind}`,
      );
    out[`idleRssKb_${broker}`] = r.ready.rssKb;
    out[`idleRssAtCollectionKb_${broker}`] = r.releaseTrace["0ms"] ?? Number.NaN;
    out[`idleRssUnforcedKb_${broker}`] = Object.values(r.unforced).at(-1) ?? Number.NaN;
    out[`idleHeapUsedKb_${broker}`] = r.ready.heapUsedKb;
    out[`idleHeapCommittedKb_${broker}`] = r.ready.heapCommittedKb;
    out[`idleOldCommittedKb_${broker}`] = r.ready.oldCommittedKb;
    out[`idleSettledRssKb_${broker}`] = r.settled.rssKb;
  }
  return out;
}
