/** /api/signals: what arrived and what each trader did with it, and why. */
import { Hono } from "hono";
import { type ExecutionView, executionsOfSignal } from "../../db/executions";
import { fillsOfExecutions, type OrderFill } from "../../db/order-views";
import { getSignal, listSignals, type SignalRow } from "../../db/signals";
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
    const [webhook, fills] = await Promise.all([
      listWebhooks(s.sql, { limit: 1, signalId: id, outcome: "accepted" }).then(([w]) => w),
      fillsOfExecutions(
        s.sql,
        executions.map((e) => e.id),
      ),
    ]);
    return c.json({
      ...presentSignal(signal),
      webhook: webhook ?? null,
      executions: executions.map((e) => withFills(signal, e, fills)),
    });
  });

  return app;
}

const EXIT_LEG = /^(tp|sl)\d+$/;
const ms = (at: Date | string | null | undefined, from: Date) =>
  at ? Math.max(0, new Date(at).getTime() - from.getTime()) : null;

/**
 * An execution with each order's fills and its latency per stage, in ms from the webhook's arrival:
 * committed (signal stored), dispatched (execution started), sent (first order written, just before it
 * left), acknowledged (last broker acknowledgment) and filled (first fill of the entry or close; the
 * exits fill later, on price). Null for a stage not reached.
 */
function withFills(signal: SignalRow, e: ExecutionView, fills: OrderFill[]) {
  const view = presentExecution(e);
  const orders = e.orders.map((o) => ({
    ...o,
    fills: fills
      .filter((f) => f.clientOrderId === o.clientOrderId)
      .map((f) => ({ qty: f.qty, price: f.price, at: f.at })),
  }));
  const own = new Set(e.orders.filter((o) => !EXIT_LEG.test(String(o.leg))).map((o) => o.clientOrderId));
  const sentAt = e.orders
    .map((o) => new Date(String(o.at)).getTime())
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b)[0];
  const firstFill = fills.find((f) => own.has(f.clientOrderId));
  const from = signal.receivedAt;
  return {
    ...view,
    orders,
    latency: {
      committedMs: ms(signal.committedAt, from),
      dispatchedMs: ms(e.startedAt, from),
      sentMs: sentAt === undefined ? null : ms(new Date(sentAt), from),
      acknowledgedMs: e.latencyMs,
      filledMs: ms(firstFill?.at, from),
    },
  };
}
