/**
 * Helpers for the Webull simulator and adapter tests: a wait-until poll, a raw signed HTTP client (to
 * probe the simulator's verifier byte by byte) and a logger that keeps its lines for inspection.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { request } from "undici";
import { signatureTimestamp, signedHeaders } from "../../src/brokers/webull/sign";
import { createLogger, type Logger } from "../../src/log";

/** Polls until the probe holds (the shared poll, under the name these tests use). */
export { waitFor as waitUntil } from "./wait";

export interface RawCall {
  baseUrl: string;
  appKey: string;
  appSecret: string;
  method: "GET" | "POST";
  path: string;
  query?: [string, string][];
  body?: unknown;
  /** Sent instead of the signed body (a tampered payload). */
  sendBody?: string;
  timestamp?: string;
  nonce?: string;
  /** Replaces headers after signing (e.g. a replayed signature set). */
  headers?: Record<string, string>;
  now?: number;
}

export interface RawReply {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  sent: Record<string, string>;
}

/** One signed request the way the SDK builds it, with knobs to break it. */
export async function rawCall(call: RawCall): Promise<RawReply> {
  const url = new URL(call.baseUrl);
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const query = call.query ?? [];
  const sent: Record<string, string> = {
    ...signedHeaders({
      appKey: call.appKey,
      appSecret: call.appSecret,
      host: url.host,
      path: call.path,
      query,
      ...(body !== undefined ? { body } : {}),
      timestamp: call.timestamp ?? signatureTimestamp(new Date(call.now ?? Date.now())),
      nonce: call.nonce ?? randomUUID(),
    }),
    ...(body !== undefined ? { "content-type": "application/json" } : {}),
    ...(call.headers ?? {}),
  };
  const search = new URLSearchParams(query).toString();
  const res = await request(`${url.origin}${call.path}${search ? `?${search}` : ""}`, {
    method: call.method,
    headers: sent,
    ...(call.sendBody !== undefined ? { body: call.sendBody } : body !== undefined ? { body } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    body: text ? JSON.parse(text) : undefined,
    headers: res.headers,
    sent,
  };
}

/** A pino logger (with the production redaction) whose lines are kept in memory. */
export function memoryLogger(): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination: stream });
  const text = () => chunks.join("");
  return {
    logger,
    text,
    lines: () =>
      text()
        .split("\n")
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
