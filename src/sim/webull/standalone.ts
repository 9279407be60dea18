/**
 * A Webull simulator for manual runs (`npm run sim` via scripts/sim.ts): one demo app with two accounts
 * and random-walk prices for a few front-month futures and one equity.
 */
import { randomBytes } from "node:crypto";
import { specFromTable } from "../../domain/contract";
import { add, type Dec, dec, roundToStep, times } from "../../domain/decimal";
import { WebullSim } from "./sim";

export interface StandaloneOptions {
  port?: number;
  /** Milliseconds between price steps (default 500). */
  tickMs?: number;
  print?: (line: string) => void;
  now?: () => number;
}

export interface StandaloneWebull {
  sim: WebullSim;
  appKey: string;
  appSecret: string;
  accountIds: string[];
  stop(): Promise<void>;
}

export async function startStandalone(options: StandaloneOptions = {}): Promise<StandaloneWebull> {
  const now = options.now ?? Date.now;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const sim = new WebullSim({ now, ...(options.port !== undefined ? { port: options.port } : {}) });
  await sim.start();
  const appKey = `demo-${randomBytes(6).toString("hex")}`;
  const appSecret = randomBytes(16).toString("hex");
  const accountIds = ["WBDEMO0001", "WBDEMO0002"];
  sim.addApp({
    appKey,
    appSecret,
    accounts: accountIds.map((accountId) => ({ accountId, balance: "50000" })),
  });

  const at = new Date(now());
  const walkers: { symbol: string; price: Dec; tick: Dec }[] = [];
  for (const [root, start] of [
    ["MNQ1!", "21000"],
    ["ES1!", "6000"],
    ["MES1!", "6000"],
  ] as const) {
    const spec = specFromTable(root, at);
    if (spec) walkers.push({ symbol: spec.name, price: dec(start), tick: spec.tickSize });
  }
  walkers.push({ symbol: "AAPL", price: dec("190"), tick: dec("0.01") });
  for (const w of walkers) sim.setPrice(w.symbol, w.price);

  const timer = setInterval(() => {
    for (const w of walkers) {
      const steps = Math.floor(Math.random() * 5) - 2;
      w.price = roundToStep(add(w.price, times(w.tick, steps)), w.tick);
      if (w.price > 0n) sim.setPrice(w.symbol, w.price);
    }
  }, options.tickMs ?? 500);

  print(`Webull simulator listening on ${sim.baseUrl}`);
  print(`  WEBULL_API_URL=${sim.baseUrl}`);
  print(`  appKey=${appKey} appSecret=${appSecret} (simulator-only demo credentials)`);
  print(`  accounts=${accountIds.join(",")} symbols=${walkers.map((w) => w.symbol).join(",")}`);

  return {
    sim,
    appKey,
    appSecret,
    accountIds,
    async stop() {
      clearInterval(timer);
      await sim.stop();
    },
  };
}
