/**
 * Console sign-in: the admin token is checked once, then the browser holds a signed session cookie
 * (HttpOnly, SameSite=Strict, Secure over https) and never the token. The cookie is `sid.expiry.mac`,
 * signed with a key derived from CREDENTIALS_KEY, so it survives a restart and works on every relay of a
 * deployment; signing out revokes its id. Every form carries a CSRF token derived from the session id, and
 * a cross-site Origin is refused before any handler runs.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

export const SESSION_COOKIE = "relay_console";
/** Before sign-in: the sign-in form's own CSRF token (double submit). */
export const PRE_COOKIE = "relay_console_pre";
const SESSION_HOURS = 12;

export interface ConsoleSession {
  id: string;
  csrf: string;
  expiresAt: number;
}

export class ConsoleSessions {
  private readonly key: Buffer;
  /** Signed-out session ids until they would have expired anyway. */
  private readonly revoked = new Map<string, number>();

  constructor(secret: string) {
    this.key = createHmac("sha256", "relay-console-session").update(secret).digest();
  }

  private mac(data: string): string {
    return createHmac("sha256", this.key).update(data).digest("base64url");
  }

  csrfFor(id: string): string {
    return this.mac(`csrf:${id}`);
  }

  issue(now = Date.now()): { cookie: string; session: ConsoleSession } {
    const id = randomBytes(18).toString("base64url");
    const expiresAt = now + SESSION_HOURS * 3_600_000;
    const body = `${id}.${expiresAt}`;
    return { cookie: `${body}.${this.mac(body)}`, session: { id, csrf: this.csrfFor(id), expiresAt } };
  }

  read(cookie: string | undefined, now = Date.now()): ConsoleSession | undefined {
    if (!cookie) return undefined;
    const [id, exp, mac] = cookie.split(".");
    if (!id || !exp || !mac) return undefined;
    if (!same(mac, this.mac(`${id}.${exp}`))) return undefined;
    const expiresAt = Number(exp);
    if (!Number.isFinite(expiresAt) || expiresAt <= now || this.revoked.has(id)) return undefined;
    return { id, csrf: this.csrfFor(id), expiresAt };
  }

  revoke(session: ConsoleSession, now = Date.now()): void {
    this.revoked.set(session.id, session.expiresAt);
    for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
  }

  /** Sets the session cookie on the response. */
  setCookie(c: Context, cookie: string): void {
    setCookie(c, SESSION_COOKIE, cookie, {
      httpOnly: true,
      sameSite: "Strict",
      secure: isHttps(c),
      path: "/",
      maxAge: SESSION_HOURS * 3600,
    });
  }

  clearCookie(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isHttps(c) });
  }

  /** The sign-in form's CSRF token: a random value in a short-lived cookie, echoed by the form. */
  preToken(c: Context): string {
    const existing = getCookie(c, PRE_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{24}$/.test(existing)) return existing;
    const token = randomBytes(18).toString("base64url");
    setCookie(c, PRE_COOKIE, token, {
      httpOnly: true,
      sameSite: "Strict",
      secure: isHttps(c),
      path: "/login",
      maxAge: 3600,
    });
    return token;
  }
}

export function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

/** A browser's Origin, when it sends one, must be this relay: forms posted from another site are refused. */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return origin === undefined;
  const host = c.req.header("x-forwarded-host") ?? c.req.header("host");
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
