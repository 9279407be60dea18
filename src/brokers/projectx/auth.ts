/**
 * The session token: API-key login, refresh through /api/Auth/validate well before the 24 h expiry
 * (23 h by default, earlier for short-lived tokens), and a fresh login when validate fails, when the
 * gateway refuses the token (a REST 401, a hub upgrade answered 401) or when its `exp` has passed (the
 * refresh could not reach the gateway in time). Concurrent callers share one login. After a definite
 * refusal of the credentials nothing logs in again on its own. The token is never logged.
 */
import type { Logger } from "../../log";
import { backoffDelay } from "../backoff";
import { describeError, isCredentialProblem } from "./errors";
import type { ProjectXHttp, TokenSource } from "./http";
import { loginReplySchema, validateReplySchema } from "./wire";

export type LoginResult = { ok: true } | { ok: false; message: string; credentials: boolean };

export interface TokenKeeperOptions {
  userName: string;
  apiKey: string;
  refreshAfterMs: number;
  logger: Logger;
  /** Told about every login outcome (the session turns it into its status). */
  onLogin?: (result: LoginResult) => void;
}

/** A JWT's `exp` and `iat` in ms, without verifying it (the gateway does that). */
function jwtTimes(token: string): { exp?: number; iat?: number } {
  const payload = token.split(".")[1];
  if (!payload) return {};
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      exp?: unknown;
      iat?: unknown;
    };
    return {
      ...(typeof claims.exp === "number" ? { exp: claims.exp * 1000 } : {}),
      ...(typeof claims.iat === "number" ? { iat: claims.iat * 1000 } : {}),
    };
  } catch {
    return {};
  }
}

/** Expiry of a JWT from its `exp` claim, without verifying it (the gateway does that). */
export function jwtExpiry(token: string): number | undefined {
  return jwtTimes(token).exp;
}

/** Retries of a refresh the gateway could not answer: 5 s, doubling, at most 30 s apart. */
const REFRESH_RETRY_STEPS = [5_000];

export class TokenKeeper implements TokenSource {
  private current?: string;
  /** When the current token ran out, on this machine's clock (its life counted from when we got it). */
  private expiresAt?: number;
  private pending?: Promise<LoginResult>;
  private timer?: NodeJS.Timeout;
  private refreshRetries = 0;
  private stopped = false;
  lastError?: LoginResult;

  constructor(
    private readonly http: ProjectXHttp,
    private readonly options: TokenKeeperOptions,
  ) {}

  problem(): string | undefined {
    return this.lastError && !this.lastError.ok ? this.lastError.message : undefined;
  }

  /** The gateway refused the credentials themselves: only new credentials can help. */
  refused(): boolean {
    return this.lastError !== undefined && !this.lastError.ok && this.lastError.credentials;
  }

  get hasToken(): boolean {
    return this.current !== undefined;
  }

  /** Synchronous read for the hub socket URL; undefined before the first login. */
  peek(): string | undefined {
    return this.current;
  }

  async token(): Promise<string | undefined> {
    if (this.current && this.expired(this.current)) this.invalidate(this.current, "expired");
    if (this.current) return this.current;
    if (this.refused()) return undefined;
    await this.login();
    return this.current;
  }

  /** The gateway refused `stale` on REST: log in again (unless the credentials themselves were refused). */
  async renew(stale: string): Promise<void> {
    this.invalidate(stale, "refused");
    await this.token();
  }

  /** Forgets `stale` if it is still the current token, so the next `token()` logs in again. */
  invalidate(stale: string | undefined, reason: "refused" | "expired"): void {
    if (stale === undefined || this.current !== stale) return;
    this.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.options.logger.info(
      { event: "TokenInvalidated", reason },
      "ProjectX token dropped; logging in again",
    );
  }

  /** Logs in (or joins the login already running). */
  login(): Promise<LoginResult> {
    this.pending ??= this.doLogin().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async doLogin(): Promise<LoginResult> {
    const reply = await this.http.post(
      "/api/Auth/loginKey",
      { userName: this.options.userName, apiKey: this.options.apiKey },
      loginReplySchema,
      { auth: false },
    );
    let result: LoginResult;
    if (reply.kind === "ok" && reply.body.token) {
      this.adopt(reply.body.token);
      result = { ok: true };
    } else if (reply.kind === "failed" || reply.kind === "ok") {
      const code = reply.kind === "failed" ? reply.errorCode : 8;
      result = {
        ok: false,
        message: describeError("loginKey", code, reply.kind === "failed" ? reply.errorMessage : "no token"),
        credentials: isCredentialProblem(code),
      };
    } else if (reply.kind === "refused" && reply.status === 400) {
      result = {
        ok: false,
        message: `ProjectX refused the login request: ${reply.reason}`,
        credentials: true,
      };
    } else {
      result = { ok: false, message: `ProjectX login failed: ${reply.reason}`, credentials: false };
    }
    this.lastError = result.ok ? undefined : result;
    if (!result.ok)
      this.options.logger.warn({ event: "LoginFailed", reason: result.message }, "ProjectX login failed");
    this.options.onLogin?.(result);
    return result;
  }

  private adopt(token: string): void {
    this.current = token;
    this.refreshRetries = 0;
    // Lifetime from the token's own claims, counted locally, so a clock apart from the gateway's does not
    // matter; a machine that slept past it finds it spent when it wakes.
    const { exp, iat } = jwtTimes(token);
    this.expiresAt = exp !== undefined && iat !== undefined ? Date.now() + (exp - iat) : exp;
    this.schedule(token);
  }

  private expired(token: string): boolean {
    return token === this.current && this.expiresAt !== undefined && this.expiresAt <= Date.now();
  }

  /** Refresh at 23 h, or earlier when the token's own expiry says so (keep a fifth of its life spare). */
  private schedule(token: string): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.stopped) return;
    const now = Date.now();
    const expiry = jwtExpiry(token);
    let at = now + this.options.refreshAfterMs;
    if (expiry !== undefined && expiry > now) {
      const spare = Math.min(3_600_000, (expiry - now) / 5);
      at = Math.min(at, expiry - spare);
    }
    this.timer = setTimeout(() => void this.refresh(token), Math.max(100, at - now));
    this.timer.unref();
  }

  private async refresh(token: string): Promise<void> {
    if (this.stopped || this.current !== token) return;
    const reply = await this.http.post("/api/Auth/validate", undefined, validateReplySchema, { auth: token });
    if (this.stopped) return;
    if (reply.kind === "ok" && reply.body.newToken) {
      this.adopt(reply.body.newToken);
      this.options.logger.info({ event: "TokenRefreshed", via: "validate" }, "ProjectX token refreshed");
      return;
    }
    const result = await this.login();
    if (result.ok) {
      this.options.logger.info(
        { event: "TokenRefreshed", via: "loginKey" },
        "ProjectX token renewed by login",
      );
    } else if (!result.credentials && !this.stopped) {
      // Network trouble: try again soon, the old token may still be good for a while.
      const delay = backoffDelay(this.refreshRetries++, REFRESH_RETRY_STEPS);
      this.timer = setTimeout(() => void this.refresh(this.current ?? token), delay);
      this.timer.unref();
    }
  }
}
