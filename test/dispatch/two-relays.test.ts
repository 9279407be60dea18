/**
 * Two relays on one database: each runs the executions of the accounts it holds, whichever relay accepted
 * the webhook, and nothing twice; when one dies mid fan-out, the other takes its accounts and executions
 * over once their leases lapse, asking the broker first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperFactory } from "../../src/brokers/paper/index";
import { listOwners } from "../../src/db/owners";
import { CrashSwitch, crashingFactory } from "../support/crashing-session";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const LEASE = { EXECUTION_LEASE_MS: "5000", ACCOUNT_LEASE_MS: "1000" };

describe("two relays on one database", () => {
  it("M01 each runs the executions of the accounts it holds, exactly once", async () => {
    const a = await startTestRelay({ url: db.url, env: { INSTANCE_ID: "relay-a", ...LEASE } });
    const b = await startTestRelay({ url: db.url, env: { INSTANCE_ID: "relay-b", ...LEASE } });
    try {
      const { token } = await paperSetup(a, {
        multipliers: [1, 2],
        settings: { quantity: 1 },
        recorderName: "shared",
      });
      await b.relay.services.directory.refresh();
      // Relay a logged in to both accounts when they were created; b's share comes to it.
      const owners = await waitFor(async () => {
        const rows = (await listOwners(db.sql)).filter((o) => o.live);
        return rows.length === 2 && new Set(rows.map((o) => o.relay)).size === 2
          ? new Map(rows.map((o) => [o.accountId, o.relay]))
          : undefined;
      }, "one account per relay");
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const relay = i % 2 === 0 ? a : b;
        const res = await relay.webhook(
          token,
          JSON.stringify({
            ticker: "MNQ1!",
            action: i % 4 < 2 ? "buy" : "exit",
            price: "21000",
            id: `m${i}`,
          }),
        );
        expect(res.status).toBe(202);
        ids.push(res.body.signalId as string);
        await waitFor(async () => {
          const [r] =
            await db.sql`select count(*)::int n from executions where signal_id = ${res.body.signalId as string} and status in ('pending', 'running')`;
          return r?.n === 0 ? true : undefined;
        }, "the signal to finish");
      }
      const rows =
        await db.sql`select account_id, claimed_by, attempts, status from executions where signal_id = any(${ids}::uuid[])`;
      expect(rows).toHaveLength(12);
      expect(rows.every((r) => r.attempts <= 1)).toBe(true);
      for (const r of rows) expect(r.claimed_by).toBe(owners.get(r.account_id as string));
      expect(new Set(rows.map((r) => r.claimed_by))).toEqual(new Set(["relay-a", "relay-b"]));
      const [dups] =
        await db.sql`select count(*)::int n from (select client_order_id from broker_orders group by 1 having count(*) > 1) d`;
      expect(dups?.n).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it("M02 a relay that dies mid fan-out is taken over after its lease, without doubling an order", async () => {
    const crash = new CrashSwitch(Number.POSITIVE_INFINITY);
    const a = await startTestRelay({
      url: db.url,
      env: { INSTANCE_ID: "relay-c", ...LEASE },
      factories: (paper) => [crashingFactory(new PaperFactory(paper), crash)],
    });
    const b = await startTestRelay({ url: db.url, env: { INSTANCE_ID: "relay-d", ...LEASE } });
    try {
      const { token, accountIds } = await paperSetup(a, {
        multipliers: [1, 1, 1],
        settings: { quantity: 1, stopLossTicks: 10 },
        recorderName: "takeover",
      });
      await b.relay.services.directory.refresh();
      crash.allow = 2;
      crash.placed = 0;
      const res = await a.webhook(
        token,
        JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: "takeover" }),
      );
      expect(res.status).toBe(202);
      await crash.died;
      await a.stop(0, { abandon: true }); // the process is gone: no more lease renewals

      const rows = await waitFor(
        async () => {
          const r =
            await db.sql`select status, claimed_by from executions where signal_id = ${res.body.signalId as string}`;
          return r.every((x) => x.status === "done") ? r : undefined;
        },
        "relay-d to finish relay-c's executions",
        30_000,
      );
      expect(rows.some((r) => r.claimed_by === "relay-d")).toBe(true);
      for (const accountId of accountIds) {
        const book = await b.relay.services.paper.book(accountId);
        await b.relay.services.paper.sync(book);
        const orders = book.venue.listOrders(accountId).map((o) => o.clientOrderId);
        expect(new Set(orders).size).toBe(orders.length);
        expect(orders.filter((id) => id?.endsWith("-entry"))).toHaveLength(1);
        expect(orders.filter((id) => id?.endsWith("-sl0"))).toHaveLength(1);
      }
    } finally {
      await b.stop();
    }
  });
});
