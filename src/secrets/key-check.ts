/**
 * Proof that CREDENTIALS_KEY is the key this database's broker credentials were sealed with, checked at
 * start: a wrong key would otherwise start "healthy", accept alerts, and fail every execution with
 * "Unsupported state or unable to authenticate data". A check value sealed with the key is kept in
 * relay_state; a database from before it (or one never given credentials) is checked against the
 * credentials already stored, then gets the check value.
 */
import type { Sql } from "../db/client";
import { readState, writeState } from "../db/relay-state";
import type { CredentialSealer } from "./sealer";

const CHECK_KEY = "credentials_key_check";
const CHECK_ID = "credentials-key-check";

export class WrongCredentialsKey extends Error {}

const wrong = () =>
  new WrongCredentialsKey(
    "CREDENTIALS_KEY is not the key the broker credentials in this database were sealed with; start the relay with the original CREDENTIALS_KEY (or re-enter every account's credentials after clearing them).",
  );

export async function checkCredentialsKey(sql: Sql, sealer: CredentialSealer): Promise<void> {
  const stored = await readState<{ sealed: string }>(sql, CHECK_KEY);
  if (stored) {
    try {
      sealer.open(CHECK_ID, Buffer.from(stored.sealed, "base64"));
      return;
    } catch {
      throw wrong();
    }
  }
  const [account] = await sql`
    select id, credentials from accounts where deleted_at is null order by created_at limit 1`;
  if (account) {
    try {
      sealer.open(account.id as string, account.credentials as Buffer);
    } catch {
      throw wrong();
    }
  }
  await writeState(sql, CHECK_KEY, { sealed: sealer.seal(CHECK_ID, { check: true }).toString("base64") });
}
