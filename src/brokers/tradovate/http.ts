/**
 * REST transport on an undici Pool with keep-alive and explicit timeouts. Returns what happened on the
 * wire; it never decides business meaning (HTTP 200 can still be a failure or a penalty).
 */
import { Pool } from "undici";

export type HttpResult =
  | { kind: "response"; status: number; body: unknown; text: string }
  /** `sent: false` only when the request provably never left (connection refused/not established). */
  | { kind: "error"; sent: boolean; reason: string };

const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "EHOSTUNREACH",
]);

function errorCode(error: unknown): string {
  if (typeof error !== "object" || error === null) return "";
  const e = error as { code?: unknown; cause?: unknown; name?: unknown };
  if (typeof e.code === "string") return e.code;
  if (e.cause) return errorCode(e.cause);
  return typeof e.name === "string" ? e.name : "";
}

/**
 * One connection pool per REST origin, shared by every session of the process: each undici connection
 * carries its own HTTP parser (a WebAssembly instance), so a pool per login cost every idle session its
 * own parser and socket. Orders travel on each session's WebSocket; REST is login, token renewal and the
 * fallback, which a shared pool serves as well. Counted, so the last session to close closes it.
 */
const shared = new Map<string, { pool: Pool; users: number }>();

function acquire(origin: string, connectTimeoutMs: number): Pool {
  const key = `${origin}|${connectTimeoutMs}`;
  let entry = shared.get(key);
  if (!entry || entry.pool.destroyed || entry.pool.closed) {
    entry = {
      pool: new Pool(origin, {
        connections: 64,
        keepAliveTimeout: 30_000,
        connect: { timeout: connectTimeoutMs },
      }),
      users: 0,
    };
    shared.set(key, entry);
  }
  entry.users += 1;
  return entry.pool;
}

async function release(origin: string, connectTimeoutMs: number, pool: Pool): Promise<void> {
  const key = `${origin}|${connectTimeoutMs}`;
  const entry = shared.get(key);
  if (!entry || entry.pool !== pool) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  shared.delete(key);
  if (!pool.destroyed) await pool.destroy();
}

export class TradovateHttp {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly origin: string;
  private released = false;

  constructor(
    restBase: string,
    private readonly options: { requestTimeoutMs: number; connectTimeoutMs: number },
  ) {
    const url = new URL(restBase);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.origin = url.origin;
    this.pool = acquire(this.origin, options.connectTimeoutMs);
  }

  async call(
    endpoint: string,
    opts: { body?: unknown; query?: string; token?: string; timeoutMs?: number } = {},
  ): Promise<HttpResult> {
    const path = `${this.basePath}/${endpoint}${opts.query ? `?${opts.query}` : ""}`;
    const hasBody = opts.body !== undefined;
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs;
    try {
      const res = await this.pool.request({
        path,
        method: hasBody ? "POST" : "GET",
        headers: {
          accept: "application/json",
          ...(hasBody ? { "content-type": "application/json" } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        ...(hasBody ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      let body: unknown = text;
      if (text.trim() === "") body = undefined;
      else {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { kind: "response", status: res.statusCode, body, text };
    } catch (error) {
      const code = errorCode(error);
      const sent = !NOT_SENT.has(code);
      const reason =
        code === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT"
          ? `no reply within ${timeoutMs} ms`
          : `connection failed (${code || "unknown error"})`;
      return { kind: "error", sent, reason };
    }
  }

  /** This session is done with REST; the shared pool closes with its last session. */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await release(this.origin, this.options.connectTimeoutMs, this.pool);
  }
}
