/**
 * Adapter-against-simulator harness: a TradovateSim with one user and two accounts, a factory pointed at
 * it with short timeouts, a session, its events and every log line.
 */

import type { BrokerEvent, BrokerSession, OrderRequest } from "../../src/brokers/port";
import {
  createTradovateFactory,
  type TradovateFactory,
  type TradovateFactoryOptions,
} from "../../src/brokers/tradovate";
import { type ContractSpec, specFromTable } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, type BrokerAccountId, clientOrderId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { TradovateSim, type TradovateSimOptions } from "../../src/sim/tradovate";

export const USER = "jdoe";
export const PASSWORD = "correct horse battery";
export const SEC = "f03741b6-f634-48d6-9308-c8fb871150c2";
export const CREDENTIALS = {
  username: USER,
  password: PASSWORD,
  appId: "relay-test",
  appVersion: "1.0",
  cid: 8,
  sec: SEC,
};

export interface Harness {
  sim: TradovateSim;
  factory: TradovateFactory;
  session: BrokerSession;
  events: BrokerEvent[];
  logs: string[];
  account: BrokerAccountId;
  account2: BrokerAccountId;
  /** Front-month MNQ as the sim lists it, with the sim's contract id. */
  mnq: ContractSpec;
  newSession(accountId: string, credentials?: Record<string, unknown>): BrokerSession;
  stop(): Promise<void>;
}

export async function startHarness(
  simOptions: TradovateSimOptions = {},
  factoryOptions: Partial<TradovateFactoryOptions> = {},
  credentials: Record<string, unknown> = CREDENTIALS,
): Promise<Harness> {
  const sim = new TradovateSim(simOptions);
  await sim.start();
  const ids = sim.addUser({
    name: USER,
    password: PASSWORD,
    cid: 8,
    sec: SEC,
    accounts: [
      { name: "DEMO12345", balance: dec(50000) },
      { name: "DEMO67890", balance: dec(25000) },
    ],
  });
  const logs: string[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (line: string) => void logs.push(line) },
  });
  const factory = createTradovateFactory({
    demoUrl: sim.restUrl,
    liveUrl: sim.restUrl,
    mdUrl: sim.mdUrl,
    logger,
    requestTimeoutMs: 600,
    connectTimeoutMs: 2000,
    heartbeatMs: 200,
    reconnectDelaysMs: [20, 100, 200],
    ...factoryOptions,
  });
  const sessions: BrokerSession[] = [];
  const newSession = (accountId: string, creds: Record<string, unknown> = credentials) => {
    const s = factory.create({
      accountId: asAccountId(accountId),
      name: `${USER} demo`,
      kind: "tradovate",
      environment: "demo",
      credentials: creds,
    });
    sessions.push(s);
    return s;
  };
  const session = newSession("acc-1");
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  const entry = sim.contract("MNQ");
  const table = specFromTable(entry.contract.name);
  if (!table) throw new Error("MNQ missing from the product table");
  const [a1, a2] = ids.accounts;
  if (!a1 || !a2) throw new Error("accounts missing");
  return {
    sim,
    factory,
    session,
    events,
    logs,
    account: asBrokerAccountId(String(a1.id)),
    account2: asBrokerAccountId(String(a2.id)),
    mnq: { ...table, brokerContractId: String(entry.contract.id) },
    newSession,
    stop: async () => {
      for (const s of sessions) await s.stop();
      await sim.stop();
    },
  };
}

let counter = 0;

/** A port order request with a fresh deterministic client order id. */
export function order(
  h: Pick<Harness, "account" | "mnq">,
  fields: Partial<OrderRequest> & Pick<OrderRequest, "side" | "type">,
  leg = "entry",
): OrderRequest {
  counter++;
  return {
    clientOrderId: clientOrderId(`signal-${process.pid}-${counter}`, "trader-1", leg),
    brokerAccountId: h.account,
    contract: h.mnq,
    qty: 1,
    ...fields,
  };
}
