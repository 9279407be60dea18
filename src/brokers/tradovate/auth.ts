/**
 * Tokens of one Tradovate login. Logs in once (accesstokenrequest) and then only renews
 * (renewaccesstoken, about 15 min before expiry) so the login never opens a second session while its
 * token is valid: Tradovate revokes the oldest of more than two. Logs in again only when the token is
 * gone (expired, revoked, refused). Bad credentials and captchas are fatal: retrying them locks the user out.
 *
 * A login the gateway could not process (5xx from a proxy in front of it, a 404/408, an unreadable reply)
 * is an outage, not a refusal: it is retried at most 30 s apart, like the sockets. Only Tradovate's own
 * "slow down" (HTTP 429, penalty tickets) stretches the pause further, to 5 min.
 */
import type { Logger } from "pino";
import { backoffDelay } from "../backoff";
import { defaultDeviceId, type ResolvedOptions, type TradovateCredentials } from "./config";
import type { TradovateHttp } from "./http";
import { AccessTokenResponse, Me, Penalty } from "./wire";

export class AuthError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    /** The server answered (not unreachable): how long the next attempt should wait depends on why. */
    readonly answered?: Answered,
  ) {
    super(message);
    this.name = "AuthError";
  }
}

export const CAPTCHA_TEXT = "Tradovate requires a captcha for this login; wait about an hour and try again";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** HTTP statuses of `accesstokenrequest` that are Tradovate refusing this login (never retried alone). */
const REFUSALS = new Set([400, 401, 403, 423]);
/** Cap of the back-off after Tradovate said to slow down (429, penalty): failed logins risk a lockout. */
const THROTTLED_BACKOFF_MS = 300_000;

/** Why an answered login failed: the broker throttling us, or a gateway that did not process it. */
type Answered = "throttled" | "outage";

export class TokenManager {
  accessToken?: string;
  mdAccessToken?: string;
  expiresAt?: number;
  userId?: number;
  private inflight?: Promise<string>;
  /** The definite refusal (bad password, captcha, expired OAuth token) that stops all logins. */
  fatal?: AuthError;
  private loginFailures = 0;
  private loginNotBefore = 0;
  private renewTimer?: NodeJS.Timeout;
  private stopped = false;
  /** How many accesstokenrequests this manager made (one per session is the goal). */
  logins = 0;
  renewals = 0;

  constructor(
    private readonly http: TradovateHttp,
    private readonly creds: TradovateCredentials,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
  ) {
    if (creds.kind === "token") {
      this.accessToken = creds.accessToken;
      this.mdAccessToken = creds.mdAccessToken;
      this.expiresAt = creds.expirationTime ? Date.parse(creds.expirationTime) : undefined;
    }
  }

  /** Starts renewal of a token given up front (OAuth); password logins schedule it when they log in. */
  begin(): void {
    if (this.creds.kind !== "token" || !this.accessToken) return;
    // Without a known expiry, renew soon to learn it.
    if (this.expiresAt === undefined) this.scheduleRenewal(60_000);
    else this.scheduleRenewal();
  }

