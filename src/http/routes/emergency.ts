/**
 * /api/emergency: the kill switch. POST /stop (no new entries anywhere), POST /flatten (stop, then every
 * account in use liquidated by its broker: position and working orders together, never the stops first),
 * POST /resume (entries allowed again; today's loss-limit breaches stay), GET / (state). Every use is
 * audited and emitted as KillSwitchUsed. Body (optional): {"reason": "..."}.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { LossMonitor } from "../../monitor/index";
import { monitorStatus } from "../../monitor/index";
import type { Env, Services } from "../context";
import { parse } from "../validate";

/** The request body, exported for the OpenAPI document (src/http/openapi.ts). */
export const body = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
  /** How long POST /flatten waits for the brokers to read flat before answering (ms). */
  waitMs: z.number().int().min(0).max(60_000).optional(),
});

async function optionalBody(text: string): Promise<z.infer<typeof body>> {
  if (!text.trim()) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = Symbol("invalid");
  }
  return parse(body, json);
}

export function emergencyRoutes(s: Services, monitor: LossMonitor) {
  const app = new Hono<Env>();
  const actor = (c: { get(k: "actor"): string | undefined }) => c.get("actor") ?? "admin";

  app.get("/", (c) => c.json(monitorStatus(monitor).killSwitch));

  app.post("/stop", async (c) => {
    const b = await optionalBody(await c.req.text());
    const state = await monitor.emergency.stop(actor(c), b.reason ?? null);
    s.logger.warn({ event: "KillSwitchStopped", actor: actor(c) }, "new entries stopped everywhere");
    return c.json({ killSwitch: state });
  });

  app.post("/flatten", async (c) => {
    const b = await optionalBody(await c.req.text());
    s.logger.warn({ event: "KillSwitchFlattenRequested", actor: actor(c) }, "flattening every account");
    const report = await monitor.emergency.flatten(actor(c), b.reason ?? null, b.waitMs);
    return c.json(report);
  });

  app.post("/resume", async (c) => {
    const b = await optionalBody(await c.req.text());
    const state = await monitor.emergency.resume(actor(c), b.reason ?? null);
    s.logger.warn({ event: "KillSwitchResumed", actor: actor(c) }, "new entries allowed again");
    return c.json({ killSwitch: state });
  });

  return app;
}
