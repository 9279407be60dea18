/**
 * Conformance driver for Tradovate and NinjaTrader Brokerage (one adapter, one simulator, two broker
 * kinds): a TradovateSim on loopback, a session built by the Tradovate factory for the given kind.
 */

import type { BrokerEvent } from "../../src/brokers/port";
import { createTradovateFactory } from "../../src/brokers/tradovate";
import { dec, ZERO } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { TradovateSim } from "../../src/sim/tradovate";
import type { ConformanceDriver, HeldOrder, WriteOp } from "./conformance";

const USER = "conformance";
const PASSWORD = "conformance-password-1";
const BALANCE = dec(50_000);
const ENDPOINTS: Record<WriteOp, string> = {
  place: "order/placeorder",
  oco: "order/placeoco",
  modify: "order/modifyorder",
  cancel: "order/cancelorder",
  flatten: "order/liquidateposition",
};

export async function tradovateDriver(kind: "tradovate" | "ninjatrader"): Promise<ConformanceDriver> {
  const sim = new TradovateSim();
  await sim.start();
  const { accounts } = sim.addUser({
    name: USER,
    password: PASSWORD,
    accounts: [{ name: "DEMO24680", balance: BALANCE }],
  });
  const brokerAccount = accounts[0];
  if (!brokerAccount) throw new Error("the simulator created no account");
  const name = sim.front("MNQ");
  sim.setPrice(name, dec("21000"));
  const factory = createTradovateFactory({
    demoUrl: sim.restUrl,
    liveUrl: sim.restUrl,
    mdUrl: sim.mdUrl,
    logger: createLogger({ level: "silent" }),
    requestTimeoutMs: 1_500,
    heartbeatMs: 250,
    reconnectDelaysMs: [20, 100, 200],
    maxPenaltyWaitMs: 5_000,
  });
  const session = factory.create({
    accountId: asAccountId(`conformance-${kind}`),
    name: `${kind} conformance`,
    kind,
    environment: "demo",
    credentials: { username: USER, password: PASSWORD, appId: "conformance", appVersion: "1.0" },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  const contract = await session.contract("MNQ1!");
  const account = asBrokerAccountId(String(brokerAccount.id));
  const venueAccount = String(brokerAccount.id);

  const heldOrder = (clientOrderId: string): HeldOrder | undefined => {
    const o = sim.venue.orderByClientId(clientOrderId);
    if (!o) return undefined;
    return {
      status: o.status,
      side: o.side,
      qty: o.qty,
      ...(o.price !== undefined ? { price: o.price } : {}),
      ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
    };
  };

  return {
    broker: kind,
    session,
    account,
    contract,
    events,
    startingBalance: BALANCE,
    feePerContract: ZERO,
    async setPrice(price) {
      sim.setPrice(contract.name, price);
    },
    heldPosition: () => sim.venue.position(venueAccount, contract.name)?.netPos ?? 0,
    heldOrder,
    received: () =>
      sim.orders().map((o) => ({
        ...(o.clOrdId !== undefined ? { clientOrderId: o.clOrdId } : {}),
        automated: o.isAutomated,
        generated: o.role === "liquidation",
      })),
    duplicates: () => sim.duplicateClOrdIds(),
    faults: {
      swallowNext: (op) => sim.swallowReplies(ENDPOINTS[op], 1),
      async dropConnections() {
        sim.dropSockets();
      },
      restoreConnections: () => undefined,
      rateLimits: [
        { name: "HTTP 429", inject: () => sim.rateLimit("order/placeorder", 1) },
        { name: "penalty ticket", inject: () => sim.penalize("order/placeorder", { pTime: 0.2 }) },
      ],
    },
    async refusal(base) {
      // A limit price off the 0.25 tick: Tradovate answers HTTP 200 with failureReason InvalidPrice.
      return {
        order: { ...base, type: "limit", price: dec("20990.1") },
        words: /20990\.1 is not a multiple of the tick size/,
      };
    },
    async stop() {
      await session.stop();
      await sim.stop();
    },
  };
}
