/**
 * Three relays on one database (issue 16): each Tradovate login has one session, on the one relay that
 * holds its account (a lease in account_owners); webhooks reaching any relay execute once, on the holder;
 * a relay that dies has its accounts, their executions and their loss watch taken over once the lease
 * lapses. The simulator allows one session per login and would revoke the older of two.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listOwners } from "../../src/db/owners";
import { dec } from "../../src/domain/decimal";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

const LOGINS = 6;
let db: TestDatabase;
let sim: TradovateSim;
const relays: TestRelay[] = [];
let token = "";
const accountIds: string[] = [];
const traderIds: string[] = [];

function env(id: string): Record<string, string> {
  return {
    INSTANCE_ID: id,
    ACCOUNT_LEASE_MS: "4000",
    EXECUTION_LEASE_MS: "5000",
    TRADOVATE_DEMO_URL: sim.restUrl,
    TRADOVATE_LIVE_URL: sim.restUrl,
    TRADOVATE_MD_URL: sim.mdUrl,
  };
}

/** Every account held by a live relay, `perRelay` each, and each holder's session ready. */
async function settled(live: TestRelay[], perRelay: number): Promise<Map<string, string>> {
  return waitFor(
    async () => {
      const owners = (await listOwners(db.sql)).filter((o) => accountIds.includes(o.accountId));
      if (owners.some((o) => !o.live || !o.relay)) return undefined;
      const byRelay = new Map<string, number>();
      for (const o of owners) byRelay.set(o.relay as string, (byRelay.get(o.relay as string) ?? 0) + 1);
      if (byRelay.size !== live.length || [...byRelay.values()].some((n) => n !== perRelay)) return undefined;
      for (const t of live) {
        const id = t.relay.ownership.relay;
        const mine = owners.filter((o) => o.relay === id).map((o) => o.accountId);
        const ready = t.relay.services.pool
          .sessions()
          .filter((s) => s.status.state === "ready")
          .map((s) => s.accountId);
        if (mine.some((a) => !ready.includes(a)) || ready.some((a) => !mine.includes(a))) return undefined;
      }
      return new Map(owners.map((o) => [o.accountId, o.relay as string]));
    },
    `accounts spread ${perRelay} per relay, sessions ready on their holders`,
    30_000,
  );
}

/**
 * No login ever had two trading sockets authorized at once, and no socket in use was closed by the
 * broker's session quota (a handover logs in anew: the login's previous, closed session is the one the
 * quota of one retires, as Tradovate retires the oldest).
 */
function oneSessionPerLogin(): void {
  const kicked = sim.connections("trading").filter((c) => /quota/i.test(c.closedReason ?? ""));
  expect(kicked).toEqual([]);
  const byUser = new Map<string, { from: number; to: number }[]>();
  for (const c of sim.connections("trading")) {
    if (!c.user || c.authorizedAt === undefined) continue;
    const spans = byUser.get(c.user) ?? [];
    spans.push({ from: c.authorizedAt, to: c.closedAt ?? Number.POSITIVE_INFINITY });
    byUser.set(c.user, spans);
  }
  for (const [user, spans] of byUser) {
    spans.sort((a, b) => a.from - b.from);
    for (let i = 1; i < spans.length; i++)
      expect(spans[i]?.from, `${user}: two sessions at once`).toBeGreaterThanOrEqual(spans[i - 1]?.to ?? 0);
  }
}

async function signal(via: TestRelay, action: string, id: string): Promise<string> {
  const res = await via.webhook(token, JSON.stringify({ ticker: "MNQ1!", action, price: "21000", id }));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.traders).toBe(LOGINS);
  const signalId = res.body.signalId as string;
  await waitFor(
    async () => {
      const [r] = await db.sql`
        select count(*) filter (where status in ('done', 'ignored'))::int as done
          from executions where signal_id = ${signalId}`;
      return r?.done === LOGINS ? true : undefined;
    },
    `signal ${id} done on every login`,
    30_000,
  );
  return signalId;
}

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new TradovateSim({ maxSessionsPerUser: 1 });
  await sim.start();
  sim.setPrice(sim.front("MNQ"), dec("21000"));
  for (const id of ["relay-1", "relay-2", "relay-3"])
    relays.push(await startTestRelay({ url: db.url, env: env(id), logLevel: "info" }));
  const [first] = relays;
  if (!first) throw new Error("no relay");
  const recorder = await first.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
    name: "three relays",
    quantity: 1,
  });
  token = recorder.body.webhookToken;
  for (let i = 0; i < LOGINS; i++) {
    sim.addUser({
      name: `mr${i}`,
      password: `pw-${i}`,
      accounts: [{ name: `MR${i}`, balance: dec(50_000) }],
    });
    const account = await first.api<{ id: string }>("POST", "/api/accounts", {
      name: `Login ${i}`,
      broker: "tradovate",
      environment: "demo",
      credentials: {
        username: `mr${i}`,
        password: `pw-${i}`,
        appId: "Relay",
        appVersion: "1.0",
        deviceId: `d${i}`,
      },
    });
    expect(account.status).toBe(201);
    accountIds.push(account.body.id);
    const trader = await first.api<{ id: string }>("POST", "/api/traders", {
      recorderId: recorder.body.id,
      accountId: account.body.id,
      multiplier: 1,
    });
    expect(trader.status).toBe(201);
    traderIds.push(trader.body.id);
  }
  for (const t of relays) await t.relay.services.directory.refresh();
});

