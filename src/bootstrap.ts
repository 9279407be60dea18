/**
 * First-start chores: an admin token when none is configured (generated, stored hashed, shown once), and
 * on a local run with an empty database a paper demo (account, recorder, trader) so a new user can send
 * an alert and see a fill within minutes.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { insertAccount } from "./db/accounts";
import { activeTokenHashes, storeToken } from "./db/admin-tokens";
import type { Sql } from "./db/client";
import { insertRecorder, listRecorders } from "./db/recorders";
import { insertTrader } from "./db/traders";
import { dec } from "./domain/decimal";
import { recorderSettingsSchema } from "./domain/settings";
import { newWebhookToken } from "./http/routes/recorders";
import type { CredentialSealer } from "./secrets/sealer";

/** Returns a freshly generated token when this start created one, else undefined. */
export async function ensureAdminToken(
  sql: Sql,
  configured: string | undefined,
): Promise<string | undefined> {
  if (configured) return undefined;
  if ((await activeTokenHashes(sql)).length > 0) return undefined;
  const token = randomBytes(32).toString("base64url");
  await storeToken(sql, token, false);
  return token;
}

/** Keeps a local copy of a generated token under DATA_DIR (owner-only) so `npm run demo` can use it. */
export async function keepLocalToken(dataDir: string, token: string): Promise<void> {
  await writeFile(join(dataDir, "admin-token"), `${token}\n`, { mode: 0o600 });
}

export interface DemoSetup {
  recorderName: string;
  webhookToken: string;
}

/** Creates the paper demo when the database has no recorders at all. */
export async function ensureDemo(sql: Sql, sealer: CredentialSealer): Promise<DemoSetup | undefined> {
  if ((await listRecorders(sql)).length > 0) return undefined;
  const accountId = randomUUID();
  await insertAccount(sql, {
    id: accountId,
    name: "Paper demo",
    broker: "paper",
    environment: "demo",
    credentials: sealer.seal(accountId, { startingBalance: 50_000 }),
  });
  const recorder = await insertRecorder(sql, {
    name: "Demo MNQ",
    webhookToken: newWebhookToken(),
    settings: recorderSettingsSchema.parse({
      quantity: 1,
      takeProfit: [{ ticks: 40, trimPercent: 100 }],
      stopLossTicks: 40,
    }),
    enabled: true,
  });
  await insertTrader(sql, {
    recorderId: recorder.id,
    accountId,
    brokerAccountId: "PAPER",
    multiplier: dec(1),
    enabled: true,
    maxDailyLoss: null,
    overrides: {},
  });
  return { recorderName: recorder.name, webhookToken: recorder.webhookToken };
}
