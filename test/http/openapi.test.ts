/**
 * The OpenAPI document (GET /api/openapi.json) and its reference page (GET /api/docs): a well-formed
 * OpenAPI 3.1 document built from the routes' own zod schemas, covering every route the app registers,
 * whose request bodies accept what the routes accept, carrying no secret, and a page that works under the
 * relay's strict Content-Security-Policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JsonSchema, openApiDocument, REQUEST_BODIES, SECRET_FIELD } from "../../src/http/openapi";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { ADMIN_TOKEN, CREDENTIALS_KEY, startTestRelay, type TestRelay } from "../support/relay";

let db: TestDatabase;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url });
});
afterAll(async () => {
  await t?.stop();
  await db?.drop();
});

const STRICT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, JsonSchema>>;
  components: JsonSchema & { securitySchemes: Record<string, JsonSchema> };
  security: JsonSchema[];
};

const noToken = (path: string) => t.relay.app.request(path);

/**
 * A small JSON Schema check for what the document emits (type, enum, required, properties,
 * additionalProperties, number and length bounds, pattern, items, anyOf). Refinements a JSON schema
 * cannot say (a known time zone, "exactly one unit") are outside it, and the samples below avoid them.
 */
function accepts(schema: JsonSchema, value: unknown): boolean {
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as JsonSchema[]).some((s) => accepts(s, value)))
    return false;
  if (Array.isArray(schema.enum) && !schema.enum.some((v) => v === value)) return false;
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const kind =
      value === null
        ? "null"
        : Array.isArray(value)
          ? "array"
          : Number.isInteger(value)
            ? "integer"
            : typeof value;
    if (!types.some((ty) => ty === kind || (ty === "number" && kind === "integer"))) return false;
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) return false;
    if (typeof schema.maximum === "number" && value > schema.maximum) return false;
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) return false;
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) return false;
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) return false;
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) return false;
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) return false;
    if (schema.items && !value.every((v) => accepts(schema.items as JsonSchema, v))) return false;
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const obj = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in obj)) return false;
    for (const [key, v] of Object.entries(obj)) {
      const prop = props[key];
      if (prop) {
        if (!accepts(prop, v)) return false;
      } else if (schema.additionalProperties === false) return false;
    }
  }
  return true;
}

function bodySchema(doc: Doc, path: string, method: string): JsonSchema {
  const op = doc.paths[path]?.[method] as {
    requestBody?: { content: Record<string, { schema: JsonSchema }> };
  };
  const schema = op?.requestBody?.content["application/json"]?.schema;
  if (!schema) throw new Error(`no body for ${method} ${path}`);
  return schema;
}

/** Every object in the document, with the key it sits under. */
function* walk(node: unknown, key = ""): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(node)) for (const n of node) yield* walk(n, key);
  else if (typeof node === "object" && node !== null) {
    yield [key, node as Record<string, unknown>];
    for (const [k, v] of Object.entries(node)) yield* walk(v, k);
  }
}

