/**
 * `npm run test:faults [-- --seed N] [--only kill,database] [--quick] [--per-broker N]`: the fault-injection
 * suite. The relay runs as a real child process against the Tradovate, ProjectX and Webull simulators and
 * an embedded PostgreSQL; every scenario is audited once settled. Writes fault-results.json, prints a table, and exits non-zero when anything was
 * lost, doubled, answered 5xx outside a database outage, or left the relay's book out of step with the broker.
 */
import { writeFile } from "node:fs/promises";
import { formatReport } from "./report";
import { Rng } from "./rng";
import { KILL_POINTS } from "./scenarios/kill";
import { runSuite, SCENARIOS, type ScenarioName, type SuitePlan } from "./suite";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const seed = Number(arg("seed") ?? Math.floor(Math.random() * 2 ** 31));
  const only = arg("only")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean) as ScenarioName[] | undefined;
  for (const s of only ?? [])
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(", ")}`);
  const plan: SuitePlan = {
    seed,
    ...(only ? { only } : {}),
    killTraders: Number(arg("traders") ?? (quick ? 50 : 500)),
    // Every kill point twice (once in the quick run), in a seeded order.
    killPoints: new Rng(seed)
      .fork("kill-points")
      .sample(quick ? KILL_POINTS : [...KILL_POINTS, ...KILL_POINTS], 2 * KILL_POINTS.length),
    followers: Number(arg("followers") ?? (quick ? 0 : 100)),
    socketRounds: quick ? 1 : 4,
    relayKills: quick ? 2 : 4,
    delayRounds: quick ? 1 : 3,
    delayMs: 7_000,
    penaltyRounds: quick ? 1 : 3,
    tokenRounds: quick ? 1 : 3,
    outageMs: 3_000,
    freezeMs: quick ? 8_000 : 20_000,
    outageIntervalMs: 250,
    resendDelayMs: 5_000,
    hostileBodies: Number(arg("bodies") ?? (quick ? 1_000 : 10_000)),
    rawRepeats: quick ? 2 : 8,
    concurrency: 32,
    truthPerBroker: Number(arg("per-broker") ?? (quick ? 1 : 3)),
    manualSettleMs: 3_000,
    brokerDownMs: 10_000,
    longBrokerDownMs: 45_000,
    staleMaxAgeSeconds: 10,
    outageEntryMaxAgeSeconds: 5,
    idRestarts: 2,
    quietTimeoutMs: 180_000,
    graceMs: 15_000,
  };
  console.log(`fault-injection suite, seed ${seed} (replay with --seed ${seed})`);
  const results = await runSuite(plan, (line) => console.log(line));
  await writeFile("fault-results.json", `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${formatReport(results)}\n\nwritten to fault-results.json`);
  const bad = results.lost + results.duplicated + results.fiveXX + results.mismatched;
  if (results.error) console.log(`\nTHE RUN STOPPED EARLY: ${results.error}`);
  process.exit(results.error ? 2 : bad > 0 ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
