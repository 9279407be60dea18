/**
 * Session tokens: HS256 JWTs signed with a per-simulator secret, tracked in a registry so a test can
 * expire them. Logging in again does not invalidate older tokens, as on the real gateway.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";

interface Issued {
  userName: string;
  expiresAt: number;
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString("base64url");

export class TokenIssuer {
  private readonly secret = randomBytes(32);
  private readonly issued = new Map<string, Issued>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number,
  ) {}

  issue(userName: string): string {
    const now = this.now();
    const jti = randomUUID();
    const expiresAt = now + this.lifetimeMs;
    this.issued.set(jti, { userName, expiresAt });
    const header = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = b64(
      JSON.stringify({
        sub: userName,
        name: userName,
        jti,
        iat: Math.floor(now / 1000),
        // Rounded down: the claim never promises more life than the token has.
        exp: Math.floor(expiresAt / 1000),
      }),
    );
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  /** The user a token belongs to, or undefined when it is forged, unknown or expired. */
  verify(token: string | undefined): string | undefined {
    if (!token) return undefined;
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    let jti: unknown;
    try {
      jti = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { jti?: unknown }).jti;
    } catch {
      return undefined;
    }
    if (typeof jti !== "string") return undefined;
    const entry = this.issued.get(jti);
    if (!entry || this.now() >= entry.expiresAt) return undefined;
    return entry.userName;
  }

  /** Expires every token issued so far to the user. */
  expireUser(userName: string): void {
    const now = this.now();
    for (const entry of this.issued.values()) if (entry.userName === userName) entry.expiresAt = now;
  }

  private sign(input: string): string {
    return createHmac("sha256", this.secret).update(input).digest("base64url");
  }
}
