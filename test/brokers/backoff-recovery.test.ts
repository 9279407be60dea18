/**
 * The reconnect back-off of every broker is capped at 30 s (issue 12), read from the computed schedule,
 * never by sleeping through it: the shared schedule itself, then the delay each adapter logs when it
 * schedules a reconnect, with a configured step far above the cap and the broker cut off.
 */
import { afterEach, describe, expect, it } from "vitest";
import { backoffDelay, jitter, MAX_BACKOFF_MS } from "../../src/brokers/backoff";
import type { BrokerSession } from "../../src/brokers/port";
import { createProjectXFactory } from "../../src/brokers/projectx";
import { createTradovateFactory } from "../../src/brokers/tradovate";
import { dec } from "../../src/domain/decimal";
import { asAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import { ProjectXSim } from "../../src/sim/projectx";
import { TradovateSim } from "../../src/sim/tradovate";
import { API_KEY, USER } from "../support/projectx-adapter";
import { TcpProxy } from "../support/tcp-proxy";
import { CREDENTIALS, PASSWORD, SEC } from "../support/tradovate-harness";
import { waitFor } from "../support/wait";

/** A step far above the cap: whatever is configured, no pause may exceed 30 s. */
const HUGE = [20, 120_000];

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function memoryLogger() {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) },
  });
  return { logger, logs };
}

const scheduled = (logs: Record<string, unknown>[], match: Record<string, unknown> = {}) =>
  logs.filter((l) => l.event === "ReconnectScheduled" && Object.entries(match).every(([k, v]) => l[k] === v));

describe("reconnect back-off", () => {
  it("BO-R01 the schedule doubles past its configured steps up to a 30 s cap and never stops", () => {
    const defaults = {
      projectx: [0, 1_000, 2_000, 5_000, 10_000, 30_000],
      tradovate: [50, 500, 1_000, 2_000, 5_000, 10_000],
      pool: [1_000],
      harness: [0, 100, 200],
    };
    for (const [name, steps] of Object.entries(defaults)) {
      const schedule = Array.from({ length: 1_000 }, (_, n) => backoffDelay(n, steps));
      expect(schedule.slice(0, steps.length), name).toEqual(steps);
      for (const [n, d] of schedule.entries()) {
        expect(d, `${name} attempt ${n}`).toBeLessThanOrEqual(MAX_BACKOFF_MS);
        if (n > 0) expect(d, `${name} attempt ${n}`).toBeGreaterThanOrEqual(schedule[n - 1] ?? 0);
        const last = steps.at(-1) ?? 0;
        // Past the steps it doubles until the cap.
        if (n >= steps.length && last > 0)
          expect(d).toBe(Math.min(MAX_BACKOFF_MS, last * 2 ** (n - steps.length + 1)));
      }
      expect(schedule.at(-1), name).toBe(MAX_BACKOFF_MS);
    }
    expect(MAX_BACKOFF_MS).toBe(30_000);
    expect(backoffDelay(1, HUGE)).toBe(30_000);
    expect(backoffDelay(3, [0])).toBeGreaterThan(0);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, [1_000])).toBe(30_000);
    expect(jitter(30_000, () => 0.999)).toBeLessThanOrEqual(30_000);
    expect(jitter(10_000, () => 0)).toBe(8_000);
  });

  it("BO-R02 Tradovate: a socket that keeps failing waits at most 30 s, whatever is configured", async () => {
    const sim = new TradovateSim();
    await sim.start();
    sim.addUser({
      name: "jdoe",
      password: PASSWORD,
      cid: 8,
      sec: SEC,
      accounts: [{ name: "D1", balance: dec(1) }],
    });
    const proxy = new TcpProxy("127.0.0.1", sim.port);
    const port = await proxy.start();
    const { logger, logs } = memoryLogger();
    const session: BrokerSession = createTradovateFactory({
      demoUrl: `http://127.0.0.1:${port}/v1`,
      liveUrl: `http://127.0.0.1:${port}/v1`,
      mdUrl: `ws://127.0.0.1:${port}/md/v1/websocket`,
      logger,
      connectTimeoutMs: 1_000,
      reconnectDelaysMs: HUGE,
    }).create({
      accountId: asAccountId("bo-tv"),
      name: "bo",
      kind: "tradovate",
      environment: "demo",
      credentials: CREDENTIALS,
    });
    cleanup.push(
      () => sim.stop(),
      () => proxy.stop(),
      () => session.stop(),
    );
    await session.start();
    await waitFor(() => session.status().state === "ready", "ready");
    proxy.cut();
    const [second] = await waitFor(() => {
      const s = scheduled(logs, { socket: "trading", attempt: 2 });
      return s.length > 0 ? s : undefined;
    }, "the second reconnect scheduled");
    expect(second?.delayMs).toBeLessThanOrEqual(30_000);
    expect(second?.delayMs).toBeGreaterThanOrEqual(24_000);
  });

  it("BO-R03 ProjectX: hub reconnects and start retries wait at most 30 s, whatever is configured", async () => {
    const sim = new ProjectXSim({ hubPingMs: 500 });
    await sim.start();
    sim.addUser({ userName: USER, apiKey: API_KEY, accounts: [{ name: "P", balance: 1 }] });
    const proxy = new TcpProxy("127.0.0.1", Number(new URL(sim.apiUrl).port));
    const port = await proxy.start();
    const { logger, logs } = memoryLogger();
    const factory = createProjectXFactory({
      logger,
      apiUrl: `http://127.0.0.1:${port}`,
      rtcUrl: `ws://127.0.0.1:${port}`,
      requestTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
      reconnectDelaysMs: HUGE,
      env: {},
    });
    const create = (id: string) =>
      factory.create({
        accountId: asAccountId(id),
        name: id,
        kind: "projectx",
        environment: "demo",
        credentials: { userName: USER, apiKey: API_KEY },
      });
    const up = create("bo-px-hub");
    cleanup.push(
      () => sim.stop(),
      () => proxy.stop(),
      () => up.stop(),
    );
    await up.start();
    await waitFor(() => up.status().state === "ready", "ready");
    proxy.cut();
    const [hub] = await waitFor(() => {
      const s = scheduled(logs, { hub: "user", attempt: 2 });
      return s.length > 0 ? s : undefined;
    }, "the hub's second reconnect scheduled");
    expect(hub?.delayMs).toBe(30_000);

    // A session whose very first start cannot reach the gateway retries on the same schedule.
    const cold = create("bo-px-start");
    cleanup.push(() => cold.stop());
    await cold.start();
    expect(cold.status().state).toBe("down");
    const [retry] = await waitFor(() => {
      const s = scheduled(logs, { accountId: "bo-px-start", attempt: 2 });
      return s.length > 0 ? s : undefined;
    }, "the second start retry scheduled");
    expect(retry?.delayMs).toBe(30_000);
  });
});
