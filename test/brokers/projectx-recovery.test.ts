/**
 * ProjectX sessions come back by themselves after the gateway was out of reach (issue 12): the adapter
 * talks to the simulator through a TCP proxy that the tests cut (connections refused, open ones dropped)
 * and restore. Nothing but the session itself calls the gateway in between.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEvent } from "../../src/brokers/port";
import { createProjectXFactory, type ProjectXSession } from "../../src/brokers/projectx";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, asClientOrderId, type BrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { ProjectXSim, type ProjectXSimOptions } from "../../src/sim/projectx";
import { API_KEY, USER } from "../support/projectx-adapter";
import { TcpProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

interface Rig {
  sim: ProjectXSim;
  proxy: TcpProxy;
  session: ProjectXSession;
  events: BrokerEvent[];
  logs: string[];
  account: BrokerAccountId;
  stop(): Promise<void>;
}

let rig: Rig | undefined;

afterEach(async () => {
  const r = rig;
  rig = undefined;
  if (!r) return;
  try {
    const text = r.logs.join("\n");
    expect(text).not.toContain(API_KEY);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
  } finally {
    await r.stop();
  }
});

async function start(sim: ProjectXSimOptions = {}): Promise<Rig> {
  const px = new ProjectXSim({ hubPingMs: 500, ...sim });
  await px.start();
  const { accounts } = px.addUser({
    userName: USER,
    apiKey: API_KEY,
    accounts: [{ name: "PRAC", balance: 50000 }],
  });
  px.setPrice("MNQ", dec("21000"));
  const proxy = new TcpProxy("127.0.0.1", Number(new URL(px.apiUrl).port));
  const port = await proxy.start();
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (l: string) => void logs.push(l) } });
  const factory = createProjectXFactory({
    logger,
    apiUrl: `http://127.0.0.1:${port}`,
    rtcUrl: `ws://127.0.0.1:${port}`,
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    reconnectDelaysMs: [0, 100, 200],
    fillWaitMs: 3_000,
    env: {},
  });
  const session = factory.create({
    accountId: asAccountId("acc-px-recovery"),
    name: "px",
    kind: "projectx",
    environment: "demo",
    credentials: { userName: USER, apiKey: API_KEY },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  await waitFor(() => session.status().state === "ready", "session ready");
  return {
    sim: px,
    proxy,
    session,
    events,
    logs,
    account: asBrokerAccountId(String(accounts[0]?.id)),
    async stop() {
      await session.stop();
      await proxy.stop();
      await px.stop();
    },
  };
}

const states = (events: BrokerEvent[]) =>
  events.flatMap((e) => (e.type === "SessionChanged" ? [e.status.state] : []));
const logged = (logs: string[], event: string) => logs.filter((l) => l.includes(`"event":"${event}"`));

describe("ProjectX recovery", () => {
  it("PX-R01 ProjectX comes back by itself after its gateway is unreachable past its token's lifetime", async () => {
    rig = await start();
    const r = rig;
    const venue = r.session.venue;
    const limit = await r.session.placeOrder({
      clientOrderId: asClientOrderId("px-r01-limit"),
      brokerAccountId: r.account,
      contract: await r.session.contract("MNQ1!"),
      side: "buy",
      qty: 1,
      type: "limit",
      price: dec("20990"),
    });
    if (limit.kind !== "accepted") throw new Error(`limit not accepted: ${JSON.stringify(limit)}`);
    const logins = r.sim.recorder.requestsTo("/api/Auth/loginKey").length;
    const mark = r.events.length;

    r.proxy.cut();
    await waitFor(() => r.session.status().state === "reconnecting", "the session to notice the outage");
    // The order fills while the relay is deaf: the hub never replays it.
    r.sim.setPrice("MNQ", dec("20990"));
    // The token's life ends while the gateway is out of reach; the relay's refresh timer is not due yet
    // (as after a machine that slept, or a gateway that restarted): only the gateway knows.
    r.sim.expireToken(USER);
    await waitFor(() => r.proxy.turnedAway >= 5, "several reconnect attempts while cut off");
    r.proxy.restore();

    await waitFor(() => r.session.status().state === "ready", "ready again", 20_000);
    expect(states(r.events.slice(mark))).toContain("reconnecting");
    expect(states(r.events.slice(mark)).at(-1)).toBe("ready");
    // Re-synced over REST: the fill made while cut off is reported, once.
    const filled = () =>
      r.events.slice(mark).filter((e) => e.type === "OrderFilled" && e.clientOrderId === "px-r01-limit");
    await waitFor(() => filled().length > 0, "the fill made while cut off");
    await waitFor(() => logged(r.logs, "SessionResynced").length > 0, "resync");
    expect(logged(r.logs, "TokenInvalidated").length).toBeGreaterThan(0);
    // One fresh login replaced the refused token; the hub did not log in once per attempt.
    expect(r.sim.recorder.requestsTo("/api/Auth/loginKey").length).toBe(logins + 1);
    expect(r.session.venue).toBe(venue);
    expect(await r.session.positions(r.account)).toMatchObject([{ netPos: 1 }]);
    expect(filled()).toHaveLength(1);
  });

  it("PX-R02 an API key refused after the outage leaves the session in error, without a login per retry", async () => {
    rig = await start();
    const r = rig;
    r.proxy.cut();
    await waitFor(() => r.session.status().state === "reconnecting", "the session to notice the outage");
    r.sim.expireToken(USER);
    // The key was revoked at the firm while the gateway was away.
    r.sim.addUser({ userName: USER, apiKey: "a-new-key-0002", accounts: [] });
    r.proxy.restore();

    await waitFor(() => r.session.status().state === "error", "the refusal to show");
    expect(r.session.status().error).toBe(
      "ProjectX rejected the user name or API key (code 3 InvalidCredentials)",
    );
    const refusals = r.sim.recorder.requestsTo("/api/Auth/loginKey").length;
    const scheduled = logged(r.logs, "ReconnectScheduled").length;
    await waitFor(
      () => logged(r.logs, "ReconnectScheduled").length >= scheduled + 3,
      "the hub to go on retrying",
    );
    expect(r.sim.recorder.requestsTo("/api/Auth/loginKey").length).toBe(refusals);
    expect(r.session.status().state).toBe("error");
  });

  it("PX-R03 venue: kind, environment and REST host; a firm host is its own venue", () => {
    const factory = createProjectXFactory({ logger: createLogger({ level: "silent" }), env: {} });
    const venue = (environment: "demo" | "live", credentials: Record<string, unknown>) =>
      factory.create({ accountId: asAccountId("v"), name: "v", kind: "projectx", environment, credentials })
        .venue;
    const topstep = venue("live", { userName: "a", apiKey: "k" });
    expect(topstep).toBe("projectx:live:api.topstepx.com");
    expect(venue("demo", { userName: "a", apiKey: "k" })).toBe("projectx:demo:api.topstepx.com");
    expect(venue("live", { userName: "b", apiKey: "k2" })).toBe(topstep);
    expect(venue("live", { userName: "a", apiKey: "k", firmHost: "api.alphaticks.projectx.com" })).toBe(
      "projectx:live:api.alphaticks.projectx.com",
    );
  });
});
