/**
 * Which claimed executions run like new ones (issue 16, src/db/executions.ts claimUnfinished): only those
 * no relay was ever given to run. An execution accepted on one relay for an account another relay holds is
 * fresh for the holder's first claim; once any relay has claimed it (or accepted it for itself), a later
 * claim must resume it asking the broker first, since its first order may be at the broker without a row.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "../../src/db/accounts";
import { claimUnfinished } from "../../src/db/executions";
import { insertRecorder } from "../../src/db/recorders";
import { acceptSignal } from "../../src/db/signals";
import { insertTrader } from "../../src/db/traders";
import { dec } from "../../src/domain/decimal";
import { recorderSettingsSchema } from "../../src/domain/settings";
import { createTestDatabase, type TestDatabase } from "../support/db";

const LEASE_MS = 5_000;
let db: TestDatabase;
let recorderId = "";
const accounts = { a: randomUUID(), b: randomUUID() };

beforeAll(async () => {
  db = await createTestDatabase();
  const rec = await insertRecorder(db.sql, {
    name: "r",
    webhookToken: "tok-claim-fresh-0123456789",
    settings: recorderSettingsSchema.parse({}),
    enabled: true,
  });
  recorderId = rec.id;
  for (const [name, id] of Object.entries(accounts)) {
    await insertAccount(db.sql, {
      id,
      name,
      broker: "paper",
      environment: "demo",
      credentials: Buffer.from([1]),
    });
    await insertTrader(db.sql, {
      recorderId,
      accountId: id,
      brokerAccountId: `SUB-${name}`,
      multiplier: dec(1),
      enabled: true,
      maxDailyLoss: null,
      overrides: {},
    });
  }
  // Two live relays: relay-a holds account a, relay-b holds account b.
  await db.sql`
    insert into relays (id, lease_until) values
      ('relay-a', clock_timestamp() + interval '1 hour'), ('relay-b', clock_timestamp() + interval '1 hour')`;
  await db.sql`
    insert into account_owners (account_id, relay, lease_until, since) values
      (${accounts.a}, 'relay-a', clock_timestamp() + interval '1 hour', clock_timestamp()),
      (${accounts.b}, 'relay-b', clock_timestamp() + interval '1 hour', clock_timestamp())`;
});
afterAll(async () => db.drop());

let n = 0;
async function accept(via: string): Promise<Map<string, { id: string; local: boolean }>> {
  const signalId = randomUUID();
  const result = await acceptSignal(db.sql, {
    signalId,
    recorderId,
    webhook: {
      receivedAt: new Date(),
      recorderId,
      tokenPrefix: "tok-clai",
      sourceIp: "127.0.0.1",
      contentType: "application/json",
      headers: {},
      body: "{}",
      bodyBytes: 2,
    },
    alertId: `claim-fresh-${n++}`,
    fingerprint: `fp-${signalId}`,
    dedupWindowMs: 0,
    signal: { action: "buy", ticker: "MNQ1!", payload: {} },
    instanceId: via,
    leaseMs: LEASE_MS,
  });
  if (result.outcome !== "accepted") throw new Error("not accepted");
  return new Map(result.executions.map((e) => [e.accountId, { id: e.id, local: e.local }]));
}

describe("claimed executions: fresh or resumed", () => {
  it("CF01 the holder's first claim of an execution another relay accepted for it is fresh; any later claim resumes", async () => {
    const made = await accept("relay-a");
    expect(made.get(accounts.a)?.local).toBe(true);
    expect(made.get(accounts.b)?.local).toBe(false);
    const remote = made.get(accounts.b)?.id as string;

    const first = await claimUnfinished(db.sql, "relay-b", LEASE_MS, false);
    expect(first.map((c) => [c.id, c.fresh])).toEqual([[remote, true]]);
    const [row] = await db.sql`select handed, claimed_by from executions where id = ${remote}`;
    expect(row).toEqual({ handed: true, claimed_by: "relay-b" });

    // relay-b dies after the claim (its first order may have left): its lease lapses, and the next
    // claim (relay-b again after a restart, or its account's next holder) is a resume.
    await db.sql`update executions set lease_until = clock_timestamp() - interval '1 second' where id = ${remote}`;
    const again = await claimUnfinished(db.sql, "relay-b", LEASE_MS, false);
    expect(again.map((c) => [c.id, c.fresh])).toEqual([[remote, false]]);
    const own = await claimUnfinished(db.sql, "relay-b", LEASE_MS, true);
    expect(own.map((c) => [c.id, c.fresh])).toEqual([[remote, false]]);
  });

  it("CF02 an execution the accepting relay took for itself is never fresh to a later claim", async () => {
    const made = await accept("relay-a");
    const local = made.get(accounts.a)?.id as string;
    // relay-a crashed before writing anything of it: a restart claims its own executions.
    const mine = await claimUnfinished(db.sql, "relay-a", LEASE_MS, true);
    expect(mine.filter((c) => c.id === local).map((c) => c.fresh)).toEqual([false]);
  });

  it("CF03 a hand-back or a released account does not make an execution fresh again", async () => {
    const made = await accept("relay-a");
    const remote = made.get(accounts.b)?.id as string;
    const first = await claimUnfinished(db.sql, "relay-b", LEASE_MS, false);
    // (CF02's execution for account b, never claimed, comes along: fresh too.)
    expect(first.filter((c) => c.id === remote).map((c) => c.fresh)).toEqual([true]);
    // Handed back, as the dispatcher does for an account it finds it no longer holds.
    await db.sql`update executions set lease_until = null where id = ${remote}`;
    const again = await claimUnfinished(db.sql, "relay-b", LEASE_MS, false);
    expect(again.map((c) => [c.id, c.fresh])).toEqual([[remote, false]]);
  });
});
