/**
 * Webull request signing (reference/webull.md "Signing"; SDK core/auth/composer/default_signature_composer):
 *
 *   P   = lower-cased {x-app-key, x-signature-algorithm, x-signature-version, x-signature-nonce,
 *         x-timestamp, host} plus the raw query params; a key present twice is joined with "&"
 *   s1  = sorted(P).map(k=v).join("&")
 *   s2  = UPPER(hex(md5(compact JSON body)))            (only when there is a body)
 *   str = percentEncodeAll(uri + "&" + s1 [+ "&" + s2])
 *   x-signature = base64(HMAC-SHA1(app_secret + "&", str))
 *
 * `host` is the request's Host header value: the bare host name on the default port, host:port otherwise.
 * Pure functions; the caller supplies time and nonce so tests can pin a known vector.
 */
import { createHash, createHmac, randomUUID } from "node:crypto";

export interface SignInput {
  appKey: string;
  appSecret: string;
  host: string;
  /** Path without the query string, e.g. "/openapi/trade/order/place". */
  path: string;
  query?: readonly (readonly [string, string])[];
  /** The exact compact JSON text that goes on the wire, or undefined for no body. */
  body?: string;
  timestamp: string;
  nonce: string;
}

export const SIGNATURE_ALGORITHM = "HMAC-SHA1";
export const SIGNATURE_VERSION = "1.0";

/** Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ (Python's quote(s, safe="")). */
export function percentEncodeAll(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** UTC "YYYY-MM-DDTHH:MM:SSZ". */
export function signatureTimestamp(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

export function bodyDigest(body: string): string {
  return createHash("md5").update(body, "utf8").digest("hex").toUpperCase();
}

export function stringToSign(input: SignInput): string {
  const params = new Map<string, string>([
    ["x-app-key", input.appKey],
    ["x-signature-algorithm", SIGNATURE_ALGORITHM],
    ["x-signature-version", SIGNATURE_VERSION],
    ["x-signature-nonce", input.nonce],
    ["x-timestamp", input.timestamp],
    ["host", input.host],
  ]);
  for (const [k, v] of input.query ?? []) {
    const prior = params.get(k);
    params.set(k, prior === undefined ? v : `${prior}&${v}`);
  }
  const keys = [...params.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let text = `${input.path}&${keys.map((k) => `${k}=${params.get(k)}`).join("&")}`;
  if (input.body !== undefined) text += `&${bodyDigest(input.body)}`;
  return percentEncodeAll(text);
}

export function signature(input: SignInput): string {
  return createHmac("sha1", `${input.appSecret}&`).update(stringToSign(input), "utf8").digest("base64");
}

/** The x-* headers of one signed request (Host is set by the HTTP client itself). */
export function signedHeaders(input: SignInput): Record<string, string> {
  return {
    "x-app-key": input.appKey,
    "x-timestamp": input.timestamp,
    "x-signature-algorithm": SIGNATURE_ALGORITHM,
    "x-signature-version": SIGNATURE_VERSION,
    "x-signature-nonce": input.nonce,
    "x-signature": signature(input),
  };
}

/** A fresh timestamp and nonce for a request about to be sent. */
export function freshStamp(now: number): { timestamp: string; nonce: string } {
  return { timestamp: signatureTimestamp(new Date(now)), nonce: randomUUID() };
}
