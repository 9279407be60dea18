/**
 * The HTTP server module (src/http/server.ts) over real sockets: slow headers and bodies are cut within
 * their bounds (Node's defaults held them 300 s and more), a request whose body arrived is never cut while
 * it is being worked on, and open connections are capped per peer address and in total, excess ones
 * closed at once. The webhook path runs on a real relay on a real PostgreSQL.
 */
import { type Socket, connect as tcpConnect } from "node:net";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { capKey, sharedPeer } from "../../src/http/connection-gate";
import { connectionBudget } from "../../src/http/fd-budget";
import { type HttpLimits, type RelayServer, startRelayServer } from "../../src/http/server";
import { AddressSet } from "../../src/intake/client-ip";
import { createLogger } from "../../src/log";
import { Metrics } from "../../src/metrics";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

const LIMITS: HttpLimits = {
  headersTimeoutMs: 1_000,
  bodyTimeoutMs: 2_000,
  keepAliveTimeoutMs: 1_000,
  maxRequestsPerSocket: 0,
  maxConnections: 4_096,
  maxConnectionsPerIp: 256,
  fdReserve: 0,
};

interface Probe {
  socket: Socket;
  received: () => string;
  /** Resolves when the server closed the socket, with how long after connecting. */
  closed: Promise<number>;
  isClosed: () => boolean;
}

