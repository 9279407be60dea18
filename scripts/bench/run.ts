/**
 * `npm run bench [-- --only ack,fanout,loss,relays,memory] [--quick] [--sizes 100,1000] [--relay-followers 1000]`:
 * runs the benchmarks on this machine, each against a floor measured in the same run, prints a table and
 * writes bench-results.json (numeric keys). `memory` (memory per idle session per broker, memory.ts) runs
 * only when named: `--brokers tradovate,projectx,webull --sessions 1000 --batch 25`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { ackBench } from "./ack";
import { fanoutBench } from "./fanout";
import { startDatabase } from "./harness";
import { lossBench } from "./loss";
import { memoryBench } from "./memory";
import { relaysBench } from "./relays";

type Results = Record<string, number>;

const args = process.argv.slice(2);
const only = args.includes("--only") ? (args[args.indexOf("--only") + 1] ?? "").split(",") : undefined;
const quick = args.includes("--quick");
const want = (name: string) => !only || only.includes(name);

async function main(): Promise<void> {
  const results: Results = {};
  const db = await startDatabase();
  try {
    if (want("ack")) {
      const r = await ackBench(db.url, { seconds: quick ? 3 : 10, connections: 50 });
      Object.assign(results, r);
    }
    if (want("loss")) {
      const r = await lossBench(db.url, { runs: quick ? 20 : 100 });
      results.lossReactionP50Ms = r.lossReactionP50Ms;
      results.lossReactionP99Ms = r.lossReactionP99Ms;
      results.lossQuoteP50Ms = r.lossQuoteP50Ms;
      results.lossReactionRatio = r.lossReactionRatio;
      results.lossRuns = r.runs;
    }
    if (want("fanout")) {
      const sizes = args.includes("--sizes")
        ? (args[args.indexOf("--sizes") + 1] ?? "").split(",").map(Number)
        : quick
          ? [100]
          : [100, 500, 1000, 5000];
      Object.assign(
        results,
        await fanoutBench(db.url, { sizes, rounds: quick ? 3 : 7, warmColdRounds: quick ? 3 : 7 }),
      );
    }
    if (want("relays")) {
      // Issue 16: one, two and three relays (child processes) on one database.
      const followers = args.includes("--relay-followers")
        ? Number(args[args.indexOf("--relay-followers") + 1])
        : quick
          ? 200
          : 1000;
      Object.assign(
        results,
        await relaysBench(db.url, { followers, rounds: quick ? 3 : 7, counts: [1, 2, 3] }),
      );
    }
    // Not part of a plain `npm run bench`: three more processes of 1,000 logins each.
    if (only?.includes("memory")) {
      const brokers = args.includes("--brokers")
        ? (args[args.indexOf("--brokers") + 1] ?? "").split(",")
        : ["tradovate", "projectx", "webull"];
      const sessions = args.includes("--sessions") ? Number(args[args.indexOf("--sessions") + 1]) : 1000;
      const batch = args.includes("--batch") ? Number(args[args.indexOf("--batch") + 1]) : 25;
      Object.assign(results, await memoryBench(db.url, { brokers, sessions, batch }));
    }
  } finally {
    await db.stop();
  }
  let previous: Results = {};
  try {
    previous = JSON.parse(await readFile("bench-results.json", "utf8")) as Results;
  } catch {
    // first run
  }
  const merged = { ...previous, ...results, measuredAt: Date.now() };
  await writeFile("bench-results.json", `${JSON.stringify(merged, null, 2)}\n`);
  console.log("\nbenchmark                         value");
  for (const [k, v] of Object.entries(results))
    console.log(`${k.padEnd(32)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
  console.log("\nwritten to bench-results.json");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
