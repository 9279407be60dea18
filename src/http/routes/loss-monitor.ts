/**
 * /api/loss-monitor: live P&L per trader and per account (limit, realized, unrealized, total, the day's
 * peak, breach and trading day), money as decimal strings.
 */
import { Hono } from "hono";
import type { LossMonitor } from "../../monitor/index";
import { lossSnapshot } from "../../monitor/index";
import type { Env, Services } from "../context";

export function lossMonitorRoutes(_s: Services, monitor: LossMonitor) {
  const app = new Hono<Env>();
  app.get("/", (c) => c.json(lossSnapshot(monitor)));
  return app;
}
