/**
 * The session token: API-key login, refresh through /api/Auth/validate well before the 24 h expiry
 * (23 h by default, earlier for short-lived tokens), and a fresh login when validate fails or the gateway
 * answers 401. Concurrent callers share one login. The token is never logged.
 */
import type { Logger } from "../../log";
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

/** Expiry of a JWT from its `exp` claim, without verifying it (the gateway does that). */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class TokenKeeper implements TokenSource {
  private current?: string;
  private pending?: Promise<LoginResult>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  lastError?: LoginResult;

  constructor(
    private readonly http: ProjectXHttp,
    private readonly options: TokenKeeperOptions,
  ) {}

  problem(): string | undefined {
    return this.lastError && !this.lastError.ok ? this.lastError.message : undefined;
  }

  get hasToken(): boolean {
    return this.current !== undefined;
  }

  /** Synchronous read for the hub socket URL; undefined before the first login. */
  peek(): string | undefined {
    return this.current;
  }

  async token(): Promise<string | undefined> {
    if (this.current) return this.current;
    if (this.lastError && !this.lastError.ok && this.lastError.credentials) return undefined;
    await this.login();
    return this.current;
  }

  async renew(stale: string): Promise<void> {
    if (this.current === stale) this.current = undefined;
    await this.login();
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
    this.schedule(token);
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
      // Network trouble: try again soon, the old token is still good for a while.
      this.timer = setTimeout(() => void this.refresh(this.current ?? token), 5_000);
      this.timer.unref();
    }
  }
}
