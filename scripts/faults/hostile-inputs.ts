/**
 * Hostile webhook bodies, generated from a seed with fast-check: nearly valid alerts with a twist,
 * arbitrary strings and bytes (invalid UTF-8), arbitrary JSON, deeply nested arrays and objects, SQL- and
 * template-looking values, oversized bodies (some streamed without a content-length), odd content types
 * and tokens (unknown, SQL-looking, very long, non-ASCII).
 */
import fc from "fast-check";

export interface HostileBody {
  body: Uint8Array;
  contentType: string;
  /** "known": the hostile recorder's token; otherwise the token to use as is. */
  token: "known" | string;
  /** Streamed in chunks with no content-length. */
  chunked: boolean;
  label: string;
}

const enc = (s: string) => new TextEncoder().encode(s);

const sqlish = fc.constantFrom(
  "' OR 1=1; --",
  "'); drop table signals; --",
  "1; select pg_sleep(10)",
  "$$; delete from executions; $$",
  "\\x00\\u0000",
  "{{strategy.order.action}}",
  "$" + "{jndi:ldap://x}",
  "<script>alert(1)</script>",
  "../../etc/passwd",
  "1e309",
  "-0",
  "NaN",
  "Infinity",
  "\u0000",
  "\uFEFF",
  "\uD800",
  "21000.25",
);

const value = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  sqlish,
  fc.json(),
);

const signalish = fc.record(
  {
    ticker: value,
    symbol: value,
    action: value,
    data: value,
    sentiment: value,
    quantity: value,
    qty: value,
    price: value,
    time: fc.oneof(
      value,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    ),
    id: value,
    takeProfit: fc.oneof(value, fc.record({ ticks: value, percent: value, limitPrice: value })),
    stopLoss: fc.oneof(value, fc.record({ stopPrice: value, amount: value })),
    positionSize: value,
    marketPosition: value,
    prevMarketPosition: value,
  },
  { requiredKeys: [] },
);

const nearlyValid = fc.record({
  ticker: fc.constantFrom("MNQ1!", "ES1!", "CME_MINI:NQ1!", "MESZ2026", "GC1!", "MNQ1! ", "mnq1!", "ZZZ9!"),
  action: fc.constantFrom("buy", "sell", "exit", "close", "flat", "cancel", "add", "BUY", "Long", "hold"),
  quantity: fc.oneof(fc.integer({ min: -2, max: 1000 }), fc.constantFrom("1", "2", "0.5", "1e2", "", " 3 ")),
  price: fc.oneof(fc.double({ min: -1, max: 100_000, noNaN: true }), fc.constantFrom("21000.25", "0", "abc")),
  id: fc.option(fc.oneof(fc.string({ maxLength: 40 }), sqlish), { nil: undefined }),
  sentiment: fc.option(fc.constantFrom("long", "short", "flat", "bullish", "sideways"), { nil: undefined }),
  time: fc.option(
    fc.oneof(
      fc.constant(new Date().toISOString()),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.integer(),
      // Far past and far future: ages beyond any 32-bit millisecond count.
      fc.constantFrom(
        "2100-01-01T00:00:00Z",
        "2000-01-01T00:00:00Z",
        "1000000000",
        "9999999999999",
        "0001-01-01",
      ),
    ),
    { nil: undefined },
  ),
  extra: value,
});

function nestedArrays(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

const bodyArb: fc.Arbitrary<{ bytes: Uint8Array; label: string; chunked?: boolean }> = fc.oneof(
  {
    weight: 4,
    arbitrary: nearlyValid.map((o) => ({ bytes: enc(JSON.stringify(o)), label: "nearly-valid" })),
  },
  { weight: 2, arbitrary: signalish.map((o) => ({ bytes: enc(JSON.stringify(o)), label: "signal-shaped" })) },
  { weight: 1, arbitrary: fc.string().map((s) => ({ bytes: enc(s), label: "string" })) },
  { weight: 1, arbitrary: fc.string({ unit: "binary" }).map((s) => ({ bytes: enc(s), label: "unicode" })) },
  { weight: 1, arbitrary: fc.json().map((s) => ({ bytes: enc(s), label: "json" })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => ({ bytes: b, label: "bytes" })) },
  {
    weight: 1,
    arbitrary: sqlish.map((s) => ({
      bytes: enc(JSON.stringify({ ticker: s, action: s, id: s })),
      label: "sql",
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 10, max: 200_000 })
      .map((d) => ({ bytes: enc(d % 2 ? nestedArrays(d) : nestedObjects(d)), label: "deeply-nested" })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 16_000, max: 300_000 }), fc.boolean()).map(([n, chunked]) => ({
      bytes: enc(JSON.stringify({ ticker: "MNQ1!", action: "buy", comment: "x".repeat(n) })),
      label: chunked ? "oversized-chunked" : "oversized",
      chunked,
    })),
  },
  { weight: 1, arbitrary: fc.constant({ bytes: new Uint8Array(0), label: "empty" }) },
  {
    weight: 1,
    // Invalid UTF-8 inside otherwise valid JSON.
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((junk) => {
      const head = enc('{"ticker":"MNQ1!","action":"buy","id":"');
      const tail = enc('"}');
      const out = new Uint8Array(head.length + junk.length + tail.length);
      out.set(head, 0);
      out.set(
        junk.map((b) => b | 0x80),
        head.length,
      );
      out.set(tail, head.length + junk.length);
      return { bytes: out, label: "invalid-utf8" };
    }),
  },
);