  /** A valid access token, logging in only when there is none. Concurrent callers share one login. */
  ensure(): Promise<string> {
    if (this.stopped) return Promise.reject(new AuthError("session stopped", true));
    // After a definite refusal, never try again on our own: failed logins lead to a captcha lockout.
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.accessToken && (this.expiresAt === undefined || this.expiresAt > Date.now() + 1000))
      return Promise.resolve(this.accessToken);
    this.inflight ??= this.obtain()
      .catch((error: unknown) => {
        if (error instanceof AuthError && error.fatal) this.fatal = error;
        throw error;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Token for the market data socket: mdAccessToken when Tradovate gave one, else the access token. */
  async mdToken(): Promise<string> {
    const access = await this.ensure();
    return this.mdAccessToken ?? access;
  }

  /** The token was refused or revoked: the next `ensure` logs in again. */
  invalidate(reason: string): void {
    if (!this.accessToken) return;
    this.logger.warn({ event: "TokenInvalidated", reason }, "Tradovate token no longer valid");
    this.accessToken = undefined;
    this.mdAccessToken = undefined;
    this.expiresAt = undefined;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** The user id, asking /auth/me when the login did not say (OAuth tokens). */
  async ensureUserId(): Promise<number | undefined> {
    if (this.userId !== undefined) return this.userId;
    const token = await this.ensure();
    const r = await this.http.call("auth/me", { token });
    if (r.kind === "response" && r.status === 200) {
      const me = Me.safeParse(r.body);
      if (me.success) this.userId = me.data.userId;
    }
    return this.userId;
  }

  stop(): void {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async obtain(): Promise<string> {
    if (this.creds.kind === "token")
      throw new AuthError(
        "The Tradovate access token has expired or was revoked; link the account again",
        true,
      );
    const wait = this.loginNotBefore - Date.now();
    if (wait > 0)
      throw new AuthError(
        `Waiting ${Math.ceil(wait / 1000)} s before the next Tradovate login attempt`,
        false,
      );
    try {
      await this.login(this.creds);
      this.loginFailures = 0;
    } catch (error) {
      // Failed logins count against a small hourly quota: back off 15 s, doubling.
      if (error instanceof AuthError && !error.fatal && error.answered) {
        const attempt = this.loginFailures++;
        // The documented 15 s (`loginRetryMs`), doubled while failures last.
        const first = this.options.loginRetryMs;
        const delayMs =
          error.answered === "throttled"
            ? Math.min(THROTTLED_BACKOFF_MS, first * 2 ** Math.min(10, attempt))
            : backoffDelay(attempt, [first]);
        this.loginNotBefore = Date.now() + delayMs;
        this.logger.warn(
          { event: "LoginDeferred", why: error.answered, delayMs },
          "next Tradovate login attempt deferred",
        );
      }
      throw error;
    }
    if (!this.accessToken) throw new AuthError("Tradovate login returned no token", false);
    return this.accessToken;
  }

  private async login(creds: Extract<TradovateCredentials, { kind: "password" }>): Promise<void> {
    const body: Record<string, unknown> = {
      name: creds.username,
      password: creds.password,
      appId: creds.appId ?? this.options.appId,
      appVersion: creds.appVersion ?? this.options.appVersion,
      ...(creds.cid !== undefined ? { cid: creds.cid } : {}),
      ...(creds.sec !== undefined ? { sec: creds.sec } : {}),
      deviceId: creds.deviceId ?? defaultDeviceId(creds.username),
    };
    let waited = 0;
    let ticket: string | undefined;
    for (;;) {
      if (this.stopped) throw new AuthError("session stopped", true);
      this.logins++;
      const r = await this.http.call("auth/accesstokenrequest", {
        body: ticket ? { ...body, "p-ticket": ticket } : body,
      });
      if (r.kind === "error") throw new AuthError(`Tradovate could not be reached: ${r.reason}`, false);
      if (r.status === 429)
        throw new AuthError(
          "Tradovate is rate-limiting logins (HTTP 429); retrying later",
          false,
          "throttled",
        );
      if (REFUSALS.has(r.status)) throw new AuthError(`Tradovate refused the login (HTTP ${r.status})`, true);
      if (r.status !== 200)
        throw new AuthError(`Tradovate login failed with HTTP ${r.status}; retrying`, false, "outage");
      const penalty = Penalty.safeParse(r.body);
      if (penalty.success) {
        if (penalty.data["p-captcha"]) throw new AuthError(CAPTCHA_TEXT, true);
        const ms = (penalty.data["p-time"] ?? 1) * 1000;
        waited += ms;
        if (waited > this.options.maxPenaltyWaitMs)
          throw new AuthError(
            "Tradovate keeps throttling this login (penalty tickets); retrying later",
            false,
            "throttled",
          );
        this.logger.warn(
          { event: "PenaltyTicketReceived", endpoint: "auth/accesstokenrequest", waitMs: ms },
          "login penalized",
        );
        ticket = penalty.data["p-ticket"];
        await sleep(ms);
        continue;
      }
      const parsed = AccessTokenResponse.safeParse(r.body);
      if (!parsed.success)
        throw new AuthError("Tradovate login answered in an unknown format", false, "outage");
      if (parsed.data.errorText) {
        this.logger.warn({ event: "LoginFailed", reason: parsed.data.errorText }, "Tradovate login refused");
        throw new AuthError(`Tradovate refused the login: ${parsed.data.errorText}`, true);
      }
      if (!parsed.data.accessToken) throw new AuthError("Tradovate login returned no token", false);
      this.store(parsed.data);
      this.logger.info({ event: "LoggedIn", userId: this.userId }, "Tradovate login succeeded");
      return;
    }
  }

  private store(r: AccessTokenResponse): void {
    if (r.accessToken) this.accessToken = r.accessToken;
    if (r.mdAccessToken) this.mdAccessToken = r.mdAccessToken;
    if (typeof r.userId === "number") this.userId = r.userId;
    const expiry = r.expirationTime ? Date.parse(r.expirationTime) : Number.NaN;
    this.expiresAt = Number.isFinite(expiry) ? expiry : Date.now() + 80 * 60_000;
    this.scheduleRenewal();
  }

  /** Renews about `renewBeforeMs` before expiry; for short-lived tokens at half their remaining life. */
  private scheduleRenewal(delayOverride?: number): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.stopped) return;
    let delay = delayOverride;
    if (delay === undefined) {
      if (this.expiresAt === undefined) return;
      const remaining = this.expiresAt - Date.now();
      const before = this.options.renewBeforeMs;
      delay = Math.max(200, remaining > 2 * before ? remaining - before : remaining / 2);
    }
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      void this.renew();
    }, delay);
  }

