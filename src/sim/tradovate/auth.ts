/**
 * Users, login sessions and tokens of the simulator. Each successful accesstokenrequest starts a session;
 * more than `maxSessions` live sessions revoke the oldest (its sockets are shut down by the caller).
 * Renewal extends the same session. Tokens are opaque random strings.
 */
import { randomBytes } from "node:crypto";
import type { Dec } from "../../domain/decimal";

export interface SimAccount {
  id: number;
  name: string;
  userId: number;
  balance: Dec;
}

export interface SimUser {
  id: number;
  name: string;
  password: string;
  cid?: string;
  sec?: string;
  appId?: string;
  accounts: SimAccount[];
  accountById: Map<number, SimAccount>;
  accountByName: Map<string, SimAccount>;
}

export interface SimSession {
  id: number;
  user: SimUser;
  createdAt: number;
  expiresAt: number;
  /** The token handed out last (renewal may rotate it). */
  accessToken: string;
  mdAccessToken: string;
  revoked?: string;
}

interface TokenRow {
  session: SimSession;
  kind: "access" | "md";
  expiresAt: number;
}

export type TokenCheck =
  | { ok: true; session: SimSession; kind: "access" | "md" }
  | { ok: false; reason: "missing" | "unknown" | "expired" | "revoked" };

export interface LoginBody {
  name: string;
  password: string;
  appId?: string;
  cid?: string | number;
  sec?: string;
}

export const BAD_LOGIN_TEXT = "Incorrect username or password. Please try again.";

const newToken = (): string => randomBytes(24).toString("base64url");

export class SimAuth {
  private readonly users = new Map<string, SimUser>();
  private readonly usersById = new Map<number, SimUser>();
  private readonly tokens = new Map<string, TokenRow>();
  private readonly sessions: SimSession[] = [];
  private nextSessionId = 1;

  constructor(
    private readonly options: {
      now: () => number;
      lifetimeMs: number;
      maxSessions: number;
      rotateOnRenew: boolean;
      onRevoke: (session: SimSession, reason: string) => void;
    },
  ) {}

  addUser(user: SimUser): void {
    if (this.users.has(user.name)) throw new Error(`user ${user.name} exists`);
    this.users.set(user.name, user);
    this.usersById.set(user.id, user);
  }

  user(name: string): SimUser | undefined {
    return this.users.get(name);
  }

  userById(id: number): SimUser | undefined {
    return this.usersById.get(id);
  }

  allUsers(): SimUser[] {
    return [...this.users.values()];
  }

  /** Checks credentials; a success starts a session (and may revoke the oldest). */
  login(body: LoginBody): { session: SimSession } | { errorText: string } {
    const user = this.users.get(body.name);
    if (!user || user.password !== body.password) return { errorText: BAD_LOGIN_TEXT };
    if (user.cid !== undefined && (String(body.cid ?? "") !== user.cid || body.sec !== user.sec))
      return { errorText: "The app credentials (cid/sec) are not valid for this user." };
    if (user.appId !== undefined && body.appId !== user.appId)
      return { errorText: "The application is not registered for this user." };
    const now = this.options.now();
    const session: SimSession = {
      id: this.nextSessionId++,
      user,
      createdAt: now,
      expiresAt: now + this.options.lifetimeMs,
      accessToken: newToken(),
      mdAccessToken: newToken(),
    };
    this.sessions.push(session);
    this.tokens.set(session.accessToken, { session, kind: "access", expiresAt: session.expiresAt });
    this.tokens.set(session.mdAccessToken, { session, kind: "md", expiresAt: session.expiresAt });
    const live = this.sessions.filter((s) => s.user === user && !s.revoked && s.expiresAt > now);
    while (live.length > this.options.maxSessions) {
      const oldest = live.shift();
      if (oldest) this.revoke(oldest, "ConnectionQuotaReached");
    }
    return { session };
  }

  /** Extends the token's session; with rotation a new token is issued and the old one keeps its expiry. */
  renew(token: string): TokenCheck {
    const check = this.check(token);
    if (!check.ok || check.kind !== "access") return check.ok ? { ok: false, reason: "unknown" } : check;
    const session = check.session;
    const expiresAt = this.options.now() + this.options.lifetimeMs;
    session.expiresAt = expiresAt;
    if (this.options.rotateOnRenew) {
      session.accessToken = newToken();
      this.tokens.set(session.accessToken, { session, kind: "access", expiresAt });
    } else {
      const row = this.tokens.get(token);
      if (row) row.expiresAt = expiresAt;
    }
    const md = this.tokens.get(session.mdAccessToken);
    if (md) md.expiresAt = expiresAt;
    return { ok: true, session, kind: "access" };
  }

  check(token: string | undefined): TokenCheck {
    if (!token) return { ok: false, reason: "missing" };
    const row = this.tokens.get(token);
    if (!row) return { ok: false, reason: "unknown" };
    if (row.session.revoked) return { ok: false, reason: "revoked" };
    if (row.expiresAt <= this.options.now()) return { ok: false, reason: "expired" };
    return { ok: true, session: row.session, kind: row.kind };
  }

  /** Expires every token of the user now (authorized sockets stay open, as on the real server). */
  expireUser(name: string): number {
    const now = this.options.now();
    let count = 0;
    for (const row of this.tokens.values()) {
      if (row.session.user.name === name && row.expiresAt > now) {
        row.expiresAt = now;
        row.session.expiresAt = now;
        count++;
      }
    }
    return count;
  }

  revoke(session: SimSession, reason: string): void {
    if (session.revoked) return;
    session.revoked = reason;
    this.options.onRevoke(session, reason);
  }

  liveSessions(userName?: string): SimSession[] {
    const now = this.options.now();
    return this.sessions.filter(
      (s) => !s.revoked && s.expiresAt > now && (userName === undefined || s.user.name === userName),
    );
  }
}
