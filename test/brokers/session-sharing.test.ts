/**
 * Sessions of different logins share one connection pool per broker origin (src/brokers/shared-pool.ts).
 * What must hold: every request carries its own login's credentials even on a connection another login
 * used a moment before; one login's 401, re-login or token refresh leaves the other alone; a stop ends
 * only that session's requests and releases its lease, and only the last stop closes the pool.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BrokerSession } from "../../src/brokers/port";
import { createProjectXFactory, type ProjectXFactoryOptions } from "../../src/brokers/projectx";
import { sharedPools } from "../../src/brokers/shared-pool";
import { createWebullFactory } from "../../src/brokers/webull";
import { dec } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId, asClientOrderId, type BrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { ProjectXSim } from "../../src/sim/projectx";
import { WebullSim } from "../../src/sim/webull";
import { startHarness } from "../support/tradovate-harness";
import { waitFor } from "../support/wait";

const logger = createLogger({ level: "silent" });
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One turn of the event loop: undici frees a connection for the next request after its reply. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

const poolOf = (url: string) => sharedPools().find((p) => p.origin === new URL(url).origin);

// ---------------------------------------------------------------------------------------------- ProjectX

interface PxLogin {
  user: string;
  account: BrokerAccountId;
  session: BrokerSession;
}

async function projectx(
  adapter: Partial<ProjectXFactoryOptions> = {},
  perLogin: Partial<ProjectXFactoryOptions>[] = [{}, {}],
): Promise<{ sim: ProjectXSim; logins: PxLogin[] }> {
  const sim = new ProjectXSim({ hubPingMs: 500 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const options = (own: Partial<ProjectXFactoryOptions>): ProjectXFactoryOptions => ({
    logger,
    apiUrl: sim.apiUrl,
    rtcUrl: sim.rtcUrl,
    requestTimeoutMs: 2_000,
    reconnectDelaysMs: [0, 100],
    env: {},
    ...adapter,
    ...own,
  });
  // One factory, as in the relay; a login with options of its own gets its own factory.
  const shared = createProjectXFactory(options({}));
  const logins: PxLogin[] = [];
  for (const [i, own] of perLogin.entries()) {
    const user = `trader${i}`;
    const { accounts } = sim.addUser({
      userName: user,
      apiKey: `key-${user}`,
      accounts: [{ name: `PRAC-${i}`, balance: 50000 }],
    });
    const factory = Object.keys(own).length > 0 ? createProjectXFactory(options(own)) : shared;
    const session = factory.create({
      accountId: asAccountId(`acc-${user}`),
      name: user,
      kind: "projectx",
      environment: "demo",
      credentials: { userName: user, apiKey: `key-${user}` },
    });
    cleanups.push(() => session.stop());
    logins.push({ user, account: asBrokerAccountId(String(accounts[0]?.id)), session });
  }
  for (const l of logins) await l.session.start();
  for (const l of logins) expect(l.session.status().state).toBe("ready");
  return { sim, logins };
}

/** Each recorded request that names an account was sent with the token of that account's login. */
function expectOwnTokens(sim: ProjectXSim, logins: PxLogin[]): void {
  const owner = new Map(logins.map((l) => [Number(l.account), l.user]));
  let named = 0;
  for (const r of sim.recorder.requests) {
    const accountId = (r.body as { accountId?: unknown } | undefined)?.accountId;
    // A refused (401) request names no user: the simulator only reads valid tokens.
    if (typeof accountId !== "number" || r.status === 401) continue;
    named++;
    expect(r.user).toBe(owner.get(accountId));
  }
  expect(named).toBeGreaterThan(0);
}

/** The connections that carried requests of more than one user. */
function sharedConnections(sim: ProjectXSim): number[] {
  const users = new Map<number, Set<string>>();
  for (const r of sim.recorder.requests) {
    if (!r.user) continue;
    const set = users.get(r.connection) ?? new Set<string>();
    set.add(r.user);
    users.set(r.connection, set);
  }
  return [...users].filter(([, set]) => set.size > 1).map(([id]) => id);
}

