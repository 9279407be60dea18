/**
 * Conformance driver for Webull: a WebullSim on loopback behind a TCP forwarder, a session built by the
 * Webull factory. Webull has no sockets to drop (events come by polling), so a dropped connection is the
 * forwarder cutting every HTTP connection and refusing new ones until restored.
 */
import type { BrokerEvent } from "../../src/brokers/port";
import { createWebullFactory } from "../../src/brokers/webull";
import { dec, ZERO } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { WebullSim } from "../../src/sim/webull";
import type { ConformanceDriver, HeldOrder, WriteOp } from "./conformance";
import { TcpProxy } from "./tcp-proxy";

const ACCOUNT = "WBCONF0001";
const APP_SECRET = "conformance-app-secret-7c1d";
const PLACE = "/openapi/trade/order/place";
const BALANCE = dec(50_000);
/** The endpoint behind each write, and how many requests it takes (an OCO is two plain orders). */
const PATHS: Record<WriteOp, [string, number]> = {
  place: [PLACE, 1],
  oco: [PLACE, 2],
  modify: ["/openapi/trade/order/replace", 1],
  cancel: ["/openapi/trade/order/cancel", 1],
  flatten: [PLACE, 1],
};

let apps = 0;

export async function webullDriver(): Promise<ConformanceDriver> {
  const sim = new WebullSim();
  await sim.start();
  const appKey = `conformance-app-${process.pid}-${++apps}`;
  sim.addApp({ appKey, appSecret: APP_SECRET, accounts: [{ accountId: ACCOUNT, balance: BALANCE }] });
  const simUrl = new URL(sim.baseUrl);
  const proxy = new TcpProxy(simUrl.hostname, Number(simUrl.port));
  const port = await proxy.start();
  const factory = createWebullFactory({
    logger: createLogger({ level: "silent" }),
    baseUrl: `http://127.0.0.1:${port}`,
    requestTimeoutMs: 1_500,
    pollIntervalMs: 50,
  });
  const session = factory.create({
    accountId: asAccountId("conformance-webull"),
    name: "webull conformance",
    kind: "webull",
    environment: "live",
    credentials: { appKey, appSecret: APP_SECRET, accountId: ACCOUNT },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  const contract = await session.contract("MNQ1!");
  sim.setPrice(contract.name, dec("21000"));

  return {
    broker: "webull",
    session,
    account: asBrokerAccountId(ACCOUNT),
    contract,
    events,
    startingBalance: BALANCE,
    feePerContract: ZERO,
    async setPrice(price) {
      sim.setPrice(contract.name, price);
    },
    heldPosition: () => sim.venue.position(ACCOUNT, contract.name)?.netPos ?? 0,
    heldOrder(clientOrderId): HeldOrder | undefined {
      const o = sim.ordersFor(clientOrderId)[0]?.order;
      if (!o) return undefined;
      return {
        status: o.status,
        side: o.side,
        qty: o.qty,
        ...(o.price !== undefined ? { price: o.price } : {}),
        ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
      };
    },
    received: () => sim.orders().map((o) => ({ clientOrderId: o.clientOrderId, generated: false })),
    duplicates: () => sim.duplicateClientOrderIds(),
    faults: {
      swallowNext: (op) => sim.swallowReplies(PATHS[op][0], PATHS[op][1]),
      async dropConnections() {
        proxy.cut();
      },
      restoreConnections: () => proxy.restore(),
      rateLimits: [{ name: "HTTP 429", inject: () => sim.rateLimit(PLACE, 1) }],
    },
    async refusal(base) {
      // A limit price off the 0.25 tick: Webull answers 417 INVALID_PRICE in its own words.
      return {
        order: { ...base, type: "limit", price: dec("20990.1") },
        words: /INVALID_PRICE.*price must be a positive multiple of 0\.25/,
      };
    },
    async stop() {
      await session.stop();
      await proxy.stop();
      await sim.stop();
    },
  };
}
