/**
 * Tradovate sessions come back by themselves after the gateway was out of reach (issue 12): trading
 * socket, market data socket and REST token upkeep, through a TCP proxy the tests cut and restore. Cut,
 * the proxy refuses connections, or answers every request like an ingress whose backend is gone.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEvent, BrokerSession, OrderOutcome } from "../../src/brokers/port";
import { createTradovateFactory, type TradovateFactoryOptions } from "../../src/brokers/tradovate";
import { type ContractSpec, specFromTable } from "../../src/domain/contract";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, type BrokerAccountId, clientOrderId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { TradovateSim, type TradovateSimOptions } from "../../src/sim/tradovate";
import { TcpProxy } from "../support/tcp-proxy";
import { CREDENTIALS, PASSWORD, SEC, USER } from "../support/tradovate-harness";
import { waitFor } from "../support/wait";

interface Rig {
  sim: TradovateSim;
  proxy: TcpProxy;
  session: BrokerSession;
  events: BrokerEvent[];
  logs: string[];
  account: BrokerAccountId;
  mnq: ContractSpec;
  stop(): Promise<void>;
}

let rig: Rig | undefined;

afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (!r) return;
  try {
    const text = r.logs.join("");
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(SEC);
    expect(r.sim.duplicateClOrdIds()).toEqual([]);
  } finally {
    await r.stop();
  }
});

async function start(
  simOptions: TradovateSimOptions,
  factoryOptions: Partial<TradovateFactoryOptions> = {},
): Promise<Rig> {
  const sim = new TradovateSim(simOptions);
  await sim.start();
  const ids = sim.addUser({
    name: USER,
    password: PASSWORD,
    cid: 8,
    sec: SEC,
    accounts: [{ name: "DEMO12345", balance: dec(50000) }],
  });
  const proxy = new TcpProxy("127.0.0.1", sim.port);
  const port = await proxy.start();
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (l: string) => void logs.push(l) } });
  const factory = createTradovateFactory({
    demoUrl: `http://127.0.0.1:${port}/v1`,
    liveUrl: `http://127.0.0.1:${port}/v1`,
    mdUrl: `ws://127.0.0.1:${port}/md/v1/websocket`,
    logger,
    requestTimeoutMs: 600,
    connectTimeoutMs: 2000,
    heartbeatMs: 200,
    reconnectDelaysMs: [20, 100, 200],
    ...factoryOptions,
  });
  const session = factory.create({
    accountId: asAccountId("acc-tv-recovery"),
    name: "tv",
    kind: "tradovate",
    environment: "demo",
    credentials: CREDENTIALS,
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  await waitFor(() => session.status().state === "ready", "session ready");
  const entry = sim.contract("MNQ");
  const table = specFromTable(entry.contract.name);
  if (!table) throw new Error("MNQ missing from the product table");
  sim.setPrice(entry.contract.name, dec("21000"));
  return {
    sim,
    proxy,
    session,
    events,
    logs,
    account: asBrokerAccountId(String(ids.accounts[0]?.id)),
    mnq: { ...table, brokerContractId: String(entry.contract.id) },
    async stop() {
      await session.stop();
      await proxy.stop();
      await sim.stop();
    },
  };
}

const accepted = (o: OrderOutcome) => {
  if (o.kind !== "accepted") throw new Error(`expected accepted, got ${JSON.stringify(o)}`);
  return o;
};
const states = (events: BrokerEvent[]) =>
  events.flatMap((e) => (e.type === "SessionChanged" ? [e.status.state] : []));
const quotes = (events: BrokerEvent[]) => events.filter((e) => e.type === "QuoteReceived");

describe("Tradovate recovery", () => {
  it("TV-R01 Tradovate comes back by itself after its gateway is unreachable past its token's lifetime", async () => {
    rig = await start({ tokenLifetimeMs: 2_000, heartbeatTimeoutMs: 3_000 });
    const r = rig;
    await r.session.subscribeQuotes(r.mnq);
    await waitFor(() => quotes(r.events).length > 0, "a first quote");
    const limit = accepted(
      await r.session.placeOrder({
        clientOrderId: clientOrderId("tv-r01", "trader-1", "entry"),
        brokerAccountId: r.account,
        contract: r.mnq,
        side: "buy",
        qty: 1,
        type: "limit",
        price: dec("20990"),
      }),
    );
    const logins = r.sim.requests({ endpoint: "auth/accesstokenrequest" }).length;
    const mark = r.events.length;

    r.proxy.cut();
    await waitFor(() => r.session.status().state === "reconnecting", "the session to notice the outage");
    r.sim.setPrice(r.mnq.name, dec("20990"));
    // Cut off past the token's life: its renewal cannot reach the gateway, it runs out (the reconnects
    // try to log in again, which cannot reach the gateway either), and the gateway no longer takes it.
    const logged = r.logs.length;
    await waitFor(
      () =>
        r.logs
          .slice(logged)
          .some((l) => l.includes('"event":"SessionConnectFailed"') && l.includes("could not be reached")),
      "the token to run out while cut off",
    );
    r.sim.expireToken(USER);
    r.proxy.restore();

    await waitFor(() => r.session.status().state === "ready", "ready again", 20_000);
    expect(states(r.events.slice(mark))).toContain("reconnecting");
    expect(states(r.events.slice(mark)).at(-1)).toBe("ready");
    // A fresh login for the expired token; the trading socket re-synced the fill made while cut off.
    expect(r.sim.requests({ endpoint: "auth/accesstokenrequest" }).length).toBeGreaterThan(logins);
    await waitFor(
      () =>
        r.events.slice(mark).some((e) => e.type === "OrderFilled" && e.brokerOrderId === limit.brokerOrderId),
      "the fill made while cut off",
    );
    // The market data socket is back and subscribed again.
    const before = quotes(r.events).length;
    await waitFor(() => {
      r.sim.setPrice(r.mnq.name, dec(quotes(r.events).length % 2 === 0 ? "20995" : "20996"));
      return quotes(r.events).length > before;
    }, "quotes after the outage");
    expect((await r.session.positions(r.account)).map((p) => p.netPos)).toEqual([1]);
  });

  it("TV-R02 a gateway answering 404 while its backend is away is an outage, not a refused login", async () => {
    // A short first login pause (the knob behind the documented 15 s) keeps the test quick.
    rig = await start({ tokenLifetimeMs: 1_500, heartbeatTimeoutMs: 3_000 }, { loginRetryMs: 200 });
    const r = rig;
    const mark = r.events.length;
    const logins = r.sim.requests({ endpoint: "auth/accesstokenrequest" }).length;
    // An ingress with no backend answers 404 to every request: the socket upgrades, the token renewal and
    // the login the session tries as its short-lived token runs out.
    r.proxy.cut({ answer: 404 });
    await waitFor(
      () => r.proxy.answered.filter((line) => line.includes("/auth/accesstokenrequest")).length >= 2,
      "logins answered 404 while cut off",
    );
    r.sim.expireToken(USER);
    r.proxy.restore();

    await waitFor(() => r.session.status().state === "ready", "ready again", 20_000);
    expect(states(r.events.slice(mark))).not.toContain("error");
    expect(r.sim.requests({ endpoint: "auth/accesstokenrequest" }).length).toBe(logins + 1);
    const deferred = r.logs.filter((l) => l.includes('"event":"LoginDeferred"')).map((l) => JSON.parse(l));
    expect(deferred.length).toBeGreaterThan(0);
    for (const d of deferred) expect(d).toMatchObject({ why: "outage", delayMs: expect.any(Number) });
    // 200 ms doubling: the pause grows while the outage lasts, and never past the 30 s cap.
    expect(deferred.map((d) => d.delayMs).slice(0, 2)).toEqual([200, 400]);
    for (const d of deferred) expect(d.delayMs).toBeLessThanOrEqual(30_000);
  });

  it("TV-R04 venue: kind, environment and REST host; a login reconnecting keeps it", () => {
    const factory = createTradovateFactory({
      demoUrl: "https://demo.tradovateapi.com/v1",
      liveUrl: "https://live.tradovateapi.com/v1",
      mdUrl: "wss://md.tradovateapi.com/v1/websocket",
      logger: createLogger({ level: "silent" }),
    });
    const venue = (kind: "tradovate" | "ninjatrader", environment: "demo" | "live") =>
      factory.create({ accountId: asAccountId("v"), name: "v", kind, environment, credentials: CREDENTIALS })
        .venue;
    expect(venue("tradovate", "demo")).toBe("tradovate:demo:demo.tradovateapi.com");
    expect(venue("tradovate", "live")).toBe("tradovate:live:live.tradovateapi.com");
    expect(venue("ninjatrader", "demo")).toBe("ninjatrader:demo:demo.tradovateapi.com");
  });
});
