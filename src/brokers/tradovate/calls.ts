/**
 * One Tradovate request, whatever carries it: the trading socket when it is ready, else REST with the
 * same body. Honours penalty tickets (wait p-time, resend the identical body plus "p-ticket"), reports
 * 429s and captchas, and keeps "written but unanswered" apart from "never sent". HTTP 200 bodies are
 * returned as they are: business failures inside them are the caller's to read.
 */
import type { Logger } from "pino";
import type { TokenManager } from "./auth";
import type { ResolvedOptions } from "./config";
import type { TradovateHttp } from "./http";
import type { TradovateSocket } from "./websocket";
import { Penalty } from "./wire";

export type CallResult =
  | { kind: "ok"; body: unknown; via: "ws" | "rest" }
  | { kind: "http-error"; status: number; text: string }
  | { kind: "rate-limited" }
  | { kind: "captcha" }
  /** Penalty tickets kept coming past the allowed total wait; the request was not processed. */
  | { kind: "throttled"; waitedMs: number }
  /** Written, no answer: the broker may or may not have processed it. */
  | { kind: "unknown"; reason: string }
  /** Provably never reached the broker. */
  | { kind: "not-sent"; reason: string };

type Raw =
  | { kind: "response"; status: number; body: unknown; via: "ws" | "rest" }
  | { kind: "not-sent"; reason: string }
  | { kind: "lost"; reason: string };

export interface CallOptions {
  query?: string;
  timeoutMs?: number;
  /** Orders, cancels and liquidations go out even while backing off after a 429. */
  critical?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Caller {
  private stopped = false;
  /** After a 429, background requests stay local until this time (2 s doubling to 60 s). */
  private backoffUntil = 0;
  private backoffMs = 0;

  constructor(
    private readonly socket: () => TradovateSocket | undefined,
    private readonly http: TradovateHttp,
    private readonly tokens: TokenManager,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async call(endpoint: string, body?: unknown, opts: CallOptions = {}): Promise<CallResult> {
    if (!opts.critical && Date.now() < this.backoffUntil) return { kind: "rate-limited" };
    let waited = 0;
    let payload = body;
    for (;;) {
      const raw = await this.once(endpoint, payload, opts);
      if (raw.kind === "not-sent") return raw;
      if (raw.kind === "lost") return { kind: "unknown", reason: raw.reason };
      if (raw.status === 429) {
        this.backoffMs = Math.min(60_000, this.backoffMs ? this.backoffMs * 2 : 2000);
        this.backoffUntil = Date.now() + this.backoffMs;
        this.logger.warn(
          { event: "RateLimited", endpoint, backoffMs: this.backoffMs },
          "Tradovate answered 429; backing off",
        );
        return { kind: "rate-limited" };
      }
      this.backoffMs = 0;
      if (raw.status < 200 || raw.status >= 300) {
        const text =
          typeof raw.body === "string" ? raw.body : raw.body === undefined ? "" : JSON.stringify(raw.body);
        return { kind: "http-error", status: raw.status, text };
      }
      const penalty = Penalty.safeParse(raw.body);
      if (!penalty.success) return { kind: "ok", body: raw.body, via: raw.via };
      if (penalty.data["p-captcha"]) {
        this.logger.warn({ event: "CaptchaRequired", endpoint }, "Tradovate demands a captcha");
        return { kind: "captcha" };
      }
      const ms = Math.max(0, (penalty.data["p-time"] ?? 1) * 1000);
      waited += ms;
      if (waited > this.options.maxPenaltyWaitMs || this.stopped)
        return { kind: "throttled", waitedMs: waited };
      this.logger.warn(
        { event: "PenaltyTicketReceived", endpoint, waitMs: ms },
        "penalty ticket; waiting to resend",
      );
      await sleep(ms);
      // The identical request plus the ticket; a body-less request carries only the ticket.
      payload = {
        ...(typeof body === "object" && body !== null ? body : {}),
        "p-ticket": penalty.data["p-ticket"],
      };
    }
  }

  private async once(endpoint: string, body: unknown, opts: CallOptions): Promise<Raw> {
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs;
    const socket = this.socket();
    if (socket?.isReady()) {
      const r = await socket.request(endpoint, body, opts.query ?? "", timeoutMs);
      if (r.kind === "response") return { kind: "response", status: r.status, body: r.data, via: "ws" };
      if (r.kind === "lost") return r;
      // Not written to the socket: REST is just as good.
    }
    return this.rest(endpoint, body, opts.query, timeoutMs, true);
  }

  private async rest(
    endpoint: string,
    body: unknown,
    query: string | undefined,
    timeoutMs: number,
    retryOn401: boolean,
  ): Promise<Raw> {
    if (this.stopped) return { kind: "not-sent", reason: "session stopped" };
    let token: string;
    try {
      token = await this.tokens.ensure();
    } catch (error) {
      return { kind: "not-sent", reason: error instanceof Error ? error.message : String(error) };
    }
    const r = await this.http.call(endpoint, {
      ...(body !== undefined ? { body } : {}),
      ...(query ? { query } : {}),
      token,
      timeoutMs,
    });
    if (r.kind === "error")
      return r.sent ? { kind: "lost", reason: r.reason } : { kind: "not-sent", reason: r.reason };
    // A 401 is answered before anything is processed: get a fresh token and send once more.
    if (r.status === 401 && retryOn401) {
      this.tokens.invalidate("REST answered 401");
      return this.rest(endpoint, body, query, timeoutMs, false);
    }
    return { kind: "response", status: r.status, body: r.body, via: "rest" };
  }
}
