/**
 * Runs the simulator as a local stand-in for Tradovate (`npm run sim`): a fixed port, one demo user with
 * two accounts, a random-walk price feed, and the URLs and credentials printed for the relay's config.
 */
import { dec } from "../../domain/decimal";
import { TradovateSim } from "./sim";
import type { TradovateSimOptions } from "./types";

export interface StandaloneOptions extends TradovateSimOptions {
  /** Default 8787. */
  port?: number;
  user?: string;
  password?: string;
  /** Where the banner goes; console.log by default. */
  print?: (line: string) => void;
  walkIntervalMs?: number;
}

export interface StandaloneSim {
  sim: TradovateSim;
  stop: () => Promise<void>;
}

export async function startStandalone(options: StandaloneOptions = {}): Promise<StandaloneSim> {
  const { user = "demo", password = "demo", print = console.log, walkIntervalMs, ...simOptions } = options;
  const sim = new TradovateSim({ ...simOptions, port: options.port ?? 8787 });
  await sim.start();
  const ids = sim.addUser({
    name: user,
    password,
    accounts: [
      { name: "DEMO0001", balance: dec(50_000) },
      { name: "DEMO0002", balance: dec(50_000) },
    ],
  });
  sim.startRandomWalk({ intervalMs: walkIntervalMs ?? 500 });
  const lines = [
    "Tradovate simulator running",
    `  REST base        ${sim.restUrl}`,
    `  trading socket   ${sim.wsUrl}`,
    `  market data      ${sim.mdUrl}`,
    "  adapter          demoUrl/liveUrl = the REST base, mdUrl = the market data socket",
    `  login            name=${user} password=${password} (any appId/cid/sec accepted)`,
    `  accounts         ${ids.accounts.map((a) => `${a.name} (id ${a.id})`).join(", ")}`,
    `  front months     ${["MNQ", "NQ", "ES", "MES"].map((r) => sim.front(r)).join(", ")}`,
  ];
  for (const line of lines) print(line);
  return { sim, stop: () => sim.stop() };
}
