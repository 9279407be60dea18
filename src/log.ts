/**
 * The one logger factory. Every line is pino JSON with an `event` name; lines about a signal carry
 * `signalId`. Secrets are removed here, by configuration, not by remembering at each call site.
 *
 * @example
 *   log.info({ event: "SignalAccepted", signalId, recorderId }, "signal accepted");
 */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

/** Keys whose values never reach a log line, at any depth we log. */
export const SECRET_KEYS = [
  "password",
  "credentials",
  "apiKey",
  "api_key",
  "apiSecret",
  "appSecret",
  "app_secret",
  "secret",
  "sec",
  "cid",
  "accessToken",
  "mdAccessToken",
  "access_token",
  "refreshToken",
  "token",
  "newToken",
  "authorization",
  "Authorization",
  "x-access-token",
  "x-signature",
  "p-ticket",
  "webhookToken",
  "credentialsKey",
  "adminToken",
  "botToken",
];

/**
 * Secret keys at the top of a log object and one level down (`{ credentials }`, `{ headers: { authorization } }`).
 * Deeper wildcards cost a lot on every line, so nothing logs secrets nested deeper: log the value's owner
 * object at most one level down, and the redaction test covers the shapes we log.
 */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const dot = k.startsWith("[") ? "" : ".";
    paths.push(k, `*${dot}${k}`);
  }
  return paths;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read every line. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "relay" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** Masks a webhook token inside a URL path so request logs can never replay it. */
export function maskWebhookPath(path: string): string {
  return path.replace(/(\/webhook\/)([^/?#]{4})[^/?#]*/, "$1$2…");
}
