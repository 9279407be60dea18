/**
 * The `propRules` setting of PATCH /api/accounts/:id: presets by name with explicit fields over them, one
 * entry per sub-account, refusals in a trader's words, the bearer token, and how a prop-rule breach reads
 * in Discord.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePayload } from "../../src/notify/codec";
import { Scrubber } from "../../src/notify/format";
import { renderItem } from "../../src/notify/pack";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;
let accountId = "";
let subId = "";

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, logLevel: "info" });
  const created = await t.api<{ id: string; brokerAccounts: { id: string }[] }>("POST", "/api/accounts", {
    name: "Paper prop",
    broker: "paper",
    credentials: { startingBalance: 50000 },
  });
  accountId = created.body.id;
  subId = created.body.brokerAccounts[0]?.id ?? "";
});
afterAll(async () => {
  await t.stop();
  await db.drop();
});

type Body = Record<string, unknown> & { error?: { code: string; message: string }; propRules?: unknown[] };

describe("prop rules API", () => {
  it("PA01 a preset by name, explicit fields over it, shown on the account and resolved by the monitor", async () => {
    const res = await t.api<Body>("PATCH", `/api/accounts/${accountId}`, {
      propRules: [
        { riskPreset: "apex-50k", maxContracts: 4, dailyProfitTarget: { amount: "750.50" } },
        { brokerAccountId: subId, riskPreset: "topstep-50k", trailingDrawdown: { action: "pause" } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.propRules).toEqual([
      { riskPreset: "apex-50k", maxContracts: 4, dailyProfitTarget: { amount: "750.5" } },
      { brokerAccountId: subId, riskPreset: "topstep-50k", trailingDrawdown: { action: "pause" } },
    ]);
    const got = await t.api<Body>("GET", `/api/accounts/${accountId}`);
    expect(got.body.propRules).toHaveLength(2);
    // The sub-account's own entry wins over the login-wide one.
    const rules = t.relay.monitor.prop.rulesOf(accountId, subId);
    expect(rules).toMatchObject({ preset: "topstep-50k", maxContracts: 5 });
    expect(rules?.trailingDrawdown).toMatchObject({ mode: "eod", action: "pause" });
    expect(t.relay.monitor.prop.rulesOf(accountId, "another-sub")).toMatchObject({
      preset: "apex-50k",
      maxContracts: 4,
    });

    const cleared = await t.api<Body>("PATCH", `/api/accounts/${accountId}`, { propRules: null });
    expect(cleared.body.propRules).toEqual([]);
    expect(t.relay.monitor.prop.rulesOf(accountId, subId)).toBeUndefined();
  });

  it.each([
    ["PA02 unknown keys", [{ riskPreset: "apex-50k", trail: 5 }], /unknown field|Unrecognized key/i],
    ["PA03 an unknown preset", [{ riskPreset: "apex-75k" }], /^propRules\.0\.riskPreset: /],
    [
      "PA04 a trailing drawdown without a starting balance",
      [{ trailingDrawdown: { mode: "intraday", amount: 2500 } }],
      /startingBalance: a trailing drawdown needs the plan's starting balance/,
    ],
    ["PA05 a bad action", [{ riskPreset: "apex-50k", trailingDrawdown: { action: "stop" } }], /action/],
    ["PA06 two login-wide entries", [{ maxContracts: 1 }, { maxContracts: 2 }], /only one entry/],
    [
      "PA07 a sub-account not on this login",
      [{ brokerAccountId: "nope", maxContracts: 1 }],
      /not on this login/,
    ],
  ] as const)("%s is refused with the error envelope", async (_id, propRules, message) => {
    const res = await t.api<Body>("PATCH", `/api/accounts/${accountId}`, { propRules });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("invalid_request");
    expect(res.body.error?.message).toMatch(message);
  });

  it("PA08 without the admin token nothing is changed", async () => {
    const res = await t.api<Body>(
      "PATCH",
      `/api/accounts/${accountId}`,
      { propRules: [{ maxContracts: 1 }] },
      "",
    );
    expect(res.status).toBe(401);
    expect((await t.api<Body>("GET", `/api/accounts/${accountId}`)).body.propRules).toEqual([]);
  });

  it("PA09 a prop-rule breach reads in the monitor's own words in Discord", () => {
    const message =
      "trailing drawdown: balance 48,010 reached the floor 48,000; account flattened and its traders disabled";
    const base = {
      at: new Date("2026-03-02T15:04:05Z"),
      scope: "account" as const,
      traderId: null,
      accountId,
      accountName: "Apex 7 (APEX-7-01)",
      recorderIds: [],
      tradingDay: "2026-03-02",
      rule: "trailingDrawdown",
      message,
    };
    const scrubber = new Scrubber();
    const detected = renderItem(
      encodePayload({ event: { ...base, type: "BreachDetected", limit: "48000", pnl: "48010" } }),
      scrubber,
    );
    expect(detected.headline).toBe(`🛑 **Prop rule reached** · **Apex 7 (APEX-7-01)**: ${message}.`);
    const flat = renderItem(
      encodePayload({ event: { ...base, type: "BreachFlattened", attempts: 1 } }),
      scrubber,
    );
    expect(flat.headline).toBe(
      `🛑 **Flat after a prop rule** (1 attempt) · **Apex 7 (APEX-7-01)**: ${message}.`,
    );
  });
});