const contentTypes = fc.constantFrom(
  "application/json",
  "application/json",
  "text/plain",
  "text/plain; charset=utf-8",
  "",
  "application/x-www-form-urlencoded",
  "application/json; charset=latin1",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/json; charset=utf-16",
  "' OR 1=1 --",
);

const tokens = fc.oneof(
  { weight: 14, arbitrary: fc.constant("known") },
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: sqlish.filter((s) => s.length > 0) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 6000 }).map((n) => "t".repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom("%00", "..%2F..%2Fapi", "ünïcödé", "🚀", " ", "null") },
);

/**
 * Bodies every run sends whatever the seed: each once made (or could make) a relay answer 5xx or skip its
 * raw log. Escapes are written by hand so the JSON text is exactly this.
 */
const KNOWN_NASTY: string[] = [
  '{"ticker":"MNQ1!","action":"buy","id":"x\\ud800y"}',
  '{"ticker":"MNQ1!","action":"buy","id":"x\\udc00y"}',
  '{"ticker":"MNQ\\ud800","action":"buy"}',
  '{"ticker":"MNQ1!","action":"buy","sentiment":"\\udfff"}',
  '{"ticker":"MNQ1!","action":"buy","comment":"\\ud83d"}',
  '{"ticker":"MNQ1!\\u0000","action":"buy"}',
  '{"ticker":"MNQ1!","action":"buy","id":"\\u0000"}',
  '{"ticker":"MNQ1!","action":"buy","time":"2100-01-01T00:00:00Z"}',
  '{"ticker":"MNQ1!","action":"buy","time":"9999999999999"}',
  '{"ticker":"MNQ1!","action":"buy","time":"2000-01-01T00:00:00Z"}',
  '{"ticker":"MNQ1!","action":"buy","time":"0001-01-01"}',
  '{"ticker":"MNQ1!","action":"buy","time":"1000000000"}',
  '{"ticker":"MNQ1!","action":"buy","time":0}',
  '{"ticker":"MNQ1!","action":"buy","quantity":"1e309"}',
  '{"ticker":"MNQ1!","action":"buy","quantity":1e308}',
  '{"ticker":"MNQ1!","action":"buy","qty":"99999999999999999999"}',
  '{"ticker":"MNQ1!","action":"buy","price":"1e400"}',
  '{"ticker":"MNQ1!","action":"buy","price":"-0"}',
  '{"ticker":"MNQ1!","action":"buy","takeProfit":{"ticks":1e20},"stopLoss":{"stopPrice":"-5"}}',
  '{"ticker":"MNQ1!","action":"buy","takeProfit":{"ticks":{"a":[[[[]]]]}}}',
  '{"action":"buy","action":"sell","ticker":"MNQ1!"}',
  '\uFEFF{"ticker":"MNQ1!","action":"buy"}',
  '{"ticker":"MNQ1!","action":"buy"} trailing',
  '{"__proto__":{"action":"sell"},"ticker":"MNQ1!","action":"buy"}',
  '{"constructor":{"prototype":{"polluted":true}},"ticker":"MNQ1!","action":"buy"}',
];

/** `count` hostile requests, the same for the same seed; the known nasty ones come first. */
export function hostileBodies(seed: number, count: number): HostileBody[] {
  const known: HostileBody[] = KNOWN_NASTY.slice(0, count).map((text) => ({
    body: enc(text),
    contentType: "application/json",
    token: "known",
    chunked: false,
    label: "known-nasty",
  }));
  const arb = fc.record({ body: bodyArb, contentType: contentTypes, token: tokens });
  const generated = fc.sample(arb, { seed, numRuns: Math.max(0, count - known.length) }).map((x) => ({
    body: x.body.bytes,
    contentType: x.contentType,
    token: x.token,
    chunked: x.body.chunked ?? false,
    label: x.body.label,
  }));
  return [...known, ...generated];
}
