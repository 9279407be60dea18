/**
 * `npm run sim`: the broker simulators on loopback, for rehearsing alerts without a broker account.
 * Tradovate on 8787, ProjectX on 8788, Webull on 8789 (override with SIM_*_PORT). Each prints its URLs
 * and demo credentials; start the relay with the printed variables, create an account with them, and
 * every order lands in the simulator's matching engine with a random-walk market.
 */
import { startStandalone as projectx } from "../src/sim/projectx/index";
import { startStandalone as tradovate } from "../src/sim/tradovate/index";
import { startStandalone as webull } from "../src/sim/webull/index";

const port = (name: string, fallback: number) => Number(process.env[`SIM_${name}_PORT`] ?? fallback);

async function main(): Promise<void> {
  const sims = [
    await tradovate({ port: port("TRADOVATE", 8787) }),
    await projectx({ port: port("PROJECTX", 8788) }),
    await webull({ port: port("WEBULL", 8789) }),
  ];
  process.stdout.write("\nSimulators running; Ctrl-C stops them.\n");
  const stop = async () => {
    await Promise.all(sims.map((s) => s.stop()));
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
