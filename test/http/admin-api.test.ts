/**
 * The admin API (BRIEF section 9): bearer auth on every route, CRUD of accounts, recorders and traders,
 * one error envelope, and the status surfaces that answer "did my alert arrive, what did each account do".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

type Body = Record<string, unknown> & { error?: { code: string; message: string } };

describe("admin API", () => {
  it("A01 refuses every /api route without the right bearer token, with the error envelope", async () => {
    const routes: [string, string][] = [
      ["GET", "/api/accounts"],
      ["POST", "/api/accounts"],
      ["GET", "/api/recorders"],
      ["PATCH", "/api/recorders/00000000-0000-0000-0000-000000000000"],
      ["DELETE", "/api/traders/00000000-0000-0000-0000-000000000000"],
      ["GET", "/api/signals"],
      ["GET", "/api/webhooks"],
      ["GET", "/api/executions?status=failed"],
      ["GET", "/api/status"],
      ["POST", "/api/paper/prices"],
    ];
    for (const [method, path] of routes) {
      for (const token of ["", "wrong-token-wrong-token-wrong"]) {
        const res = await t.api<Body>(method, path, method === "GET" ? undefined : {}, token);
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.error?.code).toBe("unauthorized");
      }
    }
    expect((await t.relay.app.request("/health")).status).toBe(200);
  });

  it("A02 accounts: create discovers sub-accounts, never returns credentials, and deletion is guarded", async () => {
    const created = await t.api<Body & { id: string; brokerAccounts: { id: string }[] }>(
      "POST",
      "/api/accounts",
      {
        name: "Paper A",
        broker: "paper",
        credentials: { startingBalance: 25000 },
      },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Paper A",
      broker: "paper",
      environment: "demo",
      status: "connected",
    });
    expect(created.body.brokerAccounts).toEqual([{ id: "PAPER", name: "Paper A (paper)" }]);
    expect(JSON.stringify(created.body)).not.toMatch(/credentials|startingBalance|25000/);

    const list = await t.api<{ accounts: { id: string }[] }>("GET", "/api/accounts");
    expect(list.body.accounts.some((a) => a.id === created.body.id)).toBe(true);
    const renamed = await t.api<Body>("PATCH", `/api/accounts/${created.body.id}`, { name: "Paper A2" });
    expect(renamed.body.name).toBe("Paper A2");

    const bad = await t.api<Body>("POST", "/api/accounts", { name: "x", broker: "ibkr" });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/^broker:/);
    const extra = await t.api<Body>("POST", "/api/accounts", { name: "x", broker: "paper", password: "p" });
    expect(extra.body.error?.message).toBe("unknown field: password");

    const rec = await t.api<{ id: string }>("POST", "/api/recorders", { name: "guard" });
    const link = await t.api<{ id: string }>("POST", "/api/traders", {
      recorderId: rec.body.id,
      accountId: created.body.id,
    });
    expect(link.status).toBe(201);
    const refused = await t.api<Body>("DELETE", `/api/accounts/${created.body.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error?.message).toMatch(/linked to 1 trader/);
    expect((await t.api("DELETE", `/api/traders/${link.body.id}`)).status).toBe(204);
    expect((await t.api("DELETE", `/api/accounts/${created.body.id}`)).status).toBe(204);
    expect((await t.api<Body>("GET", `/api/accounts/${created.body.id}`)).status).toBe(404);
  });

  it("A03 recorders: defaults are explicit, unknown settings are refused, 0 means none, null clears", async () => {
    const r = await t.api<Body & { id: string; webhookToken: string; webhookUrl: string }>(
      "POST",
      "/api/recorders",
      {
        name: "NQ scalper",
        quantity: 2,
        takeProfit: [{ ticks: 0, trimPercent: 100 }],
        stopLossTicks: 0,
        maxContracts: 4,
      },
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: "NQ scalper",
      enabled: true,
      quantity: 2,
      takeProfit: [],
      stopLossTicks: 0,
      avgDown: false,
      maxContracts: 4,
      maxSignalAgeSeconds: 30,
      dedupWindowMs: 3000,
      tradingWindows: [],
      timeZone: "America/Chicago",
      onOpposite: "reverse",
    });
    expect(r.body.webhookUrl).toBe(`https://relay.example.com/webhook/${r.body.webhookToken}`);
    expect(r.body.webhookToken.length).toBeGreaterThanOrEqual(32);

    const typo = await t.api<Body>("POST", "/api/recorders", { name: "typo", tp: 10 });
    expect(typo.status).toBe(400);
    expect(typo.body.error?.message).toBe("unknown field: tp");
    const mixed = await t.api<Body>("POST", "/api/recorders", {
      name: "mixed",
      takeProfit: [
        { ticks: 0, trimPercent: 50 },
        { ticks: 10, trimPercent: 100 },
      ],
    });
    expect(mixed.body.error?.message).toMatch(/takeProfit: a target with 0 ticks/);
    const tz = await t.api<Body>("POST", "/api/recorders", { name: "tz", timeZone: "Mars/Olympus" });
    expect(tz.body.error?.message).toMatch(/timeZone: is not a known time zone/);

    const patched = await t.api<Body>("PATCH", `/api/recorders/${r.body.id}`, {
      maxContracts: null,
      avgDown: true,
    });
    expect(patched.body.maxContracts).toBeUndefined();
    expect(patched.body).toMatchObject({ avgDown: true, quantity: 2 });
    const rotated = await t.api<Body>("PATCH", `/api/recorders/${r.body.id}`, { rotateToken: true });
    expect(rotated.body.webhookToken).not.toBe(r.body.webhookToken);
    const old = await t.webhook(r.body.webhookToken, '{"ticker":"MNQ1!","action":"buy"}');
    expect(old.status).toBe(404);
  });

  it("A04 traders: one link per sub-account, sub-accounts checked, multipliers positive, open positions guard delete", async () => {
    const { recorderId, accountIds, traderIds, token } = await paperSetup(t, {
      multipliers: [1],
      recorderName: "links",
    });
    const dup = await t.api<Body>("POST", "/api/traders", { recorderId, accountId: accountIds[0] });
    expect(dup.status).toBe(409);
    const wrongSub = await t.api<Body>("POST", "/api/traders", {
      recorderId,
      accountId: accountIds[0],
      brokerAccountId: "NOPE",
    });
    expect(wrongSub.status).toBe(422);
    expect(wrongSub.body.error?.message).toMatch(/no sub-account "NOPE"/);
    const zero = await t.api<Body>("PATCH", `/api/traders/${traderIds[0]}`, { multiplier: "0" });
    expect(zero.body.error?.message).toBe(
      'multiplier: must be a number from 0.01 to 100 with at most 2 decimal places, like 1.5 (got "0")',
    );
    const ok = await t.api<Body>("PATCH", `/api/traders/${traderIds[0]}`, {
      multiplier: "1.5",
      maxDailyLoss: 500,
      overrides: { stopLossTicks: 8 },
    });
    expect(ok.body).toMatchObject({
      multiplier: "1.5",
      maxDailyLoss: "500",
      overrides: { stopLossTicks: 8 },
    });

    const signal = await t.webhook(
      token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", quantity: 2 }),
    );
    await waitFor(async () => {
      const tr = await t.api<{ positions: unknown[] }>("GET", `/api/traders/${traderIds[0]}`);
      const ex = await t.api<{ executions: { status: string }[] }>(
        "GET",
        `/api/signals/${signal.body.signalId as string}`,
      );
      return tr.body.positions.length === 1 && ex.body.executions.every((e) => e.status === "done")
        ? true
        : undefined;
    }, "position");
    expect(signal.status).toBe(202);
    const guarded = await t.api<Body>("DELETE", `/api/traders/${traderIds[0]}`);
    expect(guarded.status).toBe(409);
    expect(guarded.body.error?.message).toMatch(
      /holds long 3 MNQ\w+, 1 working order at the broker; .*\?flatten=true/,
    );
    expect((await t.api("DELETE", `/api/traders/${traderIds[0]}?force=true`)).status).toBe(422);
    expect((await t.api("DELETE", `/api/traders/${traderIds[0]}?flatten=true`)).status).toBe(204);
    const [left] = await t.sql`
      select count(*) filter (where status in ('sending', 'accepted', 'working', 'unknown'))::int as live,
             (select coalesce(sum(net_qty), 0)::int from positions where trader_id = ${traderIds[0] as string}) as net
        from broker_orders where trader_id = ${traderIds[0] as string}`;
    expect(left).toMatchObject({ live: 0, net: 0 });
  });

  it("A05 speaks one error envelope for malformed input, unknown routes and unknown ids", async () => {
    const res = await t.relay.app.request("/api/recorders", {
      method: "POST",
      headers: {
        authorization: "Bearer test-admin-token-0123456789abcdef",
        "content-type": "application/json",
      },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "invalid_request", message: "The request body must be JSON." },
    });
    const route = await t.api<Body>("GET", "/api/nothing-here");
    expect(route.status).toBe(404);
    expect(route.body.error?.code).toBe("not_found");
    const id = await t.api<Body>("GET", "/api/signals/not-a-uuid");
    expect(id.status).toBe(404);
    const limit = await t.api<Body>("GET", "/api/signals?limit=0");
    expect(limit.body.error?.message).toMatch(/limit must be/);
  });

  it("A06 answers: did my alert arrive, what did each account do, why did this one fail", async () => {
    const { token, recorderId } = await paperSetup(t, { multipliers: [1, 2], recorderName: "why" });
    // No price in the alert and no paper price yet for this contract: the paper broker refuses, in words.
    const sent = await t.webhook(token, JSON.stringify({ ticker: "HG1!", action: "buy" }));
    expect(sent.status).toBe(202);
    const failed = await waitFor(async () => {
      const r = await t.api<{ executions: { status: string; error: string; account: { name: string } }[] }>(
        "GET",
        "/api/executions?status=failed",
      );
      const mine = r.body.executions.filter((e) => e.error?.includes("HG"));
      return mine.length === 2 ? mine : undefined;
    }, "two failed executions");
    expect(failed[0]?.error).toMatch(
      /entry rejected by the broker: paper trading has no price for HG\w+ yet/,
    );

    const signals = await t.api<{ signals: { id: string; executions: Record<string, number> }[] }>(
      "GET",
      `/api/signals?recorderId=${recorderId}`,
    );
    expect(signals.body.signals[0]).toMatchObject({ id: sent.body.signalId, executions: { failed: 2 } });
    const detail = await t.api<{
      webhook: { outcome: string };
      executions: { status: string; account: { name: string } }[];
    }>("GET", `/api/signals/${sent.body.signalId}`);
    expect(detail.body.webhook.outcome).toBe("accepted");
    expect(detail.body.executions.map((e) => e.status)).toEqual(["failed", "failed"]);

    await t.webhook(token, '{"ticker":"MNQ1!"}');
    const log = await t.api<{ webhooks: { outcome: string; error: string; body: string }[] }>(
      "GET",
      `/api/webhooks?outcome=invalid&recorderId=${recorderId}`,
    );
    expect(log.body.webhooks[0]).toMatchObject({ outcome: "invalid", body: '{"ticker":"MNQ1!"}' });
    expect(log.body.webhooks[0]?.error).toMatch(/needs an "action"/);

    const status = await t.api<{
      sessions: { state: string; broker: string; lastHeartbeatAt: string }[];
      queue: { concurrency: number };
    }>("GET", "/api/status");
    expect(status.body.sessions.length).toBeGreaterThan(0);
    expect(
      status.body.sessions.every((s) => s.state === "ready" && s.broker === "paper" && s.lastHeartbeatAt),
    ).toBe(true);
    expect(status.body.queue.concurrency).toBe(1000);
  });

  it("A08 exposes Prometheus metrics without a token: stage latencies, outcomes, sessions", async () => {
    const { token } = await paperSetup(t, { multipliers: [1], recorderName: "metrics" });
    const sent = await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }));
    await waitFor(async () => {
      const s = await t.api<{ executions: Record<string, number> }>(
        "GET",
        `/api/signals/${sent.body.signalId}`,
      );
      return (s.body.executions as unknown as unknown[]).length === 1 ? true : undefined;
    }, "execution");
    await waitFor(async () => {
      const text = await (await t.relay.app.request("/metrics")).text();
      return /relay_signal_stage_seconds_count\{stage="filled"\} [1-9]/.test(text) ? true : undefined;
    }, "the fill stage to be recorded");
    const res = await t.relay.app.request("/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const stage of ["committed", "dispatched", "sent", "acknowledged", "filled"]) {
      expect(text).toMatch(
        new RegExp(`relay_signal_stage_seconds_bucket\\{le="[^"]+",stage="${stage}"\\} [1-9]`),
      );
    }
    expect(text).toMatch(/relay_webhooks_total\{outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/relay_orders_total\{broker="paper",outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/relay_broker_sessions\{broker="paper",state="ready"\} [1-9]/);
  });

  it("A07 paginates signals and webhooks with a cursor", async () => {
    const { token, recorderId } = await paperSetup(t, { multipliers: [], recorderName: "pages" });
    for (let i = 0; i < 5; i++)
      await t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", id: `p${i}` }));
    const first = await t.api<{ signals: { id: string }[]; next: string }>(
      "GET",
      `/api/signals?limit=2&recorderId=${recorderId}`,
    );
    const second = await t.api<{ signals: { id: string }[]; next: string }>(
      "GET",
      `/api/signals?limit=2&recorderId=${recorderId}&before=${first.body.next}`,
    );
    const third = await t.api<{ signals: { id: string }[]; next: string | null }>(
      "GET",
      `/api/signals?limit=2&recorderId=${recorderId}&before=${second.body.next}`,
    );
    const ids = [...first.body.signals, ...second.body.signals, ...third.body.signals].map((s) => s.id);
    expect(new Set(ids).size).toBe(5);
    expect(third.body.next).toBeNull();
  });
});