describe("OpenAPI document", () => {
  it("OA01 is an OpenAPI 3.1 document served without the token, every $ref resolving and every path parameter declared", async () => {
    const res = await noToken("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("content-security-policy")).toBe(STRICT_CSP);
    const doc = (await res.json()) as Doc;
    expect(doc).toEqual(openApiDocument());
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(15);

    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toMatch(/^\/[^:]*$/); // {param}, never :param
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        expect(typeof op.operationId).toBe("string");
        expect(ids.has(op.operationId as string)).toBe(false);
        ids.add(op.operationId as string);
        expect(typeof op.summary).toBe("string");
        expect(Object.keys(op.responses as object).length).toBeGreaterThan(0);
        const declared = ((op.parameters as JsonSchema[] | undefined) ?? [])
          .filter((p) => p.in === "path")
          .map((p) => p.name);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(declared.sort()).toEqual(inPath.sort());
      }
    }
    for (const [key, node] of walk(doc)) {
      if (key === "$ref" || typeof node.$ref !== "string") continue;
      const target = (node.$ref as string)
        .replace(/^#\//, "")
        .split("/")
        .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], doc);
      expect(target, node.$ref as string).toBeTypeOf("object");
    }
    // The error envelope is the one the relay answers with.
    const unknown = await t.api<{ error: { code: string } }>("GET", `/api/accounts/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    const envelope = (doc.components.schemas as Record<string, JsonSchema>).Error as JsonSchema;
    expect(accepts(envelope, unknown.body)).toBe(true);
    expect(accepts(envelope, { error: { code: "no_such_code", message: "x" } })).toBe(false);
  });

  it("OA02 documents every route the app registers, with its method, and nothing it does not", () => {
    const doc = openApiDocument() as Doc;
    const registered = new Set(
      t.relay.app.routes
        .filter((r) => r.method !== "ALL" && (r.path.startsWith("/api/") || r.path.startsWith("/webhook/")))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)),
    );
    expect(registered.size).toBeGreaterThan(25);
    expect([...registered].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !registered.has(d))).toEqual([]);
    expect(documented.has("post /webhook/{token}")).toBe(true);
  });

  it("OA03 a request body in the document accepts what the route accepts", async () => {
    const doc = openApiDocument() as Doc;
    const check = async (
      path: string,
      method: string,
      zodSchema: { safeParse(v: unknown): { success: boolean } },
      samples: [Record<string, unknown>, boolean][],
      send: (body: Record<string, unknown>) => Promise<number>,
      ok: number,
    ) => {
      const json = bodySchema(doc, path, method);
      for (const [sample, expected] of samples) {
        const label = `${method} ${path} ${JSON.stringify(sample)}`;
        const status = await send(sample);
        expect(status === ok, `${label}: route answered ${status}`).toBe(expected);
        if (!expected) expect(status, label).toBe(400);
        expect(zodSchema.safeParse(sample).success, `${label}: zod`).toBe(expected);
        expect(accepts(json, sample), `${label}: JSON schema`).toBe(expected);
      }
    };

    const recorders: [Record<string, unknown>, boolean][] = [
      [{ name: "NQ scalper" }, true],
      [
        {
          name: "NQ full",
          enabled: false,
          quantity: 2,
          takeProfit: [{ ticks: 20, trimPercent: 50 }],
          stopLossTicks: 30,
          onOpposite: "close",
          tradingWindows: [{ start: "08:30", end: "15:00", days: ["mon"] }],
          ticker: null,
        },
        true,
      ],
      [{ quantity: 1 }, false], // no name
      [{ name: "x", quantity: 0 }, false],
      [{ name: "x", quantity: "2" }, false],
      [{ name: "x", onOpposite: "flip" }, false],
      [{ name: "x", nonsense: 1 }, false],
      [{ name: "x", tradingWindows: [{ start: "8:30", end: "15:00" }] }, false],
      [{ name: "x", takeProfit: [{ ticks: 20 }] }, false],
    ];
    await check(
      "/api/recorders",
      "post",
      REQUEST_BODIES.createRecorder.schema,
      recorders,
      async (b) => (await t.api("POST", "/api/recorders", b)).status,
      201,
    );

    const accounts: [Record<string, unknown>, boolean][] = [
      [{ name: "Paper", broker: "paper" }, true],
      [{ name: "Paper live", broker: "paper", environment: "live", credentials: {} }, true],
      [{ broker: "paper" }, false],
      [{ name: "x", broker: "ib" }, false],
      [{ name: "x", broker: "paper", environment: "prod" }, false],
      [{ name: "", broker: "paper" }, false],
      [{ name: "x", broker: "paper", extra: true }, false],
    ];
    await check(
      "/api/accounts",
      "post",
      REQUEST_BODIES.createAccount.schema,
      accounts,
      async (b) => (await t.api("POST", "/api/accounts", b)).status,
      201,
    );

    const ids = async (n: string) => ({
      recorderId: (await t.api<{ id: string }>("POST", "/api/recorders", { name: n })).body.id,
      accountId: (await t.api<{ id: string }>("POST", "/api/accounts", { name: n, broker: "paper" })).body.id,
    });
    const [a, b] = [await ids("Trader A"), await ids("Trader B")];
    const traders: [Record<string, unknown>, boolean][] = [
      [{ ...a, multiplier: 2, maxDailyLoss: "500", overrides: { quantity: 2 } }, true],
      [{ recorderId: b.recorderId.toUpperCase(), accountId: b.accountId.toUpperCase() }, true],
      [{ recorderId: a.recorderId }, false],
      [{ ...a, recorderId: "not-an-id" }, false],
      [{ ...a, multiplier: true }, false],
      [{ ...a, enabled: "yes" }, false],
      [{ ...a, overrides: { timeZone: "UTC" } }, false],
      [{ ...a, copies: 2 }, false],
    ];
    await check(
      "/api/traders",
      "post",
      REQUEST_BODIES.createTrader.schema,
      traders,
      async (body) => (await t.api("POST", "/api/traders", body)).status,
      201,
    );

    const recorder = await t.api<{ id: string }>("POST", "/api/recorders", { name: "Patched" });
    const patches: [Record<string, unknown>, boolean][] = [
      [{ rotateToken: true }, true],
      [{ name: "Renamed", quantity: 3, stopLossTicks: null }, true],
      [{ rotateToken: "yes" }, false],
      [{ dedupWindowMs: -1 }, false],
      [{ positionSync: "sometimes" }, false],
    ];
    await check(
      "/api/recorders/{id}",
      "patch",
      REQUEST_BODIES.updateRecorder.schema,
      patches,
      async (b) => (await t.api("PATCH", `/api/recorders/${recorder.body.id}`, b)).status,
      200,
    );
  });

  it("OA04 carries no secret: credentials write-only, no value on any secret-looking field, no live token in it", async () => {
    const account = await t.api<{ id: string }>("POST", "/api/accounts", {
      name: "Secret holder",
      broker: "paper",
      credentials: { startingBalance: 50000 },
    });
    expect(account.status).toBe(201);
    const recorder = await t.api<{ webhookToken: string }>("POST", "/api/recorders", {
      name: "Token holder",
    });
    const text = await (await noToken("/api/openapi.json")).text();
    for (const secret of [ADMIN_TOKEN, CREDENTIALS_KEY, recorder.body.webhookToken])
      expect(text.includes(secret)).toBe(false);

    const doc = JSON.parse(text) as Doc;
    let secretFields = 0;
    for (const [, node] of walk(doc)) {
      const named: [string, Record<string, unknown>][] = [
        ...Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>),
        ...(typeof node.name === "string" && typeof node.in === "string" ? [[node.name, node] as const] : []),
      ].map(([k, v]) => [k, v]);
      for (const [name, field] of named) {
        if (!SECRET_FIELD.test(name)) continue;
        secretFields += 1;
        for (const k of ["example", "examples", "default", "const", "enum"])
          expect(field[k], `${name}.${k}`).toBe(undefined);
        const schema = (field.schema ?? {}) as Record<string, unknown>;
        for (const k of ["example", "examples", "default"])
          expect(schema[k], `${name}.schema.${k}`).toBe(undefined);
      }
    }
    expect(secretFields).toBeGreaterThan(2); // credentials (twice), rotateToken, the webhook {token}
    for (const path of ["/api/accounts", "/api/accounts/{id}"]) {
      const method = path.endsWith("}") ? "patch" : "post";
      expect(
        ((bodySchema(doc, path, method).properties as Record<string, JsonSchema>).credentials as JsonSchema)
          .writeOnly,
      ).toBe(true);
    }
    // Nothing else under /api opened up with it.
    expect((await noToken("/api/accounts")).status).toBe(401);
    expect((await noToken("/api/openapi.json/x")).status).toBe(401);
  });

  it("OA05 the reference page lists every route and works under the strict CSP: no script, no style, nothing loaded", async () => {
    const res = await noToken("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toBe(STRICT_CSP);
    const html = await res.text();
    const doc = openApiDocument() as Doc;
    for (const [path, item] of Object.entries(doc.paths))
      for (const method of Object.keys(item))
        expect(html, `${method} ${path}`).toContain(`${method.toUpperCase()} ${path}`);
    // The CSP loads nothing: no script, no stylesheet, no inline style or handler, no external resource.
    expect(html).not.toMatch(/<script|<style|<link|<img|<iframe|\sstyle=|\son\w+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    // Readable on a phone, labelled, keyboard-usable: viewport, language, named landmarks, in-page links
    // that all land on an element.
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/<nav id="contents" aria-label="Routes">/);
    expect(html).toContain("<main");
    const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const targets = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
    expect(targets.length).toBeGreaterThan(30);
    expect(targets.filter((x) => !ids.has(x))).toEqual([]);
    // Body fields with type, required-ness, default and description.
    expect(html).toMatch(/<code>name<\/code>: <code>string<\/code>, <strong>required<\/strong>/);
    expect(html).toContain(
      "<code>quantity</code>: <code>integer or null</code>, optional, default <code>1</code>",
    );
    expect(html).toContain("Contracts per entry when the alert gives no quantity.");
    expect(html).toContain("write-only, never returned");
  });
});
