/** /api/signals: what arrived and what each trader did with it, and why. */
import { Hono } from "hono";
import { executionsOfSignal } from "../../db/executions";
import { getSignal, listSignals } from "../../db/signals";
import { listWebhooks } from "../../db/webhooks";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { presentExecution, presentSignal } from "../present";
import { idParam, limitParam, UUID } from "../validate";

export function signalRoutes(s: Services) {
  const app = new Hono<Env>();

  app.get("/", async (c) => {
    const limit = limitParam(c);
    const before = c.req.query("before");
    const recorderId = c.req.query("recorderId");
    if (before !== undefined && !UUID.test(before))
      throw new RelayError("invalid_request", "before must be a signal id.");
    if (recorderId !== undefined && !UUID.test(recorderId))
      throw new RelayError("invalid_request", "recorderId must be a recorder id.");
    const rows = await listSignals(s.sql, {
      limit,
      ...(before ? { before } : {}),
      ...(recorderId ? { recorderId } : {}),
    });
    const last = rows.at(-1);
    return c.json({ signals: rows.map(presentSignal), next: rows.length === limit && last ? last.id : null });
  });

  app.get("/:id", async (c) => {
    const id = idParam(c, "signal");
    const signal = await getSignal(s.sql, id);
    if (!signal) throw new RelayError("not_found", "No such signal.");
    const executions = await executionsOfSignal(s.sql, id);
    const [webhook] = await listWebhooks(s.sql, { limit: 1, signalId: id, outcome: "accepted" });
    return c.json({
      ...presentSignal(signal),
      webhook: webhook ?? null,
      executions: executions.map(presentExecution),
    });
  });

  return app;
}
