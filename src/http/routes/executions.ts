/** /api/executions: per-trader outcomes, e.g. ?status=failed for everything that went wrong. */
import { Hono } from "hono";
import { EXECUTION_STATUSES, listExecutions } from "../../db/executions";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { presentExecution } from "../present";
import { limitParam, UUID } from "../validate";

const STATUSES: readonly string[] = EXECUTION_STATUSES;

export function executionRoutes(s: Services) {
  const app = new Hono<Env>();
  app.get("/", async (c) => {
    const limit = limitParam(c);
    const status = c.req.query("status")?.split(",").filter(Boolean);
    if (status?.some((x) => !STATUSES.includes(x))) {
      throw new RelayError(
        "invalid_request",
        `status must be among ${STATUSES.join(", ")} (comma-separated).`,
      );
    }
    const traderId = c.req.query("traderId");
    const accountId = c.req.query("accountId");
    const before = c.req.query("before");
    for (const [k, v] of [
      ["traderId", traderId],
      ["accountId", accountId],
    ] as const) {
      if (v !== undefined && !UUID.test(v)) throw new RelayError("invalid_request", `${k} must be an id.`);
    }
    if (before !== undefined && Number.isNaN(Date.parse(before)))
      throw new RelayError("invalid_request", "before must be a time.");
    const rows = await listExecutions(s.sql, {
      limit,
      ...(status?.length ? { status } : {}),
      ...(traderId ? { traderId } : {}),
      ...(accountId ? { accountId } : {}),
      ...(before ? { before } : {}),
    });
    const last = rows.at(-1);
    return c.json({
      executions: rows.map(presentExecution),
      next: rows.length === limit && last ? last.createdAt : null,
    });
  });
  return app;
}
