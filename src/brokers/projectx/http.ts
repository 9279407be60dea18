/**
 * REST transport to the gateway: JSON POSTs on the connection pool every session of the firm's host
 * shares (../shared-pool.ts), the `{success,errorCode,...}` envelope, this login's own bearer token on
 * each request, and the rules that decide what a failure means:
 * - 401: the token was refused before anything ran; log in again once and re-send.
 * - 429: refused before anything ran; pause every request and re-send after a back-off.
 * - timeout, dropped connection, 5xx, unreadable reply: outcome unknown, never re-sent here.
 * Requests wait for a slot in the client-side sliding window before they are sent.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import type { Logger } from "../../log";
import { leasePool, type PoolLease, SessionRequests } from "../shared-pool";
import { RateLimitTimeout, type RequestWindow } from "./ratelimit";
import type { Envelope } from "./wire";

export type CallResult<T> =
  | { kind: "ok"; body: T }
  /** `success:false`: definite refusal, in the broker's words. */
  | { kind: "failed"; errorCode: number; errorMessage: string | null; body: T }
  /** Refused before processing: 400/404/405, a token refused twice, or a rate limit that never cleared. */
  | { kind: "refused"; reason: string; status?: number }
  /** No answer we can trust: the request may or may not have run. */
  | { kind: "unknown"; reason: string };

export interface TokenSource {
  /** A valid token, logging in first when there is none. Undefined when login fails. */
  token(): Promise<string | undefined>;
  /** The gateway refused `stale`: log in again (once for concurrent callers). */
  renew(stale: string): Promise<void>;
  /** Why there is no token (the last login failure), for refusal messages. */
  problem(): string | undefined;
}

export interface HttpOptions {
  apiUrl: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  rateLimitWaitMs: number;
  window: RequestWindow;
  logger: Logger;
}

export interface CallOptions {
  /** False for loginKey; a string sends that exact token (validate). Default: the session token. */
  auth?: boolean | string;
  timeoutMs?: number;
}

const BACKOFF_429 = [1_000, 2_000, 5_000, 10_000];

/**
 * Orders travel on REST here, so the shared pool is not capped below what the sessions ask for at once:
 * a fan-out never queues one login's order behind another's; idle connections close after 30 s.
 */
const POOL = { keepAliveTimeout: 30_000 };

export class ProjectXHttp {
  private readonly lease: PoolLease;
  private readonly basePath: string;
  private readonly closing = new AbortController();
  private readonly requests = new SessionRequests();
  tokens?: TokenSource;
  /** Round trip of the last answered request. */
  lastRttMs?: number;
  lastAnsweredAt?: Date;

  constructor(private readonly options: HttpOptions) {
    const url = new URL(options.apiUrl);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.lease = leasePool(url.origin, { ...POOL, connectTimeoutMs: options.connectTimeoutMs });
  }

  async post<S extends z.ZodType<Envelope>>(
    path: string,
    body: unknown,
    schema: S,
    options: CallOptions = {},
  ): Promise<CallResult<z.infer<S>>> {
    const started = Date.now();
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      let token: string | undefined;
      if (typeof options.auth === "string") token = options.auth;
      else if (options.auth !== false) {
        token = await this.tokens?.token();
        if (!token)
          return {
            kind: "refused",
            reason: `not sent: ${this.tokens?.problem() ?? "not logged in to ProjectX"}`,
          };
      }
      let release: () => void;
      try {
        release = await this.options.window.acquire(
          Math.max(1, this.options.rateLimitWaitMs - (Date.now() - started)),
        );
      } catch (error) {
        return { kind: "refused", reason: error instanceof RateLimitTimeout ? error.message : String(error) };
      }
      let answer: Answer;
      try {
        answer = await this.send(path, body, token, options.timeoutMs ?? this.options.requestTimeoutMs);
      } finally {
        release();
      }
      if (answer.status === 401 && token && options.auth !== false && typeof options.auth !== "string") {
        if (renewed) return { kind: "refused", status: 401, reason: "ProjectX refused the session token" };
        renewed = true;
        await this.tokens?.renew(token);
        continue;
      }
      if (answer.status === 429) {
        const delay = BACKOFF_429[Math.min(attempt, BACKOFF_429.length - 1)] ?? 10_000;
        this.options.window.pause(delay);
        this.options.logger.warn({ event: "RateLimited", path, delayMs: delay }, "ProjectX answered 429");
        if (Date.now() - started + delay > this.options.rateLimitWaitMs)
          return {
            kind: "refused",
            status: 429,
            reason: "not sent: ProjectX kept answering 429 (rate limit)",
          };
        await sleep(delay, undefined, { signal: this.closing.signal }).catch(() => undefined);
        if (this.closing.signal.aborted) return { kind: "refused", reason: "not sent: session stopped" };
        continue;
      }
      return this.interpret(answer, schema);
    }
  }

  /** Ends this session's requests still in flight and releases its lease on the shared pool. */
  async close(): Promise<void> {
    this.closing.abort();
    this.requests.close();
    await this.lease.release();
  }

  private async send(
    path: string,
    body: unknown,
    token: string | undefined,
    timeoutMs: number,
  ): Promise<Answer> {
    const started = Date.now();
    const scope = this.requests.begin(timeoutMs);
    try {
      const res = await this.lease.pool.request({
        path: `${this.basePath}${path}`,
        method: "POST",
        // Built here, per request, from this login's token only: the pool carries no auth of its own.
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? "" : JSON.stringify(body),
        signal: scope.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      this.lastRttMs = Date.now() - started;
      this.lastAnsweredAt = new Date();
      return { status: res.statusCode, text };
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      const timedOut = name === "TimeoutError" || name === "AbortError" || /Timeout/i.test(name);
      return {
        status: 0,
        text: "",
        failure: scope.stopped()
          ? "no reply from ProjectX before the session stopped"
          : timedOut
            ? `no reply from ProjectX within ${timeoutMs} ms`
            : `connection to ProjectX failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    } finally {
      scope.end();
    }
  }

  private interpret<S extends z.ZodType<Envelope>>(answer: Answer, schema: S): CallResult<z.infer<S>> {
    if (answer.failure) return { kind: "unknown", reason: answer.failure };
    if (answer.status >= 500) return { kind: "unknown", reason: `ProjectX answered HTTP ${answer.status}` };
    if (answer.status !== 200) {
      return {
        kind: "refused",
        status: answer.status,
        reason: `ProjectX refused the request (HTTP ${answer.status})${problemTitle(answer.text)}`,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      return { kind: "unknown", reason: "ProjectX sent an unreadable reply" };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) return { kind: "unknown", reason: "ProjectX sent a reply of an unexpected shape" };
    const data = parsed.data as z.infer<S>;
    if (!data.success)
      return {
        kind: "failed",
        errorCode: data.errorCode,
        errorMessage: data.errorMessage ?? null,
        body: data,
      };
    return { kind: "ok", body: data };
  }
}

interface Answer {
  status: number;
  text: string;
  failure?: string;
}

function problemTitle(text: string): string {
  try {
    const body = JSON.parse(text) as { title?: unknown };
    return typeof body.title === "string" ? `: ${body.title}` : "";
  } catch {
    return "";
  }
}