afterAll(async () => {
  for (const t of relays) await t.stop().catch(() => undefined);
  await sim.stop();
  await db.drop();
});

describe("three relays on one database", () => {
  it("MR01 accounts spread over the relays; every webhook, whichever relay it reaches, executes once on the holder", async () => {
    // The first relay logged in to all six when they were created; the others' shares come to them.
    const owners = await settled(relays, 2);
    const seq = Math.max(0, ...sim.requests().map((r) => r.seq));
    const signals: string[] = [];
    for (let i = 0; i < 6; i++) {
      const via = relays[i % 3] as TestRelay;
      signals.push(await signal(via, i % 2 === 0 ? "buy" : "exit", `mr01-${i}`));
    }
    const rows = await db.sql`
      select account_id, claimed_by, attempts, status from executions where signal_id = any(${signals}::uuid[])`;
    expect(rows).toHaveLength(6 * LOGINS);
    for (const r of rows) {
      expect(r.status).toBe("done");
      expect(r.attempts).toBe(1);
      expect(r.claimed_by, "run by the account's holder").toBe(owners.get(r.account_id as string));
    }
    expect(new Set(rows.map((r) => r.claimed_by))).toEqual(new Set(["relay-1", "relay-2", "relay-3"]));
    // Executions another relay accepted ran like new ones on their holder: no order looked up at the
    // broker first (a resumed execution asks for every order id its signal could have sent).
    expect(sim.requests({ endpoint: "command/list" }).filter((r) => r.seq > seq)).toEqual([]);
    for (const t of relays) {
      expect(t.logs.some((l) => l.includes('"event":"ExecutionsClaimed"'))).toBe(true);
      expect(t.logs.some((l) => l.includes('"event":"ExecutionsResumed"'))).toBe(false);
    }
    // One market order per login and signal, none twice.
    expect(sim.duplicateClOrdIds()).toEqual([]);
    for (let i = 0; i < LOGINS; i++) expect(sim.orders().filter((o) => o.user === `mr${i}`)).toHaveLength(6);
    oneSessionPerLogin();
  });

  it("MR02 a relay that dies is taken over within the lease: its accounts, their executions and their loss watch", async () => {
    const victim = relays[2] as TestRelay;
    const before = await settled(relays, 2);
    const orphaned = accountIds.filter((a) => before.get(a) === "relay-3");
    expect(orphaned).toHaveLength(2);
    // An open position on every login, then a loss limit on a trader of the relay about to die.
    await signal(relays[0] as TestRelay, "buy", "mr02-open");
    const watched = traderIds[accountIds.indexOf(orphaned[0] as string)] as string;
    const patched = await (relays[0] as TestRelay).api("PATCH", `/api/traders/${watched}`, {
      maxDailyLoss: 50,
    });
    expect(patched.status).toBe(200);

    const killedAt = Date.now();
    await victim.stop(0, { abandon: true }); // like a SIGKILL: its leases are left to lapse
    relays.pop();
    const after = await settled(relays, 3);
    const takeoverMs = Date.now() - killedAt;
    for (const a of orphaned) expect(["relay-1", "relay-2"]).toContain(after.get(a));

    // The new holder read the open position from the database and watches it: the price goes through
    // the limit and the trader is flattened, once, by the relay that holds the account now.
    const holder = relays.find(
      (t) => t.relay.ownership.relay === after.get(orphaned[0] as string),
    ) as TestRelay;
    sim.setPrice(sim.front("MNQ"), dec("20900")); // 100 points = 200 USD on 1 MNQ, past 50
    await waitFor(
      async () => {
        const [b] = await db.sql`select status from breaches where trader_id = ${watched}`;
        return b?.status === "flat" ? b : undefined;
      },
      "the taken-over trader breached and flattened",
      30_000,
    );
    expect([...holder.relay.monitor.breaches.values()].some((b) => b.traderId === watched)).toBe(true);
    const user = `mr${accountIds.indexOf(orphaned[0] as string)}`;
    const afterKill = sim.orders().filter((o) => o.user === user && o.at >= killedAt);
    expect(afterKill, "one flatten, from one relay").toHaveLength(1);

    // Executions of the dead relay's accounts run on their new holders.
    const sid = await signal(relays[1] as TestRelay, "exit", "mr02-after");
    const rows = await db.sql`select account_id, claimed_by from executions where signal_id = ${sid}`;
    expect(rows).toHaveLength(LOGINS);
    for (const r of rows) expect(r.claimed_by).toBe(after.get(r.account_id as string));
    expect(sim.duplicateClOrdIds()).toEqual([]);
    oneSessionPerLogin();
    console.log(`takeover after a kill: ${takeoverMs} ms (lease 4000 ms)`);
  });

  it("MR03 the kill switch used on one relay flattens every account, each on the relay that holds it", async () => {
    const [one, two] = relays as [TestRelay, TestRelay];
    await settled(relays, 3);
    const sid = await signal(two, "buy", "mr03-open");
    const opened = await db.sql`
      select e.account_id from executions e where e.signal_id = ${sid} and e.decision = 'opened'`;
    expect(opened.length).toBeGreaterThan(3); // the trader breached in MR02 stays out for the day
    const askedAt = Date.now();
    const res = await one.api<{ accounts: { accountId: string; state: string }[] }>(
      "POST",
      "/api/emergency/flatten",
      { reason: "MR03", waitMs: 10_000 },
    );
    expect(res.status).toBe(200);
    const states = new Map(res.body.accounts.map((a) => [a.accountId, a.state]));
    for (const a of accountIds) expect(states.has(a), "every account in the report").toBe(true);
    await waitFor(
      async () => {
        const [k] = await db.sql`select value from relay_state where key = 'kill_switch'`;
        return (k?.value as { flatten?: { done?: boolean } })?.flatten?.done ? true : undefined;
      },
      "every account flat, on both relays",
      30_000,
    );
    const [open] = await db.sql`select count(*)::int as n from positions where net_qty <> 0`;
    expect(open?.n).toBe(0);
    for (const row of opened) {
      const user = `mr${accountIds.indexOf(row.account_id as string)}`;
      const sent = sim.orders().filter((o) => o.user === user && o.at >= askedAt);
      expect(sent, `${user}: one flatten`).toHaveLength(1);
    }
    // Both relays took part: each flattened the accounts it holds.
    for (const t of relays)
      expect(t.relay.monitor.emergency.report().some((a) => a.state === "flat")).toBe(true);
    expect(sim.duplicateClOrdIds()).toEqual([]);
    oneSessionPerLogin();
    expect((await two.api("POST", "/api/emergency/resume", { reason: "MR03 done" })).status).toBe(200);
  });

  it("MR04 new login details sent to a relay that does not hold the account: the holder logs in again with them", async () => {
    const owners = await settled(relays, 3);
    const account = accountIds[1] as string;
    const other = relays.find((t) => t.relay.ownership.relay !== owners.get(account)) as TestRelay;
    const holder = relays.find((t) => t.relay.ownership.relay === owners.get(account)) as TestRelay;
    const before = holder.relay.services.pool.peek(account);
    expect(before).toBeDefined();
    const changedAt = Date.now();
    const res = await other.api("PATCH", `/api/accounts/${account}`, {
      credentials: {
        username: "mr1",
        password: "pw-1",
        appId: "Relay",
        appVersion: "1.0",
        deviceId: "d1-new",
      },
    });
    expect(res.status).toBe(200);
    expect(
      other.relay.services.pool.peek(account),
      "no session on the relay that does not hold it",
    ).toBeUndefined();
    await waitFor(
      () => {
        const now = holder.relay.services.pool.peek(account);
        return now && now !== before && now.status().state === "ready" ? true : undefined;
      },
      "the holder's new session",
      20_000,
    );
    const fresh = sim
      .connections("trading")
      .filter((c) => c.user === "mr1" && (c.authorizedAt ?? 0) >= changedAt);
    expect(fresh).toHaveLength(1);
    oneSessionPerLogin();
  });

  // Last: it deletes a trader, and `signal` expects every login's.
  it("MR05 a delete that flattens, sent to a relay that does not hold the account: the holder hands the account over, it is flattened once and deleted", async () => {
    const owners = await settled(relays, 3);
    const one = relays[0] as TestRelay;
    const here = one.relay.ownership.relay;
    const sid = await signal(one, "buy", "mr05-open");
    const opened = await db.sql`
      select account_id, trader_id from executions where signal_id = ${sid} and decision = 'opened'`;
    const target = opened.find((r) => owners.get(r.account_id as string) !== here);
    expect(target, "an open position on an account the other relay holds").toBeDefined();
    const account = target?.account_id as string;
    const trader = target?.trader_id as string;
    const holder = relays.find((t) => t.relay.ownership.relay === owners.get(account)) as TestRelay;
    const user = `mr${accountIds.indexOf(account)}`;

    const askedAt = Date.now();
    const res = await one.api("DELETE", `/api/traders/${trader}?flatten=true`);
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    const sent = sim.orders().filter((o) => o.user === user && o.at >= askedAt);
    expect(sent, "one close, from one relay").toHaveLength(1);
    const [left] = await db.sql`
      select coalesce(sum(abs(net_qty)), 0)::int as n from positions where trader_id = ${trader}`;
    expect(left?.n).toBe(0);
    const [row] = await db.sql`select deleted_at from traders where id = ${trader}`;
    expect(row?.deleted_at).not.toBeNull();
    expect(holder.logs.some((l) => l.includes('"event":"AccountHandedOver"'))).toBe(true);
    expect(one.logs.some((l) => l.includes('"event":"AccountBroughtHere"'))).toBe(true);
    expect(sim.duplicateClOrdIds()).toEqual([]);
    oneSessionPerLogin();
  });
});
