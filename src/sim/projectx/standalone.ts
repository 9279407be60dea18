/**
 * A ProjectX simulator for manual runs (scripts/sim.ts): a demo user with two accounts and random-walk
 * prices on a few front months. Prints where it listens and how to log in.
 */
import { randomInt } from "node:crypto";
import { add, type Dec, dec, times } from "../../domain/decimal";
import { ProjectXSim } from "./sim";

export interface StandaloneOptions {
  port?: number;
  tickMs?: number;
  print?: (line: string) => void;
}

export interface StandaloneSim {
  sim: ProjectXSim;
  apiUrl: string;
  rtcUrl: string;
  userName: string;
  apiKey: string;
  accounts: { id: number; name: string }[];
  stop(): Promise<void>;
}

const START_PRICES: Record<string, string> = {
  MNQ: "21000",
  NQ: "21000",
  MES: "6000",
  ES: "6000",
  MYM: "44000",
  MGC: "2400",
  GC: "2400",
  MCL: "75",
  CL: "75",
};

export async function startStandalone(options: StandaloneOptions = {}): Promise<StandaloneSim> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const sim = new ProjectXSim({ ...(options.port !== undefined ? { port: options.port } : {}) });
  await sim.start();
  const userName = "demo";
  const apiKey = "demo-api-key";
  const { accounts } = sim.addUser({
    userName,
    apiKey,
    accounts: [
      { name: "PRAC-DEMO-AUTOOCO", balance: 50000, autoOco: true },
      { name: "PRAC-DEMO-POSBRK", balance: 50000, autoOco: false },
    ],
  });
  const prices = new Map<string, Dec>();
  for (const [root, price] of Object.entries(START_PRICES)) {
    prices.set(root, dec(price));
    sim.setPrice(root, dec(price));
  }
  const timer = setInterval(() => {
    for (const [root, price] of prices) {
      const next = add(price, times(sim.contract(root).tickSize, randomInt(-2, 3)));
      prices.set(root, next);
      sim.setPrice(root, next);
    }
  }, options.tickMs ?? 1000);
  print(`ProjectX simulator REST ${sim.apiUrl}  hubs ${sim.rtcUrl}/hubs/user, ${sim.rtcUrl}/hubs/market`);
  print(`  PROJECTX_API_URL=${sim.apiUrl} PROJECTX_RTC_URL=${sim.rtcUrl}`);
  print(`  login: userName=${userName} apiKey=${apiKey}`);
  for (const a of accounts) print(`  account ${a.id} ${a.name}`);
  return {
    sim,
    apiUrl: sim.apiUrl,
    rtcUrl: sim.rtcUrl,
    userName,
    apiKey,
    accounts,
    async stop() {
      clearInterval(timer);
      await sim.stop();
    },
  };
}