  private async renew(): Promise<void> {
    const token = this.accessToken;
    if (!token || this.stopped) return;
    let ticket: string | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await this.http.call("auth/renewaccesstoken", {
        token,
        ...(ticket ? { body: { "p-ticket": ticket } } : {}),
      });
      if (this.stopped || this.accessToken !== token) return;
      if (r.kind === "response" && r.status === 200) {
        const penalty = Penalty.safeParse(r.body);
        if (penalty.success && !penalty.data["p-captcha"]) {
          ticket = penalty.data["p-ticket"];
          await sleep((penalty.data["p-time"] ?? 1) * 1000);
          continue;
        }
        const parsed = AccessTokenResponse.safeParse(r.body);
        if (parsed.success && parsed.data.accessToken && !parsed.data.errorText) {
          this.renewals++;
          this.store(parsed.data);
          this.logger.info(
            { event: "TokenRenewed", expiresAt: new Date(this.expiresAt ?? 0).toISOString() },
            "token renewed",
          );
          return;
        }
      }
      if (r.kind === "response" && (r.status === 401 || r.status === 403)) {
        this.invalidate("renewal refused");
        // Log in again now, while the sockets are still up, so reconnects and REST calls have a token.
        void this.ensure().catch((e: unknown) =>
          this.logger.warn(
            { event: "LoginFailed", reason: e instanceof Error ? e.message : String(e) },
            "relogin failed",
          ),
        );
        return;
      }
      break;
    }
    // Transient failure: try again after the documented 15 s back-off while the token still lives.
    this.logger.warn({ event: "TokenRenewFailed" }, "token renewal failed; will retry");
    const remaining = (this.expiresAt ?? 0) - Date.now();
    if (remaining > 0) this.scheduleRenewal(Math.min(15_000, Math.max(200, remaining / 2)));
  }
}