/** A raw TCP client: connects (from `localAddress`), writes `first`, then one byte every `trickleMs`. */
function probe(port: number, o: { localAddress?: string; first?: string; trickleMs?: number } = {}) {
  return new Promise<Probe>((resolve, reject) => {
    const socket = tcpConnect({
      port,
      host: "127.0.0.1",
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    });
    let text = "";
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const at = Date.now();
    const closed = new Promise<number>((r) =>
      socket.once("close", () => {
        done = true;
        if (timer) clearInterval(timer);
        r(Date.now() - at);
      }),
    );
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.once("connect", () => {
      if (o.first) socket.write(o.first);
      if (o.trickleMs) timer = setInterval(() => !done && socket.write("x"), o.trickleMs);
      resolve({ socket, received: () => text, closed, isClosed: () => done });
    });
    socket.once("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const servers: RelayServer[] = [];
const probes: Probe[] = [];
afterEach(async () => {
  for (const p of probes.splice(0)) p.socket.destroy();
  for (const s of servers.splice(0)) await s.close();
});

function tinyApp(): Hono {
  const app = new Hono();
  app.post("/echo", async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  app.post("/slow", async (c) => {
    await c.req.arrayBuffer();
    await sleep(Number(c.req.query("ms") ?? "0"));
    return c.json({ ok: true });
  });
  app.get("/", (c) => c.text("ok"));
  return app;
}

async function tinyServer(limits: Partial<HttpLimits> = {}, o: { exempt?: (a: string) => boolean } = {}) {
  const logs: string[] = [];
  const metrics = new Metrics(false);
  const server = await startRelayServer({
    fetch: tinyApp().fetch,
    port: 0,
    hostname: "127.0.0.1",
    limits: { ...LIMITS, ...limits },
    logger: createLogger({ level: "debug", destination: { write: (l: string) => void logs.push(l) } }),
    metrics,
    ...(o.exempt ? { exempt: o.exempt } : {}),
    fd: null,
  });
  servers.push(server);
  return { server, logs, metrics };
}

async function keep(p: Promise<Probe>): Promise<Probe> {
  const x = await p;
  probes.push(x);
  return x;
}

const HEAD = (path: string, length: number, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: relay.test\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe("slow clients are cut", () => {
  it("S01 a body trickled one byte per second loses its socket within the bound, with a 408", async () => {
    const { server } = await tinyServer();
    const p = await keep(probe(server.port, { first: HEAD("/echo", 1_000), trickleMs: 1_000 }));
    // Headers 1 s + body 2 s: cut after about 3 s (plus Node's check interval); Node's defaults: 300-330 s.
    const heldMs = await Promise.race([p.closed, sleep(20_000).then(() => -1)]);
    expect(heldMs).toBeGreaterThan(0);
    expect(p.received()).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  it("S02 a connection that never sends its headers (or trickles them) is cut within the bound", async () => {
    const { server } = await tinyServer();
    const silent = await keep(probe(server.port));
    const trickled = await keep(probe(server.port, { first: "POST /echo HTTP/1.1\r\n", trickleMs: 300 }));
    const held = await Promise.race([
      Promise.all([silent.closed, trickled.closed]),
      sleep(20_000).then(() => undefined),
    ]);
    expect(held).toBeDefined();
  }, 30_000);

  it("S03 a request whose body has arrived is answered even when the handler takes longer than the timeouts", async () => {
    const { server } = await tinyServer();
    const res = await fetch(`http://127.0.0.1:${server.port}/slow?ms=4000`, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  }, 30_000);

  it("S04 an idle keep-alive socket is closed after the keep-alive timeout", async () => {
    const { server } = await tinyServer();
    const p = await keep(probe(server.port, { first: "GET / HTTP/1.1\r\nHost: relay.test\r\n\r\n" }));
    await waitFor(() => p.received().includes("\r\n\r\nok"), "the reply");
    const held = await Promise.race([p.closed, sleep(20_000).then(() => -1)]);
    expect(held).toBeGreaterThan(0);
  }, 30_000);

  it("S05 a socket serves at most maxRequestsPerSocket requests, the last says Connection: close", async () => {
    const { server } = await tinyServer({ maxRequestsPerSocket: 2, keepAliveTimeoutMs: 2_000 });
    const get = "GET / HTTP/1.1\r\nHost: relay.test\r\n\r\n";
    const p = await keep(probe(server.port, { first: get }));
    await waitFor(() => p.received().includes("\r\n\r\nok"), "the first reply");
    expect(p.received()).not.toMatch(/connection: close/i);
    p.socket.write(get);
    await waitFor(() => p.received().split("\r\n\r\nok").length === 3, "the second reply");
    expect(p.received()).toMatch(/connection: close/i);
    // Node does not end the socket itself after that reply: the keep-alive timeout does.
    expect(await Promise.race([p.closed, sleep(20_000).then(() => -1)])).toBeGreaterThan(0);
  }, 30_000);
});

describe("connection caps", () => {
  it("C01 over the per-address cap a connection is closed at once, unanswered; other addresses and loopback still get in", async () => {
    const { server, logs, metrics } = await tinyServer(
      { maxConnectionsPerIp: 3, headersTimeoutMs: 15_000, bodyTimeoutMs: 15_000 },
      { exempt: sharedPeer(new AddressSet([])) },
    );
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await keep(probe(server.port, { localAddress: "127.0.0.2" })));
    await waitFor(() => server.gate.openFrom("127.0.0.2") === 3, "three admitted from 127.0.0.2");
    const refused = await keep(probe(server.port, { localAddress: "127.0.0.2", first: HEAD("/echo", 2) }));
    await Promise.race([refused.closed, sleep(10_000)]);
    expect(refused.isClosed()).toBe(true);
    expect(refused.received()).toBe("");
    expect(held.every((p) => !p.isClosed())).toBe(true);

    // Another address, and loopback (where a local proxy connects from), are not held back by 127.0.0.2.
    const other = await keep(probe(server.port, { localAddress: "127.0.0.3" }));
    const loop = [];
    for (let i = 0; i < 5; i++) loop.push(await keep(probe(server.port, { localAddress: "127.0.0.1" })));
    await waitFor(() => server.gate.open === 9, "3 + 1 + 5 admitted");
    expect(other.isClosed()).toBe(false);
    expect(loop.some((p) => p.isClosed())).toBe(false);

    // A slot freed is a slot again.
    held[0]?.socket.destroy();
    await waitFor(() => server.gate.openFrom("127.0.0.2") === 2, "the slot freed");
    const again = await keep(probe(server.port, { localAddress: "127.0.0.2", first: HEAD("/echo", 2) }));
    again.socket.write("{}");
    await waitFor(() => again.received().includes('{"bytes":2}'), "a reply on the freed slot");

    server.gate.flush();
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === "ConnectionsRefused");
    expect(line).toMatchObject({ perIp: 1, total: 0, top: [{ address: "127.0.0.2", refused: 1 }] });
    expect(await metrics.registry.metrics()).toMatch(
      /relay_http_connections_refused_total\{reason="per_ip"\} 1/,
    );
  });

  it("C02 a trusted proxy's address is not capped per address", async () => {
    const { server } = await tinyServer(
      { maxConnectionsPerIp: 2, headersTimeoutMs: 15_000, bodyTimeoutMs: 15_000 },
      { exempt: sharedPeer(new AddressSet(["127.0.0.4/32"])) },
    );
    const ps = [];
    for (let i = 0; i < 6; i++) ps.push(await keep(probe(server.port, { localAddress: "127.0.0.4" })));
    await waitFor(() => server.gate.open === 6, "six admitted from the proxy");
    expect(ps.some((p) => p.isClosed())).toBe(false);
  });

  it("C03 over the total cap a connection is closed at once and counted; the others stay", async () => {
    const { server, logs, metrics } = await tinyServer({
      maxConnections: 4,
      headersTimeoutMs: 15_000,
      bodyTimeoutMs: 15_000,
    });
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await keep(probe(server.port)));
    await waitFor(() => server.gate.open === 4, "four admitted");
    const refused = [];
    for (let i = 0; i < 3; i++) refused.push(await keep(probe(server.port, { first: HEAD("/echo", 2) })));
    await Promise.race([Promise.all(refused.map((p) => p.closed)), sleep(10_000)]);
    expect(refused.every((p) => p.isClosed() && p.received() === "")).toBe(true);
    expect(held.some((p) => p.isClosed())).toBe(false);
    server.gate.flush();
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === "ConnectionsRefused");
    expect(line).toMatchObject({ total: 3, perIp: 0 });
    expect(await metrics.registry.metrics()).toMatch(
      /relay_http_connections_refused_total\{reason="total"\} 3/,
    );
  });

  it("C04 the total cap leaves the descriptor reserve free under the open file limit", async () => {
    expect(connectionBudget(4_096, 1_024, { soft: 1_048_576, hard: 1_048_576, inUse: 60 })).toEqual({
      maxConnections: 4_096,
      limitedBy: "config",
    });
    expect(connectionBudget(4_096, 1_024, { soft: 4_096, hard: 4_096, inUse: 96 })).toEqual({
      maxConnections: 2_976,
      limitedBy: "fd_limit",
    });
    // The reserve does not fit: half of what is free goes to HTTP.
    expect(connectionBudget(4_096, 1_024, { soft: 1_024, hard: 1_024, inUse: 24 })).toEqual({
      maxConnections: 500,
      limitedBy: "fd_limit_reserve_cut",
    });
    const logs: string[] = [];
    const server = await startRelayServer({
      fetch: tinyApp().fetch,
      port: 0,
      hostname: "127.0.0.1",
      limits: { ...LIMITS, maxConnections: 4_096, fdReserve: 1_024 },
      logger: createLogger({ level: "info", destination: { write: (l: string) => void logs.push(l) } }),
      fd: { soft: 3_000, hard: 3_000, inUse: 70 },
    });
    servers.push(server);
    expect(server.maxConnections).toBe(1_906);
    expect(server.server.maxConnections).toBe(1_906);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.event === "HttpServerLimits");
    expect(line).toMatchObject({
      maxConnections: 1_906,
      maxConnectionsConfigured: 4_096,
      fdSoftLimit: 3_000,
      fdInUse: 70,
      fdReserve: 1_024,
      limitedBy: "fd_limit",
    });
  });
});

describe("per-address keys", () => {
  it("C05 IPv4 peers count per address, IPv6 peers per /64 (one host owns a whole /64)", () => {
    expect(capKey("203.0.113.7")).toBe("203.0.113.7");
    expect(capKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(capKey("2001:db8:1:2:3:4:5:6")).toBe(capKey("2001:db8:1:2::9"));
    expect(capKey("2001:db8:1:2::9")).not.toBe(capKey("2001:db8:1:3::9"));
  });
});

describe("on the relay's webhook", () => {
  let db: TestDatabase;
  let t: TestRelay;
  let token: string;
  let server: RelayServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestRelay({ url: db.url, env: { WEBHOOK_RATE_BURST: "1000" } });
    ({ token } = await paperSetup(t, { multipliers: [1] }));
    server = await startRelayServer({
      fetch: t.relay.app.fetch,
      port: 0,
      hostname: "127.0.0.1",
      limits: { ...LIMITS, headersTimeoutMs: 1_000, bodyTimeoutMs: 2_000 },
      logger: createLogger({ level: "silent" }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await t?.stop();
    await db?.drop();
  });

  it("W01 a webhook body that never ends loses its socket within the bound, and real alerts go through meanwhile", async () => {
    const slow = await keep(
      probe(server.port, { first: HEAD(`/webhook/${token}`, 4_000), trickleMs: 1_000 }),
    );
    const alert = JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: "w01" });
    const res = await fetch(`http://127.0.0.1:${server.port}/webhook/${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: alert,
    });
    expect(res.status).toBe(202);
    const heldMs = await Promise.race([slow.closed, sleep(20_000).then(() => -1)]);
    expect(heldMs).toBeGreaterThan(0);
  }, 30_000);
});
