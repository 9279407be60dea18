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

export class TradovateHttp {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(
    restBase: string,
    private readonly options: { requestTimeoutMs: number; connectTimeoutMs: number },
  ) {
    const url = new URL(restBase);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: 16,
      keepAliveTimeout: 30_000,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connect: { timeout: options.connectTimeoutMs },
    });
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

  async close(): Promise<void> {
    if (!this.pool.destroyed) await this.pool.destroy();
  }
}
