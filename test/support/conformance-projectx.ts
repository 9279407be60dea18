/**
 * Conformance driver for ProjectX (TopstepX and other prop firms): a ProjectXSim on loopback (REST and
 * SignalR hubs), a session built by the ProjectX factory. The practice account runs in the gateway's
 * default Position Brackets mode, so OCO exits are linked by the adapter.
 */
import type { BrokerEvent } from "../../src/brokers/port";
import { createProjectXFactory } from "../../src/brokers/projectx";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { ProjectXSim } from "../../src/sim/projectx";
import type { ConformanceDriver, HeldOrder, WriteOp } from "./conformance";

const USER = "conformance";
const API_KEY = "px-conformance-key-0001";
const BALANCE = dec(50_000);
/** The gateway path behind each write, and how many requests it takes (an OCO is two plain orders). */
const PATHS: Record<WriteOp, [string, number]> = {
  place: ["Order/place", 1],
  oco: ["Order/place", 2],
  modify: ["Order/modify", 1],
  cancel: ["Order/cancel", 1],
  flatten: ["Position/closeContract", 1],
};

/** Gateway OrderStatus -> the held-order status (reference A4). */
const STATUS: Record<number, HeldOrder["status"]> = {
  1: "working",
  2: "filled",
  3: "cancelled",
  4: "cancelled",
  5: "rejected",
  6: "working",
  7: "working",
  8: "held",
};

const price = (n: number | null) => (n === null ? undefined : dec(String(n)));

export async function projectxDriver(): Promise<ConformanceDriver> {
  const sim = new ProjectXSim({ hubPingMs: 500 });
  await sim.start();
  const { accounts } = sim.addUser({
    userName: USER,
    apiKey: API_KEY,
    accounts: [{ name: "PRAC-CONF", balance: 50_000, autoOco: false }],
  });
  const simAccount = accounts[0];
  if (!simAccount) throw new Error("the simulator created no account");
  sim.setPrice("MNQ", dec("21000"));
  const factory = createProjectXFactory({
    logger: createLogger({ level: "silent" }),
    apiUrl: sim.apiUrl,
    rtcUrl: sim.rtcUrl,
    requestTimeoutMs: 1_500,
    reconnectDelaysMs: [0, 100, 200],
    fillWaitMs: 3_000,
    env: {},
  });
  const session = factory.create({
    accountId: asAccountId("conformance-projectx"),
    name: "projectx conformance",
    kind: "projectx",
    environment: "demo",
    credentials: { userName: USER, apiKey: API_KEY },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  const contract = await session.contract("MNQ1!");
  const contractId = sim.contractId(contract.name);

  return {
    broker: "projectx",
    session,
    account: asBrokerAccountId(String(simAccount.id)),
    contract,
    events,
    startingBalance: BALANCE,
    // The simulator's fee for a micro (reference A6: realized P&L and balance are net of fees).
    feePerContract: dec("0.37"),
    async setPrice(p) {
      sim.setPrice(contractId, p);
    },
    heldPosition() {
      const p = sim.positions(simAccount.id).find((row) => row.contractId === contractId);
      if (!p) return 0;
      return p.type === 2 ? -p.size : p.size;
    },
    heldOrder(clientOrderId) {
      const o = sim.orders(simAccount.id).find((row) => row.customTag === clientOrderId);
      if (!o) return undefined;
      const limit = price(o.limitPrice);
      const stop = price(o.stopPrice);
      return {
        status: STATUS[o.status] ?? "rejected",
        side: o.side === 0 ? "buy" : "sell",
        qty: o.size,
        ...(limit !== undefined ? { price: limit } : {}),
        ...(stop !== undefined ? { stopPrice: stop } : {}),
      };
    },
    received: () =>
      sim
        .orders(simAccount.id)
        .filter((o) => o.status !== 5)
        .map((o) => ({
          ...(o.customTag !== null ? { clientOrderId: o.customTag } : {}),
          generated: o.customTag === null,
        })),
    duplicates: () => sim.duplicateCustomTags().map((d) => d.customTag),
    faults: {
      swallowNext: (op) => sim.swallowReplies(PATHS[op][0], PATHS[op][1]),
      async dropConnections() {
        sim.dropHubSockets();
      },
      restoreConnections: () => undefined,
      rateLimits: [{ name: "HTTP 429", inject: () => sim.rateLimitNow(1) }],
    },
    async refusal(base) {
      // An account the firm has stopped: Order/place answers success:false, code 4, in its own words.
      sim.setCanTrade(simAccount.id, false);
      return { order: base, words: /Account is not allowed to trade\./ };
    },
    async stop() {
      await session.stop();
      await sim.stop();
    },
  };
}
