/**
 * Thousands of arbitrary and hostile bodies at the webhook: never a 5xx, never an uncaught error, and every
 * request in the raw log with its outcome.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;
let token: string;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);

beforeAll(async () => {
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUncaught);
  db = await createTestDatabase();
  t = await startTestRelay({
    url: db.url,
    env: { WEBHOOK_RATE_PER_MINUTE: "1000000", WEBHOOK_RATE_BURST: "1000000", WEBHOOK_MAX_BYTES: "4096" },
    logLevel: "warn",
  });
  // No traders: accepted signals fan out to nobody, so the test measures intake alone.
  ({ token } = await paperSetup(t, { multipliers: [], settings: { dedupWindowMs: 0 } }));
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  process.off("unhandledRejection", onUncaught);
  await t.stop();
  await db.drop();
});

const fieldValue = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "buy",
    "sell",
    "exit",
    "MNQ1!",
    "{{ticker}}",
    "1e309",
    "-0",
    "NaN",
    "' OR 1=1; --",
    "\u0000",
    "21000.25",
  ),
  fc.json(),
);

const signalish = fc.record(
  {
    ticker: fieldValue,
    symbol: fieldValue,
    action: fieldValue,
    data: fieldValue,
    sentiment: fieldValue,
    quantity: fieldValue,
    qty: fieldValue,
    contracts: fieldValue,
    price: fieldValue,
    time: fc.oneof(
      fieldValue,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    ),
    id: fieldValue,
    takeProfit: fc.oneof(fieldValue, fc.record({ ticks: fieldValue, percent: fieldValue })),
    stopLoss: fc.oneof(fieldValue, fc.record({ stopPrice: fieldValue, amount: fieldValue })),
    positionSize: fieldValue,
    marketPosition: fieldValue,
  },
  { requiredKeys: [] },
);

function deeplyNested(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

// Mostly-valid alerts with a random twist, so the accept path is fuzzed too.
const nearlyValid = fc
  .record({
    ticker: fc.constantFrom("MNQ1!", "ES1!", "CME_MINI:NQ1!", "MESZ2026", "GC1!"),
    action: fc.constantFrom("buy", "sell", "exit", "close", "flat", "cancel", "add", "BUY", "Long"),
    quantity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom("1", "2", "0.5", "1e2")),
    price: fc.oneof(fc.double({ min: 1, max: 50_000, noNaN: true }), fc.constantFrom("21000.25", "0.0001")),
    id: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: "binary", maxLength: 8 })), {
      nil: undefined,
    }),
    sentiment: fc.option(fc.constantFrom("long", "short", "flat", "bullish"), { nil: undefined }),
    takeProfit: fc.option(
      fc.oneof(fc.integer({ min: 0, max: 100 }), fc.record({ percent: fc.constantFrom("1", "0.5") })),
      { nil: undefined },
    ),
    extra: fieldValue,
    // Now, a little off, or wildly off in either direction (wrong time zones, garbage dates).
    time: fc.option(
      fc.oneof(
        fc.integer({ min: -120_000, max: 120_000 }).map((d) => new Date(Date.now() + d).toISOString()),
        fc
          .date({ min: new Date("1970-01-02"), max: new Date("2199-12-31"), noInvalidDate: true })
          .map((d) => d.toISOString()),
        fc.integer({ min: 0, max: 9_999_999_999_999 }),
      ),
      { nil: undefined },
    ),
  })
  .map((o) => new TextEncoder().encode(JSON.stringify(o)));

const body = fc.oneof(
  nearlyValid,
  nearlyValid,
  fc.string().map((s) => new TextEncoder().encode(s)),
  fc.string({ unit: "binary" }).map((s) => new TextEncoder().encode(s)),
  fc.json().map((s) => new TextEncoder().encode(s)),
  signalish.map((o) => new TextEncoder().encode(JSON.stringify(o))),
  fc.uint8Array({ maxLength: 600 }), // invalid UTF-8 and binary
  fc.integer({ min: 1, max: 50_000 }).map((n) => new TextEncoder().encode(deeplyNested(Math.min(n, 2000)))),
  fc
    .integer({ min: 4000, max: 9000 })
    .map((n) =>
      new TextEncoder().encode(JSON.stringify({ ticker: "MNQ1!", action: "buy", comment: "x".repeat(n) })),
    ),
);

const contentType = fc.constantFrom(
  "application/json",
  "text/plain",
  "",
  "application/x-www-form-urlencoded",
  "application/json; charset=latin1",
  "multipart/form-data; boundary=x",
);

describe("webhook fuzzing", () => {
  it("Z01 never answers 5xx or throws, and logs every request with its outcome", async () => {
    const [{ n: before }] =
      (await db.sql`select coalesce(sum(requests), 0)::int n from webhooks`) as unknown as [{ n: number }];
    let sent = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, contentType, fc.boolean(), async (bytes, type, useKnownToken) => {
        sent++;
        const res = await t.relay.app.request(`/webhook/${useKnownToken ? token : "nope"}`, {
          method: "POST",
          headers: { "content-type": type, "user-agent": "x".repeat(300), "x-forwarded-for": "' OR 1=1 --" },
          body: bytes,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status).toBeLessThan(500);
        const reply = (await res.json()) as Record<string, unknown>;
        expect(typeof reply.status).toBe("string");
      }),
      { numRuns: 3000 },
    );
    const [{ n: after }] =
      (await db.sql`select coalesce(sum(requests), 0)::int n from webhooks`) as unknown as [{ n: number }];
    expect(after - before).toBe(sent);
    const outcomes = await db.sql`select outcome, count(*)::int n from webhooks group by outcome`;
    expect(outcomes.every((o) => typeof o.outcome === "string" && o.outcome.length > 0)).toBe(true);
    expect(uncaught).toEqual([]);
    // Every class of reply was exercised, not just one.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([202, 404, 413, 422]));
    // 3,000 requests, each written to the database: room for a busy machine (not a speed check).
  }, 300_000);
});