describe("ProjectX sessions on one shared pool", () => {
  it("MS01 two logins share connections and every request carries its own login's token", async () => {
    const { sim, logins } = await projectx();
    const [a, b] = logins as [PxLogin, PxLogin];
    sim.recorder.clear();
    // Alternating, each after the pool took back the connection the other login's request just used.
    for (let i = 0; i < 4; i++) {
      expect(await a.session.positions(a.account)).toEqual([]);
      await settled();
      expect(await b.session.positions(b.account)).toEqual([]);
      await settled();
    }
    const searches = sim.recorder.requestsTo("/api/Position/searchOpen");
    expect(searches.filter((r) => r.user === a.user && r.status === 200)).toHaveLength(4);
    expect(searches.filter((r) => r.user === b.user && r.status === 200)).toHaveLength(4);
    expectOwnTokens(sim, logins);
    expect(sharedConnections(sim).length).toBeGreaterThan(0);
    expect(poolOf(sim.apiUrl)?.users).toBe(2);
  });

  it("MS02 one login's refused token and re-login leave the other login's token alone", async () => {
    const { sim, logins } = await projectx();
    const [a, b] = logins as [PxLogin, PxLogin];
    sim.expireToken(a.user);
    // A's next request is refused (401), A logs in again and re-sends; B goes on with its first token.
    expect(await a.session.positions(a.account)).toEqual([]);
    expect(await b.session.positions(b.account)).toEqual([]);
    const logins401 = sim.recorder.requests.filter((r) => r.status === 401);
    expect(logins401).toHaveLength(1);
    expect(logins401[0]?.path).toBe("/api/Position/searchOpen");
    const loginsOf = (user: string) =>
      sim.recorder
        .requestsTo("/api/Auth/loginKey")
        .filter((r) => (r.body as { userName: string }).userName === user);
    expect(loginsOf(a.user)).toHaveLength(2);
    expect(loginsOf(b.user)).toHaveLength(1);
    expect(b.session.status().state).toBe("ready");
    expectOwnTokens(sim, logins);
    expect(sharedConnections(sim).length).toBeGreaterThan(0);
  });

  it("MS03 one login's token refresh (validate) is its own: the other login neither refreshes nor changes token", async () => {
    // A refreshes its token within a second; B keeps the default (23 h).
    const { sim, logins } = await projectx({}, [{ tokenRefreshAfterMs: 300 }, {}]);
    const [a, b] = logins as [PxLogin, PxLogin];
    const validates = () => sim.recorder.requestsTo("/api/Auth/validate");
    await waitFor(() => validates().some((r) => r.status === 200) || undefined, "A's token refresh");
    expect(await a.session.positions(a.account)).toEqual([]);
    expect(await b.session.positions(b.account)).toEqual([]);
    expect(validates().every((r) => r.user === a.user)).toBe(true);
    expect(sim.recorder.requestsTo("/api/Auth/loginKey")).toHaveLength(2);
    expect(sim.recorder.requests.filter((r) => r.status === 401)).toEqual([]);
    expectOwnTokens(sim, logins);
  });

  it("MS04 a stop leaves the shared pool to the other login; the last stop closes it", async () => {
    const { sim, logins } = await projectx();
    const [a, b] = logins as [PxLogin, PxLogin];
    expect(await a.session.positions(a.account)).toEqual([]);
    await a.session.stop();
    expect(poolOf(sim.apiUrl)?.users).toBe(1);
    // B still holds the pool A used: a closed pool would fail this request.
    expect(await b.session.positions(b.account)).toEqual([]);
    const used = sim.recorder.requests.at(-1)?.connection ?? 0;
    expect(used).toBeGreaterThan(0);
    expect(sim.connectionOpen(used)).toBe(true);
    await b.session.stop();
    expect(poolOf(sim.apiUrl)).toBeUndefined();
    await waitFor(() => !sim.connectionOpen(used) || undefined, "the pool's connection closed by the client");
  });

  it("MS05 a stop ends that session's request in flight, not the other session's", async () => {
    // Deadlines far beyond the test: only the stop can end A's unanswered request.
    const { sim, logins } = await projectx({ requestTimeoutMs: 120_000 });
    const [a, b] = logins as [PxLogin, PxLogin];
    sim.swallowReplies("/api/Position/searchOpen", 1);
    const pending = a.session.positions(a.account).then(
      () => "answered",
      (error: unknown) => String(error),
    );
    await waitFor(
      () => sim.recorder.requestsTo("/api/Position/searchOpen").some((r) => r.swallowed) || undefined,
      "A's request at the simulator",
    );
    await a.session.stop();
    expect(await pending).toContain("before the session stopped");
    expect(await b.session.positions(b.account)).toEqual([]);
    expect(poolOf(sim.apiUrl)?.users).toBe(1);
  });
});

