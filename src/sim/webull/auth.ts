/**
 * The simulator's side of Webull request signing: it rebuilds the string to sign from what arrived on the
 * wire and compares signatures. Written apart from the adapter's signer (src/brokers/webull/sign.ts) on
 * purpose, so the two implementations check each other.
 *
 * Algorithm (reference/webull.md, SDK default_signature_composer.py):
 *   P   = {x-app-key, x-signature-algorithm, x-signature-version, x-signature-nonce, x-timestamp, host}
 *         plus the raw query params (a key present twice is joined with "&")
 *   str = quote(uri + "&" + sorted(P).join("&") [+ "&" + UPPER(hex(md5(body)))], safe="")
 *   sig = base64(HMAC-SHA1(app_secret + "&", str))
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export type AuthFailure = { code: string; message: string };

export interface AuthRequest {
  path: string;
  /** Decoded query pairs in arrival order. */
  query: [string, string][];
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

export interface AppSecretLookup {
  secret(appKey: string): string | undefined;
  accessToken(appKey: string): string | undefined;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Python's quote(s, safe=""): everything but A-Z a-z 0-9 - . _ ~ becomes %XX of its UTF-8 bytes. */
function quoteAll(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function header(headers: AuthRequest["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The exact string the signature covers, rebuilt from an incoming request. */
export function expectedStringToSign(req: AuthRequest): string {
  const params = new Map<string, string>();
  for (const name of [
    "x-app-key",
    "x-signature-algorithm",
    "x-signature-version",
    "x-signature-nonce",
    "x-timestamp",
    "host",
  ]) {
    params.set(name, header(req.headers, name) ?? "");
  }
  for (const [k, v] of req.query) {
    const prior = params.get(k);
    params.set(k, prior === undefined ? v : `${prior}&${v}`);
  }
  const keys = [...params.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let text = `${req.path}&${keys.map((k) => `${k}=${params.get(k)}`).join("&")}`;
  if (req.rawBody.length > 0) {
    text += `&${createHash("md5").update(req.rawBody, "utf8").digest("hex").toUpperCase()}`;
  }
  return quoteAll(text);
}

export function expectedSignature(req: AuthRequest, appSecret: string): string {
  return createHmac("sha1", `${appSecret}&`).update(expectedStringToSign(req), "utf8").digest("base64");
}

function parseTimestamp(text: string): number | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const ms = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, s ?? 0);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Checks every signing rule and remembers nonces so a replay inside the window is refused.
 * A request is checked in this order: headers present, app key known, algorithm, timestamp window,
 * signature, nonce replay, access token (only when the app was given one).
 */
export class Verifier {
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly apps: AppSecretLookup,
    private readonly skewMs: number,
    private readonly now: () => number,
  ) {}

  verify(
    req: AuthRequest,
  ): { ok: true; appKey: string } | { ok: false; appKey?: string; failure: AuthFailure } {
    const appKey = header(req.headers, "x-app-key");
    for (const name of [
      "x-app-key",
      "x-timestamp",
      "x-signature",
      "x-signature-algorithm",
      "x-signature-version",
      "x-signature-nonce",
    ]) {
      if (!header(req.headers, name)) {
        return fail(appKey, "MISSING_SIGNATURE_HEADER", `missing header ${name}`);
      }
    }
    const key = appKey ?? "";
    const secret = this.apps.secret(key);
    if (secret === undefined) return fail(appKey, "INVALID_APP_KEY", "app key is not registered");
    if (header(req.headers, "x-signature-algorithm") !== "HMAC-SHA1") {
      return fail(key, "UNSUPPORTED_SIGNATURE_ALGORITHM", "x-signature-algorithm must be HMAC-SHA1");
    }
    if (header(req.headers, "x-signature-version") !== "1.0") {
      return fail(key, "UNSUPPORTED_SIGNATURE_VERSION", "x-signature-version must be 1.0");
    }
    const at = parseTimestamp(header(req.headers, "x-timestamp") ?? "");
    if (at === undefined) {
      return fail(key, "INVALID_TIMESTAMP", "x-timestamp must be UTC YYYY-MM-DDTHH:MM:SSZ");
    }
    const now = this.now();
    if (Math.abs(now - at) > this.skewMs) {
      return fail(key, "TIMESTAMP_EXPIRED", "x-timestamp is outside the allowed clock skew");
    }
    const given = Buffer.from(header(req.headers, "x-signature") ?? "", "utf8");
    const wanted = Buffer.from(expectedSignature(req, secret), "utf8");
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return fail(key, "INVALID_SIGNATURE", "signature does not match");
    }
    this.purgeNonces(now);
    const nonceKey = `${key}\u0000${header(req.headers, "x-signature-nonce")}`;
    if (this.nonces.has(nonceKey)) {
      return fail(key, "DUPLICATE_NONCE", "x-signature-nonce was already used");
    }
    this.nonces.set(nonceKey, now);
    const token = this.apps.accessToken(key);
    if (token !== undefined && header(req.headers, "x-access-token") !== token) {
      return fail(key, "INVALID_TOKEN", "x-access-token is missing or not approved");
    }
    return { ok: true, appKey: key };
  }

  private purgeNonces(now: number): void {
    // Timestamps outside the skew window are refused anyway, so older nonces can be forgotten. The map is
    // in arrival order, so the scan stops at the first recent one.
    for (const [nonce, at] of this.nonces) {
      if (now - at <= 2 * this.skewMs) break;
      this.nonces.delete(nonce);
    }
  }
}

function fail(appKey: string | undefined, code: string, message: string) {
  return {
    ok: false as const,
    ...(appKey !== undefined ? { appKey } : {}),
    failure: { code, message },
  };
}
