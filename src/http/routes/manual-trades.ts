/**
 * POST /api/manual-trades (issue 15): buy, sell or close a contract by hand, on chosen traders of a
 * recorder or on all of its enabled traders with their multipliers. The trade becomes a signal (source
 * "manual", src/intake/manual.ts) committed before the answer and executed by the dispatcher like any
 * signal. Answers 202 `{status: "accepted", signalId, traders}`, or 200 `{status: "duplicate", ...}` with
 * the same signal when the `requestId` was seen before (nothing is sent again).
 */
import { Hono } from "hono";
import { z } from "zod";
import { tryDec } from "../../domain/decimal";
import { ACTIONS, QUANTITY_CEILING } from "../../domain/signal";
import type { Env, Services } from "../context";
import { jsonBody, parse } from "../validate";

/** The request body, exported for the OpenAPI document (src/http/openapi.ts). */
export const body = z.strictObject({
  requestId: z.uuid("must be a UUID the caller makes once per trade (the same one again is the same trade)"),
  recorderId: z.uuid("must be a recorder id"),
  action: z.enum(ACTIONS, { message: `must be one of ${ACTIONS.join(", ")}` }),
  ticker: z.string().trim().min(1, "is empty").max(40),
  quantity: z.number().int("must be a whole number of contracts").min(1).max(QUANTITY_CEILING).optional(),
  price: z
    .union([
      z.number().positive(),
      z.string().regex(/^\d+(\.\d+)?$/, "must be a plain decimal like 21000.25"),
    ])
    .optional(),
  traderIds: z
    .array(z.uuid("must be trader ids"))
    .min(1, "names no trader: leave it out to trade for every trader of the recorder")
    .max(100)
    .refine((ids) => new Set(ids.map((x) => x.toLowerCase())).size === ids.length, "names a trader twice")
    .optional(),
});

export function manualTradeRoutes(s: Services) {
  const app = new Hono<Env>();

  app.post("/", async (c) => {
    const b = parse(body, await jsonBody(c));
    const price = b.price === undefined ? undefined : tryDec(b.price);
    const result = await s.manualTrades.place(
      {
        requestId: b.requestId,
        recorderId: b.recorderId,
        action: b.action,
        ticker: b.ticker,
        ...(b.quantity !== undefined ? { quantity: b.quantity } : {}),
        ...(price !== undefined && price > 0n ? { price } : {}),
        ...(b.traderIds ? { traderIds: b.traderIds } : {}),
      },
      c.get("actor") ?? "admin",
    );
    return c.json(
      { status: result.outcome, signalId: result.signalId, traders: result.traders },
      result.outcome === "accepted" ? 202 : 200,
    );
  });

  return app;
}
