/** Admin bearer tokens, stored only as sha256 hashes. */
import { createHash } from "node:crypto";
import type { Sql } from "./client";

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export async function activeTokenHashes(sql: Sql): Promise<string[]> {
  const rows = await sql`select token_hash from admin_tokens where revoked_at is null`;
  return rows.map((r) => r.token_hash as string);
}

/** Stores a new token hash; with `revokeOthers` every older token stops working. */
export async function storeToken(sql: Sql, token: string, revokeOthers: boolean): Promise<void> {
  await sql.begin(async (tx) => {
    if (revokeOthers) await tx`update admin_tokens set revoked_at = now() where revoked_at is null`;
    await tx`insert into admin_tokens (token_hash) values (${hashToken(token)})`;
  });
}
