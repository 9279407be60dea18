/**
 * REST transport on the shared keep-alive pool of the origin, with explicit timeouts. Returns what
 * happened on the wire; it never decides business meaning (HTTP 200 can still be a failure or a penalty).
 */
import { leasePool, type PoolLease, SessionRequests } from "../shared-pool";

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
 * REST shares one connection pool per origin with every session of the process (../shared-pool.ts):
 * each undici connection carries its own HTTP parser, so a pool per login cost every idle session its
 * own parser and socket. Orders travel on each session's WebSocket; REST is login, token renewal and the
 * fallback, which 64 shared connections serve.
 */
const POOL = { connections: 64, keepAliveTimeout: 30_000 };

export class TradovateHttp {
  private readonly lease: PoolLease;
  private readonly basePath: string;
  private readonly requests = new SessionRequests();

  constructor(
    restBase: string,
    private readonly options: { requestTimeoutMs: number; connectTimeoutMs: number },
  ) {
    const url = new URL(restBase);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.lease = leasePool(url.origin, { ...POOL, connectTimeoutMs: options.connectTimeoutMs });
  }

  async call(
    endpoint: string,
    opts: { body?: unknown; query?: string; token?: string; timeoutMs?: number } = {},
  ): Promise<HttpResult> {
    const path = `${this.basePath}/${endpoint}${opts.query ? `?${opts.query}` : ""}`;
    const hasBody = opts.body !== undefined;
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs;
    const scope = this.requests.begin(timeoutMs);
    try {
      const res = await this.lease.pool.request({
        path,
        method: hasBody ? "POST" : "GET",
        // This login's token only, per request: the shared pool carries no auth of its own.
        headers: {
          accept: "application/json",
          ...(hasBody ? { "content-type": "application/json" } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        ...(hasBody ? { body: JSON.stringify(opts.body) } : {}),
        signal: scope.signal,
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
      const reason = scope.stopped()
        ? "no reply before the session stopped"
        : scope.signal.aborted || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT"
          ? `no reply within ${timeoutMs} ms`
          : `connection failed (${code || "unknown error"})`;
      return { kind: "error", sent, reason };
    } finally {
      scope.end();
    }
  }

  /** This session is done with REST: its requests in flight end; the shared pool closes with its last session. */
  async close(): Promise<void> {
    this.requests.close();
    await this.lease.release();
  }
}
