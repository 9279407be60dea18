/**
 * Tradovate adapter configuration: the credentials schema (password login or an OAuth access token),
 * factory options with their defaults, and the endpoint URLs derived from a REST base.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import type { Environment } from "../port";

const PasswordLogin = z.object({
  username: z.string().trim().min(1),
  password: z.string().min(1),
  appId: z.string().min(1).optional(),
  appVersion: z.string().min(1).optional(),
  cid: z.union([z.string().min(1), z.number().int()]).optional(),
  sec: z.string().min(1).optional(),
  deviceId: z.string().min(1).max(64).optional(),
});

const TokenLogin = z.object({
  accessToken: z.string().min(1),
  mdAccessToken: z.string().min(1).optional(),
  /** ISO time the token expires; unknown tokens are renewed early. */
  expirationTime: z.iso.datetime({ offset: true }).optional(),
});

export type PasswordCredentials = z.infer<typeof PasswordLogin>;
export type TokenCredentials = z.infer<typeof TokenLogin>;
export type TradovateCredentials =
  | ({ kind: "password" } & PasswordCredentials)
  | ({ kind: "token" } & TokenCredentials);

/** Reads credentials (`name` is accepted for `username`), with messages a trader can act on. */
export function parseCredentials(
  raw: unknown,
): { ok: true; value: TradovateCredentials } | { ok: false; message: string } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { ok: false, message: "Tradovate credentials must be an object with username and password" };
  const input = raw as Record<string, unknown>;
  if (input.accessToken !== undefined) {
    const token = TokenLogin.safeParse(input);
    if (!token.success) {
      const field = token.error.issues[0]?.path.join(".") ?? "accessToken";
      return { ok: false, message: `Tradovate OAuth credentials: ${field} is not valid` };
    }
    return { ok: true, value: { kind: "token", ...token.data } };
  }
  const candidate = { ...input, username: input.username ?? input.name };
  const parsed = PasswordLogin.safeParse(candidate);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? "");
    const messages: Record<string, string> = {
      username: "Tradovate username is required",
      password: "Tradovate password is required",
      deviceId: "Tradovate deviceId must be 1 to 64 characters",
      cid: "Tradovate cid (API key id) must be a number or text",
      sec: "Tradovate sec (API secret) must be text",
    };
    return { ok: false, message: messages[field] ?? `Tradovate credentials: ${field} is not valid` };
  }
  if ((parsed.data.cid === undefined) !== (parsed.data.sec === undefined))
    return { ok: false, message: "Tradovate cid and sec (API key) must be given together" };
  return { ok: true, value: { kind: "password", ...parsed.data } };
}

/** A stable per-login device id: the same across restarts and deploys (live approves devices). */
export function defaultDeviceId(username: string): string {
  return createHash("sha256").update(`copy-relay:${username}`).digest("hex").slice(0, 32);
}

/** Identity of a login, for sharing one session between everything that uses the same credentials. */
export function loginKey(environment: Environment, creds: TradovateCredentials, restUrl: string): string {
  const secret = createHash("sha256").update(JSON.stringify(creds)).digest("hex");
  const who = creds.kind === "password" ? creds.username.toLowerCase() : "oauth";
  return `${restUrl}|${environment}|${who}|${secret}`;
}

export interface Endpoints {
  demoUrl: string;
  liveUrl: string;
  mdUrl: string;
}

export interface TradovateFactoryOptions extends Endpoints {
  logger: Logger;
  /** NinjaTrader Brokerage runs on the same API; override its hosts here if they differ. */
  ninjatrader?: Partial<Endpoints>;
  /** Reply deadline of one request; an order without a reply by then is `unknown`. Default 5000. */
  requestTimeoutMs?: number;
  /** Socket open + authorize deadline. Default 10000. */
  connectTimeoutMs?: number;
  /** Client `[]` heartbeat period. Default 2500. */
  heartbeatMs?: number;
  /** A socket with no frame at all for this long is treated as dead. Default 15000. */
  silenceMs?: number;
  /** Renew the token this long before it expires. Default 15 minutes. */
  renewBeforeMs?: number;
  /** First reconnect delays; then doubling, at most 30 s apart (backoff.ts). Default [50, 500, 1000, 2000, 5000, 10000]. */
  reconnectDelaysMs?: number[];
  /** Longest total wait on penalty tickets for one request. Default 60000. */
  maxPenaltyWaitMs?: number;
  /**
   * First pause after a login the gateway answered without a token (5xx, 404, 429...), doubling while
   * it lasts: at most 30 s for an outage, 5 min when Tradovate throttles. Default 15000 (documented).
   */
  loginRetryMs?: number;
  appId?: string;
  appVersion?: string;
  /** Time in force of resting orders (limit/stop). Default GTC, so protective stops survive the session close. */
  restingTimeInForce?: "Day" | "GTC";
}

export interface ResolvedOptions {
  logger: Logger;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  heartbeatMs: number;
  silenceMs: number;
  renewBeforeMs: number;
  reconnectDelaysMs: number[];
  maxPenaltyWaitMs: number;
  loginRetryMs: number;
  appId: string;
  appVersion: string;
  restingTimeInForce: "Day" | "GTC";
}

export function resolveOptions(o: TradovateFactoryOptions): ResolvedOptions {
  return {
    logger: o.logger,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    heartbeatMs: o.heartbeatMs ?? 2500,
    silenceMs: o.silenceMs ?? 15_000,
    renewBeforeMs: o.renewBeforeMs ?? 15 * 60_000,
    reconnectDelaysMs: o.reconnectDelaysMs ?? [50, 500, 1000, 2000, 5000, 10_000],
    maxPenaltyWaitMs: o.maxPenaltyWaitMs ?? 60_000,
    loginRetryMs: o.loginRetryMs ?? 15_000,
    appId: o.appId ?? "copy-relay",
    appVersion: o.appVersion ?? "1.0",
    restingTimeInForce: o.restingTimeInForce ?? "GTC",
  };
}

/** Where a login's ids live: `<kind>:<environment>:<REST host>`, e.g. `tradovate:demo:demo.tradovateapi.com`. */
export function venueOf(kind: string, environment: Environment, restUrl: string): string {
  return `${kind}:${environment}:${new URL(restUrl).host.toLowerCase()}`;
}

/** The trading socket is the REST base with a ws(s) scheme and `/websocket`. */
export function tradingSocketUrl(restBase: string): string {
  return `${restBase.replace(/\/+$/, "").replace(/^http/i, "ws")}/websocket`;
}
