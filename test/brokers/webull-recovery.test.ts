/**
 * Webull sessions come back by themselves after the API was out of reach (issue 12). Webull has no socket:
 * the session polls signed REST, so an outage is the poller failing round after round (its pause doubling
 * up to 30 s) until the API answers again, when the next round re-reads orders, positions and cash.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BACKOFF_MS } from "../../src/brokers/backoff";
import type { BrokerEvent, BrokerSession } from "../../src/brokers/port";
import { createWebullFactory } from "../../src/brokers/webull";
import { MAX_POLL_BACKOFF_MS } from "../../src/brokers/webull/config";
import type { ContractSpec } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, asClientOrderId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { WebullSim } from "../../src/sim/webull";
import { TcpProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

const ACCOUNT = "WBREC0001";
const APP_KEY = "recovery-app-key";
const APP_SECRET = "recovery-app-secret-9f2e";

interface Rig {
  sim: WebullSim;
  proxy: TcpProxy;
  session: BrokerSession;
  events: BrokerEvent[];
  logs: string[];
  contract: ContractSpec;
  stop(): Promise<void>;
}

let rig: Rig | undefined;

afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (!r) return;
  try {
    expect(r.logs.join("")).not.toContain(APP_SECRET);
    expect(r.sim.duplicateClientOrderIds()).toEqual([]);
  } finally {
    await r.stop();
  }
});

async function start(): Promise<Rig> {
  const sim = new WebullSim();
  await sim.start();
  sim.addApp({
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    accounts: [{ accountId: ACCOUNT, balance: dec(50_000) }],
  });
  const proxy = new TcpProxy("127.0.0.1", Number(new URL(sim.baseUrl).port));
  const port = await proxy.start();
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (l: string) => void logs.push(l) } });
  const session = createWebullFactory({
    logger,
    baseUrl: `http://127.0.0.1:${port}`,
    requestTimeoutMs: 1_000,
    pollIntervalMs: 50,
  }).create({
    accountId: asAccountId("acc-wb-recovery"),
    name: "wb",
    kind: "webull",
    environment: "live",
    credentials: { appKey: APP_KEY, appSecret: APP_SECRET, accountId: ACCOUNT },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  await waitFor(() => session.status().state === "ready", "session ready");
  const contract = await session.contract("MNQ1!");
  sim.setPrice(contract.name, dec("21000"));
  return {
    sim,
    proxy,
    session,
    events,
    logs,
    contract,
    async stop() {
      await session.stop();
      await proxy.stop();
      await sim.stop();
    },
  };
}

const states = (events: BrokerEvent[]) =>
  events.flatMap((e) => (e.type === "SessionChanged" ? [e.status.state] : []));

describe("Webull recovery", () => {
  it("WB-R01 Webull comes back by itself after its API is unreachable for several back-off steps", async () => {
    rig = await start();
    const r = rig;
    const venue = r.session.venue;
    const placed = await r.session.placeOrder({
      clientOrderId: asClientOrderId("wb-r01-limit"),
      brokerAccountId: asBrokerAccountId(ACCOUNT),
      contract: r.contract,
      side: "buy",
      qty: 1,
      type: "limit",
      price: dec("20990"),
    });
    expect(placed.kind).toBe("accepted");
    await waitFor(
      () => r.events.some((e) => e.type === "OrderUpdated" && e.order.clientOrderId === "wb-r01-limit"),
      "the order polled",
    );
    const mark = r.events.length;

    r.proxy.cut();
    await waitFor(() => r.session.status().state === "reconnecting", "the session to notice the outage");
    r.sim.setPrice(r.contract.name, dec("20990"));
    // Several polling rounds fail while cut off, each pause longer than the one before.
    await waitFor(() => r.proxy.turnedAway >= 5, "several polling rounds while cut off");
    r.proxy.restore();

    await waitFor(() => r.session.status().state === "ready", "ready again", 40_000);
    expect(states(r.events.slice(mark))).toContain("reconnecting");
    expect(states(r.events.slice(mark)).at(-1)).toBe("ready");
    await waitFor(
      () => r.events.slice(mark).some((e) => e.type === "OrderFilled" && e.clientOrderId === "wb-r01-limit"),
      "the fill made while cut off",
    );
    await waitFor(
      () => r.events.slice(mark).some((e) => e.type === "PositionChanged" && e.position.netPos === 1),
      "the position re-read",
    );
    expect(r.session.venue).toBe(venue);
  });

  it("WB-R03 venue: kind, environment and API host; the poller's pause never exceeds the 30 s cap", () => {
    const logger = createLogger({ level: "silent" });
    const credentials = { appKey: "k", appSecret: "s" };
    const live = createWebullFactory({ logger });
    expect(
      live.create({
        accountId: asAccountId("v"),
        name: "v",
        kind: "webull",
        environment: "live",
        credentials,
      }).venue,
    ).toBe("webull:live:api.webull.com");
    const demo = createWebullFactory({ logger, demoBaseUrl: "https://paper.example.com" });
    expect(
      demo.create({
        accountId: asAccountId("v"),
        name: "v",
        kind: "webull",
        environment: "demo",
        credentials,
      }).venue,
    ).toBe("webull:demo:paper.example.com");
    expect(MAX_POLL_BACKOFF_MS).toBeLessThanOrEqual(MAX_BACKOFF_MS);
  });
});
