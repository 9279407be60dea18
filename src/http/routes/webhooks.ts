/** /api/webhooks: the raw webhook log, rejected requests included, with the reason. */
import { Hono } from "hono";
import { listWebhooks } from "../../db/webhooks";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { limitParam, UUID } from "../validate";

export const OUTCOMES = [
  "accepted",
  "duplicate",
  "stale",
  "invalid",
  "unknown_token",
  "too_large",
  "rate_limited",
  "forbidden",
  "disabled",
  "incomplete",
];

export function webhookLogRoutes(s: Services) {
  const app = new Hono<Env>();
  app.get("/", async (c) => {
    const limit = limitParam(c);
    const before = c.req.query("before");
    const outcome = c.req.query("outcome");
    const recorderId = c.req.query("recorderId");
    if (before !== undefined && !/^\d{1,18}$/.test(before))
      throw new RelayError("invalid_request", "before must be a webhook id.");
    if (outcome !== undefined && !OUTCOMES.includes(outcome)) {
      throw new RelayError("invalid_request", `outcome must be one of ${OUTCOMES.join(", ")}.`);
    }
    if (recorderId !== undefined && !UUID.test(recorderId))
      throw new RelayError("invalid_request", "recorderId must be a recorder id.");
    const rows = await listWebhooks(s.sql, {
      limit,
      ...(before ? { before } : {}),
      ...(outcome ? { outcome } : {}),
      ...(recorderId ? { recorderId } : {}),
    });
    const last = rows.at(-1);
    return c.json({ webhooks: rows, next: rows.length === limit && last ? last.id : null });
  });
  return app;
}
