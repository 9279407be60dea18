/**
 * Issue 12 item 7 over HTTP, on a real relay and Postgres: no unbounded sizes. "quantity":"2000000000",
 * "1,5" and a multiplier of 1e300 (the reproduced cases) are refused with a clear message, and a refusal
 * changes nothing: no signal, no execution, no trader row; only the raw webhook row with its outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";

type Body = Record<string, unknown> & { error?: { code: string; message: string } };

async function counts(db: TestDatabase) {
  const [row] = await db.sql`
    select (select count(*)::int from signals) signals,
           (select count(*)::int from executions) executions,
           (select count(*)::int from traders) traders,
           (select count(*)::int from recorders) recorders,
           (select count(*)::int from webhooks) webhooks`;
  return row as { signals: number; executions: number; traders: number; recorders: number; webhooks: number };
}

const alert = (extra: Record<string, unknown>) =>
  JSON.stringify({
    ticker: "MNQ1!",
    action: "buy",
    price: "21000",
    time: new Date().toISOString(),
    ...extra,
  });

describe("size sanity with the default MAX_ORDER_CONTRACTS (100)", () => {
  let db: TestDatabase;
  let t: TestRelay;
  let token: string;
  let recorderId: string;
  let traderId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestRelay({
      url: db.url,
      env: { WEBHOOK_RATE_PER_MINUTE: "6000", WEBHOOK_RATE_BURST: "1000" },
    });
    const setup = await paperSetup(t, { multipliers: [1], settings: { dedupWindowMs: 0 } });
    token = setup.token;
    recorderId = setup.recorderId;
    traderId = setup.traderIds[0] as string;
  });
  afterAll(async () => {
    await t.stop();
    await db.drop();
  });

  it("S01 refuses the reproduced alerts with 422, a clear message, and commits nothing but the raw row", async () => {
    const cases: [string, string][] = [
      [
        alert({ quantity: "2000000000" }),
        'Field "quantity" is more than this relay allows in one order: at most 100 contracts (MAX_ORDER_CONTRACTS), got "2000000000".',
      ],
      [
        alert({ quantity: "1,5" }),
        'Field "quantity" must be a whole number of contracts written plainly, like 2 (got "1,5").',
      ],
      [
        alert({ qty: "1.5" }),
        'Field "qty" must be a whole number of contracts written plainly, like 2 (got "1.5").',
      ],
      [
        alert({ contracts: "1e3" }),
        'Field "contracts" must be a whole number of contracts written plainly, like 2 (got "1e3").',
      ],
      [
        alert({ quantity: 1.5 }),
        'Field "quantity" must be a whole number of contracts written plainly, like 2 (got 1.5).',
      ],
      [
        alert({ quantity: 101 }),
        'Field "quantity" is more than this relay allows in one order: at most 100 contracts (MAX_ORDER_CONTRACTS), got 101.',
      ],
      // The number literal 1e3 is 1000 once parsed: refused by the limit, as its value.
      [
        '{"ticker":"MNQ1!","action":"buy","quantity":1e3}',
        'Field "quantity" is more than this relay allows in one order: at most 100 contracts (MAX_ORDER_CONTRACTS), got 1000.',
      ],
      [alert({ quantity: -2 }), 'Field "quantity" must be at least 1 contract (got -2).'],
      [alert({ quantity: "0" }), 'Field "quantity" must be at least 1 contract (got "0").'],
      [
        alert({ price: "21,000" }),
        'Field "price" must be a number written plainly, with a dot for decimals and no thousands separators, like 21000.25 (got "21,000").',
      ],
    ];
    for (const [body, message] of cases) {
      const before = await counts(db);
      const res = await t.webhook(token, body);
      expect(res.status, body).toBe(422);
      expect(res.body, body).toEqual({ status: "invalid", error: { code: "invalid", message } });
      const after = await counts(db);
      expect(after, body).toEqual({ ...before, webhooks: before.webhooks + 1 });
      const [raw] =
        await db.sql`select outcome, http_status, error, body from webhooks order by id desc limit 1`;
      expect(raw, body).toMatchObject({ outcome: "invalid", http_status: 422, error: message, body });
    }
  });

  it("S02 accepts plain whole quantities up to the limit, as numbers or digit strings", async () => {
    for (const quantity of [2, "3", 100, "100"]) {
      const before = await counts(db);
      const res = await t.webhook(token, alert({ quantity, id: `s02-${typeof quantity}-${quantity}` }));
      expect(res.status, String(quantity)).toBe(202);
      const [signal] = await db.sql`select quantity from signals where id = ${res.body.signalId as string}`;
      expect(String(signal?.quantity)).toBe(String(quantity));
      const after = await counts(db);
      expect(after.signals).toBe(before.signals + 1);
      expect(after.executions).toBe(before.executions + 1);
    }
  });

  it("S03 refuses recorder sizes above MAX_ORDER_CONTRACTS on create and update, creating nothing", async () => {
    for (const key of ["quantity", "addQuantity", "maxContracts"]) {
      const before = await counts(db);
      const res = await t.api<Body>("POST", "/api/recorders", { name: `too big ${key}`, [key]: 101 });
      expect(res.status, key).toBe(400);
      expect(res.body.error?.message).toBe(
        `${key}: 101 is more than this relay allows in one order: at most 100 contracts (MAX_ORDER_CONTRACTS)`,
      );
      expect((await counts(db)).recorders).toBe(before.recorders);

      const patched = await t.api<Body>("PATCH", `/api/recorders/${recorderId}`, { [key]: 500 });
      expect(patched.status, key).toBe(400);
      expect(patched.body.error?.message).toMatch(
        new RegExp(`^${key}: 500 is more than .* at most 100 contracts`),
      );
    }
    const [stored] = await db.sql`select settings from recorders where id = ${recorderId}`;
    expect(stored?.settings).toMatchObject({ quantity: 1 });
    expect(stored?.settings.addQuantity).toBeUndefined();
    expect(stored?.settings.maxContracts).toBeUndefined();

    const ok = await t.api<Body>("POST", "/api/recorders", {
      name: "at the limit",
      quantity: 100,
      addQuantity: 100,
      maxContracts: 100,
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ quantity: 100, addQuantity: 100, maxContracts: 100 });
  });

  it("S04 refuses multipliers outside 0.01..100 (or with more than two decimals) on POST and PATCH, changing nothing", async () => {
    const account = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: "Paper M",
      broker: "paper",
    });
    expect(account.status).toBe(201);
    const bad: [string, string][] = [
      ["1e300", "1e+300"],
      ["0", "0"],
      ["-1", "-1"],
      ['"1,5"', '"1,5"'],
      ["0.001", "0.001"],
      ["101", "101"],
      ["1e-9", "1e-9"],
      ['"NaN"', '"NaN"'],
    ];
    for (const [literal, got] of bad) {
      const message = `multiplier: must be a number from 0.01 to 100 with at most 2 decimal places, like 1.5 (got ${got})`;
      const before = await counts(db);
      // Sent as raw JSON text so the literal (1e300, 1e-9) is exactly what a client would write.
      const created = await t.api<Body>(
        "POST",
        "/api/traders",
        `{"recorderId":"${recorderId}","accountId":"${account.body.id}","multiplier":${literal}}`,
      );
      expect(created.status, literal).toBe(400);
      expect(created.body.error?.message, literal).toBe(message);
      const patched = await t.api<Body>("PATCH", `/api/traders/${traderId}`, `{"multiplier":${literal}}`);
      expect(patched.status, literal).toBe(400);
      expect(patched.body.error?.message, literal).toBe(message);
      expect(await counts(db), literal).toEqual(before);
      const [row] = await db.sql`select multiplier::text m from traders where id = ${traderId}`;
      expect(row?.m, literal).toBe("1");
    }

    const low = await t.api<Body>("POST", "/api/traders", {
      recorderId,
      accountId: account.body.id,
      multiplier: 0.01,
    });
    expect(low.status).toBe(201);
    expect(low.body.multiplier).toBe("0.01");
    const high = await t.api<Body>("PATCH", `/api/traders/${low.body.id as string}`, { multiplier: 100 });
    expect(high.status).toBe(200);
    expect(high.body.multiplier).toBe("100");
    const text = await t.api<Body>("PATCH", `/api/traders/${traderId}`, { multiplier: "2.50" });
    expect(text.status).toBe(200);
    expect(text.body.multiplier).toBe("2.5");
  });
});

describe("MAX_ORDER_CONTRACTS from the environment", () => {
  let db: TestDatabase;
  let t: TestRelay;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestRelay({ url: db.url, env: { MAX_ORDER_CONTRACTS: "5" } });
  });
  afterAll(async () => {
    await t.stop();
    await db.drop();
  });

  it("S05 reaches intake and the recorder API", async () => {
    const { token, recorderId } = await paperSetup(t, { multipliers: [1], settings: { quantity: 5 } });
    const before = await counts(db);
    const over = await t.webhook(token, alert({ quantity: 6 }));
    expect(over.status).toBe(422);
    expect((over.body.error as { message: string }).message).toMatch(
      /at most 5 contracts \(MAX_ORDER_CONTRACTS\)/,
    );
    expect(await counts(db)).toEqual({ ...before, webhooks: before.webhooks + 1 });
    const at = await t.webhook(token, alert({ quantity: "5" }));
    expect(at.status).toBe(202);

    const recorder = await t.api<Body>("POST", "/api/recorders", { name: "six", quantity: 6 });
    expect(recorder.status).toBe(400);
    expect(recorder.body.error?.message).toMatch(/^quantity: 6 is more than .* at most 5 contracts/);

    // A recorder stored above a since-lowered limit can still be renamed or disabled; raising its size is refused.
    await db.sql`update recorders set settings = settings || '{"quantity": 50}'::jsonb where id = ${recorderId}`;
    const renamed = await t.api<Body>("PATCH", `/api/recorders/${recorderId}`, {
      name: "renamed",
      enabled: false,
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: "renamed", enabled: false });
    const raised = await t.api<Body>("PATCH", `/api/recorders/${recorderId}`, { quantity: 60 });
    expect(raised.status).toBe(400);
  });
});
