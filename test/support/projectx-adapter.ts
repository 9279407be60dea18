/** A ProjectX simulator with an adapter session pointed at it, for the adapter scenarios. */

import type { BrokerEvent, OrderRequest } from "../../src/brokers/port";
import {
  createProjectXFactory,
  type ProjectXFactoryOptions,
  type ProjectXSession,
} from "../../src/brokers/projectx";
import { type ContractSpec, specFromTable } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, asClientOrderId, type BrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { ProjectXSim, type ProjectXSimOptions } from "../../src/sim/projectx";

export const USER = "jdoe";
export const API_KEY = "px-secret-key-0001";

export interface Harness {
  sim: ProjectXSim;
  session: ProjectXSession;
  events: BrokerEvent[];
  logs: string[];
  /** Auto OCO Brackets account. */
  auto: BrokerAccountId;
  /** Position Brackets account. */
  pos: BrokerAccountId;
  mnq: ContractSpec;
  order(overrides: Omit<Partial<OrderRequest>, "clientOrderId"> & { clientOrderId: string }): OrderRequest;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  sim?: ProjectXSimOptions;
  adapter?: Partial<ProjectXFactoryOptions>;
  credentials?: Record<string, unknown>;
  start?: boolean;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = new ProjectXSim({ hubPingMs: 500, ...options.sim });
  await sim.start();
  const { accounts } = sim.addUser({
    userName: USER,
    apiKey: API_KEY,
    accounts: [
      { name: "PRAC-AUTO", balance: 50000 },
      { name: "PRAC-POS", balance: 50000, autoOco: false },
    ],
  });
  sim.setPrice("MNQ", dec("21000"));
  sim.setPrice("MES", dec("6000"));
  const logs: string[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (line: string) => void logs.push(line) },
  });
  const factory = createProjectXFactory({
    logger,
    apiUrl: sim.apiUrl,
    rtcUrl: sim.rtcUrl,
    requestTimeoutMs: 2_000,
    reconnectDelaysMs: [0, 100, 200],
    fillWaitMs: 3_000,
    env: {},
    ...options.adapter,
  });
  const session = factory.create({
    accountId: asAccountId("acc-px"),
    name: "px",
    kind: "projectx",
    environment: "demo",
    credentials: options.credentials ?? { userName: USER, apiKey: API_KEY },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  if (options.start !== false) await session.start();
  // A session that could not log in has no contract lookup; tests then use the table spec.
  const mnq = (await session.contract("MNQ1!").catch(() => undefined)) ?? specFromTable("MNQ1!");
  if (!mnq) throw new Error("no MNQ spec");
  const auto = asBrokerAccountId(String(accounts[0]?.id));
  const pos = asBrokerAccountId(String(accounts[1]?.id));
  return {
    sim,
    session,
    events,
    logs,
    auto,
    pos,
    mnq,
    order: (o) => ({
      brokerAccountId: auto,
      contract: mnq,
      side: "buy",
      qty: 1,
      type: "market",
      ...o,
      clientOrderId: asClientOrderId(o.clientOrderId),
    }),
    async stop() {
      await session.stop();
      await sim.stop();
    },
  };
}
