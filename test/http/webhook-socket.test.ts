/**
 * Served by Node, the webhook reads its headers and body straight from the IncomingMessage
 * (src/intake/source.ts); in-process it reads the fetch Request. Both must reply and log alike: the same
 * request over a real socket and through `app.request()` gives the same reply and the same raw-log row.
 */
import { connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RelayServer, startRelayServer } from "../../src/http/server";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let t: TestRelay;
let token: string;
let server: RelayServer;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestRelay({ url: db.url, env: { WEBHOOK_RATE_BURST: "1000" } });
  ({ token } = await paperSetup(t, { multipliers: [] }));
  server = await startRelayServer({
    fetch: t.relay.app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: {
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
      keepAliveTimeoutMs: 1_000,
      maxRequestsPerSocket: 0,
      maxConnections: 4_096,
      maxConnectionsPerIp: 256,
      fdReserve: 0,
    },
    logger: createLogger({ level: "silent" }),
    fd: null,
  });
});
afterAll(async () => {
  await server?.close();
  await t?.stop();
  await db?.drop();
});

type Header = [string, string];

/** One request over a raw socket (`Connection: close`); the reply's status and JSON body, or none if cut. */
function overSocket(
  headers: Header[],
  body: Buffer,
  o: { chunked?: boolean; cutAfter?: number } = {},
): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port: server.port, host: "127.0.0.1" });
    const received: Buffer[] = [];
    socket.on("data", (d: Buffer) => received.push(d));
    socket.on("error", () => undefined);
    socket.once("close", () => {
      const text = Buffer.concat(received).toString("utf8");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (!status) return resolve(undefined);
      const json = text.slice(text.indexOf("\r\n\r\n") + 4);
      resolve({ status: Number(status), body: json ? JSON.parse(json) : {} });
    });
    socket.once("connect", () => {
      const lines = [`POST /webhook/${token} HTTP/1.1`, "Host: relay.test", "Connection: close"];
      for (const [k, v] of headers) lines.push(`${k}: ${v}`);
      if (o.chunked) lines.push("Transfer-Encoding: chunked");
      else lines.push(`Content-Length: ${body.byteLength}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (o.cutAfter !== undefined) {
        socket.write(body.subarray(0, o.cutAfter));
        setTimeout(() => socket.destroy(), 100);
      } else if (o.chunked) {
        for (let at = 0; at < body.byteLength; at += 4_096) {
          const part = body.subarray(at, at + 4_096);
          socket.write(`${part.byteLength.toString(16)}\r\n`);
          socket.write(part);
          socket.write("\r\n");
        }
        socket.write("0\r\n\r\n");
      } else socket.write(body);
    });
    socket.once("error", reject);
  });
}

/** The same request in-process; `cut` makes the body stream fail after its first bytes. */
async function inProcess(
  headers: Header[],
  body: Buffer,
  o: { declare?: boolean; cut?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const h = new Headers(headers);
  if (o.declare !== false) h.set("content-length", String(body.byteLength));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array(o.cut ? body.subarray(0, 10) : body));
      if (o.cut) c.error(new Error("the client went away"));
      else c.close();
    },
  });
  const res = await t.relay.app.request(`/webhook/${token}`, {
    method: "POST",
    headers: h,
    body: stream,
    duplex: "half",
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function lastRow(): Promise<Record<string, unknown>> {
  const [row] = await db.sql`
    select outcome, http_status, body, body_bytes, content_type, headers from webhooks order by id desc limit 1`;
  return row as Record<string, unknown>;
}

/** Sends over the socket, then in-process; returns both replies and both raw-log rows. */
async function both(
  headers: Header[],
  body: (side: string) => Buffer,
  o: { chunked?: boolean } = {},
): Promise<{ replies: unknown[]; rows: Record<string, unknown>[] }> {
  const a = await overSocket(headers, body("socket"), o);
  const rowA = await lastRow();
  const b = await inProcess(headers, body("inproc"), { declare: !o.chunked });
  const rowB = await lastRow();
  return { replies: [a, b], rows: [rowA, rowB] };
}

describe("the webhook over a socket reads like the fetch Request", () => {
  it("AP01 a valid alert: 202 both ways, with the same stored body, headers and size", async () => {
    const alert = (side: string) =>
      Buffer.from(
        JSON.stringify({
          ticker: "MNQ1!",
          action: "buy",
          price: "21000",
          id: `ap01-${side}`,
          note: "café ✓",
        }),
      );
    const { replies, rows } = await both(
      [
        ["Content-Type", "application/json"],
        ["User-Agent", "Go-http-client/1.1"],
      ],
      alert,
    );
    expect(replies.map((r) => (r as { status: number }).status)).toEqual([202, 202]);
    expect(rows[0]?.body).toBe(alert("socket").toString("utf8"));
    expect(rows[1]?.body).toBe(alert("inproc").toString("utf8"));
    expect({ ...rows[0], body: undefined }).toEqual({ ...rows[1], body: undefined });
    expect(rows[0]?.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "Go-http-client/1.1",
    });
  });

  it("AP02 a byte-order mark, invalid UTF-8 and repeated headers: the same 422 and the same row", async () => {
    const body = () =>
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('{"ticker":"MNQ1!","action":"bu'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('y"'),
      ]);
    const { replies, rows } = await both(
      [
        ["Content-Type", "text/plain"],
        ["Content-Type", "charset=utf-8"],
        ["User-Agent", "first"],
        ["User-Agent", "second"],
        ["X-Forwarded-For", "203.0.113.7"],
        ["X-Forwarded-For", "198.51.100.2"],
      ],
      body,
    );
    expect(replies).toEqual([replies[1], replies[1]]);
    expect((replies[0] as { status: number }).status).toBe(422);
    expect(rows[0]).toEqual(rows[1]);
    expect(rows[0]).toMatchObject({ outcome: "invalid", body_bytes: body().byteLength });
    expect(rows[0]?.headers).toMatchObject({ "user-agent": "first, second" });
  });

  it("AP03 over the size limit, declared or chunked: 413 both ways", async () => {
    const big = () => Buffer.alloc(20_000, "x");
    const declared = await both([["Content-Type", "application/json"]], big);
    expect(declared.replies.map((r) => (r as { status: number }).status)).toEqual([413, 413]);
    expect(declared.rows[0]).toEqual(declared.rows[1]);
    expect(declared.rows[0]).toMatchObject({ outcome: "too_large", body_bytes: 20_000 });

    const chunked = await both([["Content-Type", "application/json"]], big, { chunked: true });
    expect(chunked.replies.map((r) => (r as { status: number }).status)).toEqual([413, 413]);
    for (const row of chunked.rows) expect(row).toMatchObject({ outcome: "too_large", http_status: 413 });
    for (const row of chunked.rows) expect(Number(row.body_bytes)).toBeGreaterThan(16_384);
  });

  it("AP04 a body cut short is logged as incomplete both ways", async () => {
    const before = await db.sql`select count(*)::int as n from webhooks where outcome = 'incomplete'`;
    const body = Buffer.from(JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: "ap04" }));
    const cut = await overSocket([["Content-Type", "application/json"]], body, { cutAfter: 10 });
    expect(cut).toBeUndefined();
    const local = await inProcess([["Content-Type", "application/json"]], body, { cut: true });
    expect(local.status).toBe(400);
    await waitFor(async () => {
      const [row] = await db.sql`select count(*)::int as n from webhooks where outcome = 'incomplete'`;
      return row?.n === (before[0]?.n as number) + 2 ? true : undefined;
    }, "both incomplete rows");
  });
});
