/**
 * The Tradovate simulator in its own process for benchmarks, so its work is not billed to the relay.
 * Driven over IPC: { id, cmd, ... } -> { id, ok, result | error }.
 */
import { dec } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate/index";

type Command =
  | { id: number; cmd: "start" }
  | { id: number; cmd: "addUsers"; prefix: string; from: number; count: number }
  | { id: number; cmd: "setPrice"; symbol: string; price: string }
  | { id: number; cmd: "front"; root: string }
  | { id: number; cmd: "stats" }
  | { id: number; cmd: "stop" };

const sim = new TradovateSim({ heartbeatTimeoutMs: 60_000, authorizeTimeoutMs: 60_000 });

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case "start":
      await sim.start();
      return { restUrl: sim.restUrl, wsUrl: sim.wsUrl, mdUrl: sim.mdUrl };
    case "addUsers": {
      const out: { name: string; password: string; accountId: number }[] = [];
      for (let i = c.from; i < c.from + c.count; i++) {
        const name = `${c.prefix}${i}`;
        const ids = sim.addUser({
          name,
          password: `pw-${name}`,
          accounts: [{ name: `BENCH${i}`, balance: dec(1_000_000) }],
        });
        out.push({ name, password: `pw-${name}`, accountId: ids.accounts[0]?.id ?? 0 });
      }
      return out;
    }
    case "setPrice":
      sim.setPrice(c.symbol, dec(c.price));
      return null;
    case "front":
      return sim.front(c.root);
    case "stats":
      return {
        orders: sim.orders().length,
        duplicates: sim.duplicateClOrdIds().length,
        openTrading: sim.openConnections("trading").length,
      };
    case "stop":
      await sim.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on("message", (message) => {
  const c = message as Command;
  handle(c).then(
    (result) => process.send?.({ id: c.id, ok: true, result }),
    (error) => process.send?.({ id: c.id, ok: false, error: String(error) }),
  );
});