describe("ProjectX: what else the logins of one firm share", () => {
  it("MS10 hub sockets offer no permessage-deflate, so no socket gets zlib streams of its own", async () => {
    const { sim, logins } = await projectx();
    const [a] = logins as [PxLogin];
    await a.session.subscribeQuotes(await a.session.contract("MNQ1!"));
    const upgrades = sim.recorder.upgrades;
    expect(upgrades.map((u) => u.hub).sort()).toEqual(["market", "user", "user"]);
    expect(upgrades.filter((u) => u.extensions !== undefined)).toEqual([]);
  });

  it("MS12 the contract catalogue is the firm's: looked up once for two logins; one login's failed lookup is not the other's answer", async () => {
    const { sim, logins } = await projectx();
    const [a, b] = logins as [PxLogin, PxLogin];
    const searches = () => sim.recorder.requestsTo("/api/Contract/search");
    // At the same time, like the first alert of a fan-out: one search, with A's token.
    const [sa, sb] = await Promise.all([a.session.contract("MNQ1!"), b.session.contract("MNQ1!")]);
    expect(sb).toEqual(sa);
    expect(sa.brokerContractId).toBe(sim.contractId("MNQ"));
    expect(searches().map((r) => r.user)).toEqual([a.user]);
    expect(await b.session.contract("MNQ1!")).toEqual(sa);
    expect(searches()).toHaveLength(1);
    // A's search of another symbol is refused while B waits for it: B then searches with its own token.
    sim.rejectNext("/api/Contract/search", { errorCode: 1, errorMessage: "refused for A" });
    const first = a.session.contract("MES1!").then(
      () => "found",
      (error: unknown) => String(error),
    );
    const second = b.session.contract("MES1!");
    expect(await first).toContain("refused for A");
    expect((await second).brokerContractId).toBe(sim.contractId("MES"));
    expect(
      searches()
        .slice(1)
        .map((r) => r.user),
    ).toEqual([a.user, b.user]);
  });
});

// ------------------------------------------------------------------------------------------------ Webull

interface WbLogin {
  appKey: string;
  account: BrokerAccountId;
  session: BrokerSession;
}

async function webull(
  apps: { secret?: string; accessToken?: string }[],
  timeoutMs = 2_000,
): Promise<{ sim: WebullSim; logins: WbLogin[] }> {
  const sim = new WebullSim();
  await sim.start();
  cleanups.push(() => sim.stop());
  const factory = createWebullFactory({
    logger,
    baseUrl: sim.baseUrl,
    requestTimeoutMs: timeoutMs,
    pollIntervalMs: 50,
  });
  const logins: WbLogin[] = [];
  for (const [i, app] of apps.entries()) {
    const appKey = `app-${i}`;
    const account = asBrokerAccountId(`WB00000${i}`);
    sim.addApp({
      appKey,
      appSecret: `secret-${i}`,
      accounts: [{ accountId: account, balance: "50000" }],
      ...(app.accessToken ? { accessToken: app.accessToken } : {}),
    });
    const session = factory.create({
      accountId: asAccountId(`acc-${appKey}`),
      name: appKey,
      kind: "webull",
      environment: "live",
      credentials: {
        appKey,
        appSecret: app.secret ?? `secret-${i}`,
        accountId: account,
        ...(app.accessToken ? { accessToken: app.accessToken } : {}),
      },
    });
    cleanups.push(() => session.stop());
    logins.push({ appKey, account, session });
  }
  for (const l of logins) await l.session.start();
  return { sim, logins };
}

/** Connections that carried requests of more than one app key. */
function sharedByApps(sim: WebullSim): number[] {
  const apps = new Map<number, Set<string>>();
  for (const r of sim.requests()) {
    if (!r.appKey) continue;
    const set = apps.get(r.connection) ?? new Set<string>();
    set.add(r.appKey);
    apps.set(r.connection, set);
  }
  return [...apps].filter(([, set]) => set.size > 1).map(([id]) => id);
}

