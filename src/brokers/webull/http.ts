/**
 * Signed HTTP transport for one Webull login: the keep-alive pool every session of the host shares
 * (../shared-pool.ts), a fresh signature per request from this login's own keys, an explicit deadline on
 * every call. Returns what happened on the wire; deciding what it means for an order is the session's job.
 *
 * Never logs headers or bodies: they carry the app key, the signature and the access token.
 */
import { leasePool, type PoolLease, SessionRequests } from "../shared-pool";
import { freshStamp, signedHeaders } from "./sign";
import { errorBodySchema } from "./wire";

export type HttpResult =
  | { kind: "ok"; status: number; body: unknown; rttMs: number }
  /** The server answered with a non-2xx status; `code`/`message` are Webull's own words when given. */
  | {
      kind: "error";
      status: number;
      code: string;
      message: string;
      body: unknown;
      rttMs: number;
      retryAfterMs?: number;
    }
  /** No answer in time: the request may or may not have been processed. */
  | { kind: "timeout"; reason: string }
  /** The connection failed or dropped: the request may or may not have been processed. */
  | { kind: "network"; reason: string }
  /** No connection could be opened (refused, no route): the request never left, nothing was processed. */
  | { kind: "refused"; reason: string };

export interface WebullHttpOptions {
  baseUrl: string;
  appKey: string;
  appSecret: string;
  accessToken?: string;
  timeoutMs: number;
  now?: () => number;
  /** Told when Webull cannot be reached at all, so the session stops calling itself ready. */
  onUnreachable?: (reason: string) => void;
}

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  query?: [string, string][];
  body?: unknown;
  /** Extra unsigned headers (category). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);
/** The connection was never made: the request cannot have reached Webull. */
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

const causeCode = (error: unknown): string => {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === "string" ? cause.code : "";
};

/**
 * Orders travel on REST, so the shared pool is not capped below what the sessions ask for at once (an
 * order never queues behind other logins' polls); idle connections close after 10 s.
 */
const POOL = { keepAliveTimeout: 10_000 };

export class WebullHttp {
  private readonly lease: PoolLease;
  private readonly host: string;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly requests = new SessionRequests();

  constructor(private readonly options: WebullHttpOptions) {
    const url = new URL(options.baseUrl);
    this.host = url.host;
    this.prefix = url.pathname.replace(/\/+$/, "");
    this.now = options.now ?? Date.now;
    this.lease = leasePool(url.origin, { ...POOL, connectTimeoutMs: options.timeoutMs });
  }

  async request(spec: RequestSpec): Promise<HttpResult> {
    if (this.requests.isClosed) return { kind: "network", reason: "session stopped" };
    const path = `${this.prefix}${spec.path}`;
    const query = spec.query ?? [];
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const stamp = freshStamp(this.now());
    // Built here, per request, from this login's keys and token only: the pool carries no auth of its own.
    const headers: Record<string, string> = {
      ...signedHeaders({
        appKey: this.options.appKey,
        appSecret: this.options.appSecret,
        host: this.host,
        path,
        query,
        ...(body !== undefined ? { body } : {}),
        ...stamp,
      }),
      "x-version": "v2",
      accept: "application/json",
      ...(spec.headers ?? {}),
    };
    if (this.options.accessToken) headers["x-access-token"] = this.options.accessToken;
    if (body !== undefined) headers["content-type"] = "application/json";
    const search = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
    const timeoutMs = spec.timeoutMs ?? this.options.timeoutMs;
    const scope = this.requests.begin(timeoutMs);
    const started = performance.now();
    try {
      const res = await this.lease.pool.request({
        method: spec.method,
        path: search ? `${path}?${search}` : path,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: scope.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      const rttMs = Math.round(performance.now() - started);
      const parsed = parseJson(text);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        return { kind: "ok", status: res.statusCode, body: parsed, rttMs };
      }
      const error = errorBodySchema.safeParse(parsed);
      const retryAfter = Number(headerValue(res.headers["retry-after"]));
      return {
        kind: "error",
        status: res.statusCode,
        code: error.success && error.data.error_code ? error.data.error_code : `HTTP_${res.statusCode}`,
        message: error.success && error.data.message ? error.data.message : text.slice(0, 300),
        body: parsed,
        rttMs,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Sent or not is unknown: the stop did not wait for the answer.
      if (scope.stopped()) return { kind: "network", reason: "session stopped before Webull answered" };
      if (scope.signal.aborted || (typeof code === "string" && TIMEOUT_CODES.has(code))) {
        return { kind: "timeout", reason: `no answer from Webull within ${timeoutMs} ms` };
      }
      if ((typeof code === "string" && NEVER_CONNECTED.has(code)) || NEVER_CONNECTED.has(causeCode(error))) {
        const reason = `not sent: Webull could not be reached (${describe(error)})`;
        this.options.onUnreachable?.(reason);
        return { kind: "refused", reason };
      }
      return { kind: "network", reason: `Webull connection failed: ${describe(error)}` };
    } finally {
      scope.end();
    }
  }

  /**
   * Ends this session's requests still in flight (a request the server never answers must not hold the
   * stop open) and releases its lease on the shared pool, which closes with its last session.
   */
  async close(): Promise<void> {
    this.requests.close();
    await this.lease.release();
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}
