/** /api/status: sessions, queue, counters: is the relay healthy and connected right now. */
import { Hono } from "hono";
import { listDrift } from "../../db/drift";
import { countOpenExecutions } from "../../db/executions";
import { listRelays } from "../../db/owners";
import { monitorStatus } from "../../monitor/index";
import type { Env, Services } from "../context";
import { presentSession } from "../present";

export function statusRoutes(s: Services) {
  const app = new Hono<Env>();
  app.get("/", async (c) => {
    const sessions = s.pool.sessions().map(presentSession);
    return c.json({
      instance: s.config.instanceId,
      startedAt: s.startedAt,
      uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
      sessions,
      sessionsReady: sessions.filter((x) => x.state === "ready").length,
      // Issue 16: the relays sharing this database and how many accounts' sessions each holds.
      relays: (await listRelays(s.sql)).map((r) => ({
        id: r.id,
        live: r.live,
        accounts: r.accounts,
        seenAt: r.seenAt,
        startedAt: r.startedAt,
      })),
      queue: s.dispatcher.depth(),
      openExecutions: await countOpenExecutions(s.sql),
      counters: { webhooks: Object.fromEntries(s.counters), executions: s.dispatcher.counters },
      drift: await listDrift(s.sql, { open: true, limit: 100 }),
      ...monitorStatus(s.lossMonitor),
      notifications: { enabled: s.notifications.enabled, ...(await s.notifications.counts()) },
    });
  });
  return app;
}
