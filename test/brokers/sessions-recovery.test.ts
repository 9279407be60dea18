/**
 * Pre-warmed sessions come back by themselves (issue 12): a relay starts while every broker is out of
 * reach (each simulator behind a cut TCP proxy), so every pre-warmed session's first start fails; each
 * broker is then restored and its session must be ready, and its account connected, with nobody using it.
 * A ready session that loses its broker afterwards is reported lost, then restored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import type { RelayEvent } from "../../src/events";
import { ProjectXSim } from "../../src/sim/projectx";
import { TradovateSim } from "../../src/sim/tradovate";
import { WebullSim } from "../../src/sim/webull";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { TcpProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

type Broker = "tradovate" | "projectx" | "webull";

let db: TestDatabase;
let tv: TradovateSim;
let px: ProjectXSim;
let wb: WebullSim;
const proxies = {} as Record<Broker, TcpProxy>;
const accounts = {} as Record<Broker, string>;
let relay: TestRelay | undefined;
const events: RelayEvent[] = [];

const PX_KEY = "recovery-px-key-0001";

async function proxied(port: number): Promise<[TcpProxy, number]> {
  const proxy = new TcpProxy("127.0.0.1", port);
  return [proxy, await proxy.start()];
}

beforeAll(async () => {
  db = await createTestDatabase();
  tv = new TradovateSim();
  px = new ProjectXSim({ hubPingMs: 500 });
  wb = new WebullSim();
  await Promise.all([tv.start(), px.start(), wb.start()]);
  tv.addUser({
    name: "recovery",
    password: "recovery-pw-1",
    accounts: [{ name: "DEMO777", balance: dec(50_000) }],
  });
  px.addUser({ userName: "recovery", apiKey: PX_KEY, accounts: [{ name: "PRAC-R", balance: 50_000 }] });
  wb.addApp({
    appKey: "recovery-app",
    appSecret: "recovery-secret",
    accounts: [{ accountId: "WBR001", balance: "50000" }],
  });
  const [tvProxy, tvPort] = await proxied(tv.port);
  const [pxProxy, pxPort] = await proxied(Number(new URL(px.apiUrl).port));
  const [wbProxy, wbPort] = await proxied(Number(new URL(wb.baseUrl).port));
  Object.assign(proxies, { tradovate: tvProxy, projectx: pxProxy, webull: wbProxy });
  const env = {
    TRADOVATE_DEMO_URL: `http://127.0.0.1:${tvPort}/v1`,
    TRADOVATE_LIVE_URL: `http://127.0.0.1:${tvPort}/v1`,
    TRADOVATE_MD_URL: `ws://127.0.0.1:${tvPort}/md/v1/websocket`,
    PROJECTX_API_URL: `http://127.0.0.1:${pxPort}`,
    PROJECTX_RTC_URL: `ws://127.0.0.1:${pxPort}`,
    WEBULL_API_URL: `http://127.0.0.1:${wbPort}`,
  };

  // First run: the accounts and their traders, with every broker reachable.
  const first = await startTestRelay({ url: db.url, env, logLevel: "info" });
  const created = {
    tradovate: await first.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name: "Tradovate R",
      broker: "tradovate",
      environment: "demo",
      credentials: { username: "recovery", password: "recovery-pw-1", appId: "Relay", appVersion: "1.0" },
    }),
    projectx: await first.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name: "Topstep R",
      broker: "projectx",
      environment: "demo",
      credentials: { userName: "recovery", apiKey: PX_KEY },
    }),
    webull: await first.api<{ id: string; status: string }>("POST", "/api/accounts", {
      name: "Webull R",
      broker: "webull",
      environment: "live",
      credentials: { appKey: "recovery-app", appSecret: "recovery-secret", accountId: "WBR001" },
    }),
  };
  const recorder = await first.api<{ id: string }>("POST", "/api/recorders", { name: "R", quantity: 1 });
  for (const broker of ["tradovate", "projectx", "webull"] as const) {
    const account = created[broker];
    expect(account.body.status, JSON.stringify(account.body)).toBe("connected");
    accounts[broker] = account.body.id;
    const trader = await first.api("POST", "/api/traders", {
      recorderId: recorder.body.id,
      accountId: account.body.id,
    });
    expect(trader.status, JSON.stringify(trader.body)).toBe(201);
  }
  await first.stop();

  // Second run: the relay starts while no broker can be reached; every pre-warm fails.
  for (const p of Object.values(proxies)) p.cut();
  relay = await startTestRelay({ url: db.url, env, logLevel: "debug" });
  relay.relay.bus.on((e) => {
    events.push(e);
  });
  for (const broker of ["tradovate", "projectx", "webull"] as const)
    expect((await view(broker)).status, broker).toBe("error");
});

afterAll(async () => {
  await relay?.stop();
  for (const p of Object.values(proxies)) await p.stop();
  await Promise.all([tv?.stop(), px?.stop(), wb?.stop()]);
  await db?.drop();
});

async function view(broker: Broker) {
  const res = await relay?.api<{ status: string; session: { state: string } | null }>(
    "GET",
    `/api/accounts/${accounts[broker]}`,
  );
  if (!res) throw new Error("no relay");
  return res.body;
}

/** Restores the broker and waits for its session to be ready and its account connected, unasked. */
async function comesBack(broker: Broker): Promise<void> {
  proxies[broker].restore();
  await waitFor(
    async () => {
      const v = await view(broker);
      return v.status === "connected" && v.session?.state === "ready";
    },
    `the ${broker} session to come back by itself`,
    25_000,
  );
  const lines = (event: string) =>
    (relay?.logs ?? [])
      .filter((l) => l.includes(`"event":"${event}"`) && l.includes(accounts[broker]))
      .map((l) => JSON.parse(l) as { delayMs?: number });
  expect(lines("SessionStarted").length).toBeGreaterThan(0);
  // Background retries while the broker was away, never more than 30 s apart.
  for (const retry of lines("SessionRetryScheduled")) expect(retry.delayMs).toBeLessThanOrEqual(30_000);
}

describe("pre-warmed sessions come back by themselves", () => {
  it("TV-R03 Tradovate: a session whose first start found the gateway unreachable comes back by itself", async () => {
    await comesBack("tradovate");
  });

  it("PX-R04 ProjectX: a session whose first start found the gateway unreachable comes back by itself", async () => {
    await comesBack("projectx");
  });

  it("WB-R02 Webull: a session whose first start found the API unreachable comes back by itself", async () => {
    await comesBack("webull");
  });

  it("SP-R01 a ready session that loses its broker is reported lost, then restored", async () => {
    const accountId = accounts.projectx;
    const mark = events.length;
    proxies.projectx.cut();
    px.expireToken("recovery");
    const lost = await waitFor(
      () => events.slice(mark).find((e) => e.type === "SessionLost" && e.accountId === accountId),
      "SessionLost",
    );
    expect(lost).toMatchObject({ broker: "projectx", accountName: "Topstep R" });
    proxies.projectx.restore();
    await waitFor(
      () => events.slice(mark).find((e) => e.type === "SessionRestored" && e.accountId === accountId),
      "SessionRestored",
      25_000,
    );
    expect((await view("projectx")).session?.state).toBe("ready");
  });
});
