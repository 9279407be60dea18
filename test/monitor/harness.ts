/**
 * A test relay with the loss monitor wired by hand, the way src/runtime.ts will wire it: the monitor on
 * the relay's pool, fills and bus, its gate in `entryGates`, its routes called in-process.
 */
import { Hono } from "hono";
import { envelope, RelayError } from "../../src/errors";
import type { RelayEvent } from "../../src/events";
import type { Env } from "../../src/http/context";
import { emergencyRoutes } from "../../src/http/routes/emergency";
import { lossMonitorRoutes } from "../../src/http/routes/loss-monitor";
import type { LossMonitor, LossMonitorDeps } from "../../src/monitor/index";
import { startTestRelay, type TestRelay, type TestRelayOptions } from "../support/relay";
import { waitFor } from "../support/wait";

export interface MonitoredRelay {
  t: TestRelay;
  monitor: LossMonitor;
  events: RelayEvent[];
  /** Calls /api/emergency/<path> in-process. */
  emergency<T = Record<string, unknown>>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** GET /api/loss-monitor in-process. */
  loss(): Promise<LossView>;
  stop(): Promise<void>;
}

export interface TraderView {
  traderId: string;
  limit: string | null;
  realized: string;
  unrealized: string;
  total: string;
  peak: string | null;
  breachedAt: string | null;
  breach: { state: string; attempts: number; reason: string } | null;
  tradingDay: string;
  positions: { contract: string; netQty: number; lastPrice: string | null }[];
}

export interface LossView {
  killSwitch: { stopped: boolean };
  traders: TraderView[];
  accounts: (Omit<TraderView, "traderId"> & { accountId: string })[];
}

export async function startMonitoredRelay(
  o: TestRelayOptions & { monitor?: Partial<LossMonitorDeps> },
): Promise<MonitoredRelay> {
  const t = await startTestRelay({ ...o, ...(o.monitor ? { lossMonitor: o.monitor } : {}) });
  const events: RelayEvent[] = [];
  t.relay.bus.on((e) => {
    events.push(e);
  });
  const s = t.relay.services;
  // The relay's own monitor (src/runtime.ts wires it in; a second one would flatten twice).
  const monitor = t.relay.monitor;
  // The relay's app maps errors to the JSON envelope; mounted here the same way.
  const api = new Hono<Env>();
  api.onError((error, c) =>
    error instanceof RelayError
      ? c.json(envelope(error.code, error.message), error.status)
      : c.json(envelope("internal", String(error)), 500),
  );
  api.route("/emergency", emergencyRoutes(s, monitor));
  api.route("/loss-monitor", lossMonitorRoutes(s, monitor));
  return {
    t,
    monitor,
    events,
    async emergency(path, body) {
      const res = await api.request(`/emergency${path}`, {
        method: "POST",
        ...(body !== undefined
          ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
          : {}),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async loss() {
      return (await (await api.request("/loss-monitor")).json()) as LossView;
    },
    async stop() {
      await t.stop();
    },
  };
}

export type Exec = {
  status: string;
  decision: string;
  reason: string;
  error: string | null;
  orders: { leg: string; status: string; qty: number; fillPrice: string | null }[];
};

/** The executions of a signal once every one has finished. */
export async function settled(t: TestRelay, signalId: string, n = 1): Promise<Exec[]> {
  return waitFor(async () => {
    const res = await t.api<{ executions: Exec[] }>("GET", `/api/signals/${signalId}`);
    const ex = res.body.executions;
    return ex.length === n && ex.every((e) => !["pending", "running"].includes(e.status)) ? ex : undefined;
  }, "executions to finish");
}

/** The trader's booked position in its first contract (0 when flat). */
export async function bookedQty(t: TestRelay, traderId: string): Promise<number> {
  const res = await t.api<{ positions: { netQty: number }[] }>("GET", `/api/traders/${traderId}`);
  return res.body.positions.reduce((n, p) => n + p.netQty, 0);
}

export function eventsOf<K extends RelayEvent["type"]>(
  events: RelayEvent[],
  type: K,
): Extract<RelayEvent, { type: K }>[] {
  return events.filter((e): e is Extract<RelayEvent, { type: K }> => e.type === type);
}
