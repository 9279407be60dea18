/** /api/paper/prices: move the paper market (resting paper take-profits and stops react). */
import { Hono } from "hono";
import { z } from "zod";
import { specFromTable } from "../../domain/contract";
import { toStr, tryDec } from "../../domain/decimal";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { jsonBody, parse } from "../validate";

/** The request body, exported for the OpenAPI document (src/http/openapi.ts). */
export const body = z.strictObject({
  symbol: z.string().trim().min(1).max(40),
  price: z.union([z.number(), z.string()]),
});

export function paperRoutes(s: Services) {
  const app = new Hono<Env>();
  app.post("/prices", async (c) => {
    const b = parse(body, await jsonBody(c));
    const spec = specFromTable(b.symbol);
    if (!spec) throw new RelayError("invalid_request", `symbol: unknown product "${b.symbol}".`);
    const price = tryDec(b.price);
    if (price === undefined || price <= 0n)
      throw new RelayError("invalid_request", "price: must be a number greater than 0.");
    await s.paper.setPrice(spec.name, price);
    return c.json({ contract: spec.name, price: toStr(price) });
  });
  return app;
}
