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

/**
 * Marks a call the console makes in-process for a signed-in browser (src/console/api.ts). Only code in
 * this process can put a symbol key into a request's env; nothing a client sends can.
 */
export const CONSOLE_CALL: unique symbol = Symbol("console call");

export function requireAdmin(auth: AdminAuth): MiddlewareHandler<Env> {
  return async (c, next) => {
    if ((c.env as { [CONSOLE_CALL]?: boolean } | undefined)?.[CONSOLE_CALL] === true) {
      c.set("actor", "console");
      return next();
    }
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
