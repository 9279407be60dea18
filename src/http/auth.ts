/**
 * Admin bearer token. The configured RELAY_ADMIN_TOKEN, or the tokens whose sha256 hashes are stored
 * (one is generated and printed once on first start). Compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { activeTokenHashes } from "../db/admin-tokens";
import type { Sql } from "../db/client";
import { envelope } from "../errors";
import type { Env } from "./context";

const sha = (s: string) => createHash("sha256").update(s).digest();

export class AdminAuth {
  private hashes: Buffer[] = [];
  private loadedAt = 0;

  constructor(
    private readonly sql: Sql,
    private readonly configured: string | undefined,
  ) {}

  async verify(token: string): Promise<boolean> {
    const presented = sha(token);
    if (this.configured !== undefined) return timingSafeEqual(presented, sha(this.configured));
    if (Date.now() - this.loadedAt > 10_000) await this.reload();
    let ok = false;
    for (const h of this.hashes) ok = timingSafeEqual(presented, h) || ok;
    return ok;
  }

  async reload(): Promise<void> {
    this.hashes = (await activeTokenHashes(this.sql)).map((h) => Buffer.from(h, "hex"));
    this.loadedAt = Date.now();
  }
}

export function requireAdmin(auth: AdminAuth): MiddlewareHandler<Env> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1] || !(await auth.verify(match[1]))) {
      return c.json(
        envelope("unauthorized", "Missing or wrong admin token: send Authorization: Bearer <token>."),
        401,
      );
    }
    c.set("actor", "admin");
    await next();
  };
}