describe("Webull sessions on one shared pool", () => {
  it("MS06 two apps share connections; each request is signed with its own key and carries only its own access token", async () => {
    const { sim, logins } = await webull([{}, { accessToken: "2fa-token-of-app-1" }]);
    const [a, b] = logins as [WbLogin, WbLogin];
    await waitFor(
      () => a.session.status().state === "ready" && b.session.status().state === "ready",
      "both ready",
    );
    for (let i = 0; i < 4; i++) {
      expect(await a.session.positions(a.account)).toEqual([]);
      expect(await b.session.positions(b.account)).toEqual([]);
    }
    const requests = sim.requests();
    expect(requests.every((r) => r.signatureValid)).toBe(true);
    for (const r of requests) {
      expect(r.accessToken).toBe(r.appKey === b.appKey ? "2fa-token-of-app-1" : undefined);
      const account = r.query.account_id ?? (r.body as { account_id?: string } | undefined)?.account_id;
      if (account !== undefined) expect(account).toBe(r.appKey === a.appKey ? a.account : b.account);
    }
    expect(sharedByApps(sim).length).toBeGreaterThan(0);
    expect(poolOf(sim.baseUrl)?.users).toBe(2);
  });

  it("MS07 one app's refused signature (401) leaves the other app's session and requests untouched", async () => {
    const { sim, logins } = await webull([{ secret: "not-the-secret" }, {}]);
    const [a, b] = logins as [WbLogin, WbLogin];
    await waitFor(() => a.session.status().state === "error" || undefined, "A refused");
    await waitFor(() => b.session.status().state === "ready" || undefined, "B ready");
    const before = sim.requests().length;
    expect(await b.session.positions(b.account)).toEqual([]);
    await waitFor(() => sim.requests().length > before + 3 || undefined, "more polls of both");
    const requests = sim.requests();
    expect(requests.filter((r) => r.appKey === a.appKey).every((r) => r.status === 401)).toBe(true);
    expect(requests.filter((r) => r.appKey === b.appKey).every((r) => r.signatureValid)).toBe(true);
    expect(b.session.status().state).toBe("ready");
    expect(sharedByApps(sim).length).toBeGreaterThan(0);
  });

  it("MS08 a stop leaves the shared pool to the other app; the last stop closes it", async () => {
    const { sim, logins } = await webull([{}, {}]);
    const [a, b] = logins as [WbLogin, WbLogin];
    await waitFor(
      () => a.session.status().state === "ready" && b.session.status().state === "ready",
      "both ready",
    );
    await a.session.stop();
    expect(poolOf(sim.baseUrl)?.users).toBe(1);
    const after = sim.requests().length;
    // B keeps polling on the pool A used, and its own calls are answered.
    expect(await b.session.positions(b.account)).toEqual([]);
    await waitFor(
      () =>
        sim
          .requests()
          .slice(after)
          .filter((r) => r.appKey === b.appKey && r.status === 200).length > 2 || undefined,
      "B's polls after A stopped",
    );
    const used = sim.requests().at(-1)?.connection ?? 0;
    expect(used).toBeGreaterThan(0);
    await b.session.stop();
    expect(poolOf(sim.baseUrl)).toBeUndefined();
    await waitFor(() => !sim.connectionOpen(used) || undefined, "the pool's connection closed by the client");
  });

  it("MS09 a stop ends that session's request in flight, not the other session's", async () => {
    const { sim, logins } = await webull([{}, {}], 120_000);
    const [a, b] = logins as [WbLogin, WbLogin];
    await waitFor(
      () => a.session.status().state === "ready" && b.session.status().state === "ready",
      "both ready",
    );
    sim.swallowReplies("/openapi/trade/order/detail", 1);
    const pending = a.session.findOrder(a.account, asClientOrderId("ms09-never-sent")).then(
      () => "answered",
      (error: unknown) => String(error),
    );
    await waitFor(
      () => sim.requests("/openapi/trade/order/detail").some((r) => r.swallowed) || undefined,
      "A's request at the simulator",
    );
    await a.session.stop();
    expect(await pending).toContain("session stopped before Webull answered");
    expect(await b.session.positions(b.account)).toEqual([]);
    expect(poolOf(sim.baseUrl)?.users).toBe(1);
  });
});

// --------------------------------------------------------------------------------------------- Tradovate

describe("Tradovate: what the logins of one host share", () => {
  it("MS11 the contract catalogue is the host's: two logins resolving at once cause one lookup", async () => {
    const h = await startHarness();
    cleanups.push(() => h.stop());
    h.sim.addUser({
      name: "other",
      password: "pw-other",
      accounts: [{ name: "DEMO24680", balance: dec(50000) }],
    });
    const b = h.newSession("acc-2", { username: "other", password: "pw-other", appId: "relay-test" });
    await h.session.start();
    await b.start();
    const [sa, sb] = await Promise.all([h.session.contract("MNQ1!"), b.contract("MNQ1!")]);
    expect(sb).toEqual(sa);
    expect(sa.brokerContractId).toBe(h.mnq.brokerContractId);
    const suggests = () => h.sim.requests({ endpoint: "contract/suggest" });
    expect(suggests()).toHaveLength(1);
    expect(await b.contract("MNQ1!")).toEqual(sa);
    expect(suggests()).toHaveLength(1);
  });
});
