/**
 * SockJS-style framing of Tradovate sockets. Server: `o`, `h`, `a[...]`, `c[code,"reason"]`.
 * Client: `endpoint\nid\nquery\nbody` requests and the `[]` heartbeat.
 */
import type { Reply } from "./context";

export interface ClientRequest {
  endpoint: string;
  id: number;
  query: string;
  body: string;
}

/** Splits a 4-line request; the body may itself contain newlines. Undefined for a malformed frame. */
export function parseRequest(text: string): ClientRequest | undefined {
  const a = text.indexOf("\n");
  if (a < 0) return undefined;
  const b = text.indexOf("\n", a + 1);
  if (b < 0) return undefined;
  const c = text.indexOf("\n", b + 1);
  const idText = text.slice(a + 1, b).trim();
  if (!/^-?\d+$/.test(idText)) return undefined;
  return {
    endpoint: text.slice(0, a).trim(),
    id: Number(idText),
    query: c < 0 ? text.slice(b + 1) : text.slice(b + 1, c),
    body: c < 0 ? "" : text.slice(c + 1),
  };
}

/** A JSON body, undefined when empty, or an error text. */
export function parseBody(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The response message for a WS request. Non-2xx carry a string `d`; 404s come double-encoded as observed. */
export function responseMessage(id: number, reply: Reply): string {
  const message: Record<string, unknown> = { s: reply.status, i: id };
  if (reply.status >= 200 && reply.status < 300) {
    if (reply.body !== undefined) message.d = reply.body;
  } else if (reply.body !== undefined) {
    const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    message.d = reply.status === 404 ? JSON.stringify(text) : text;
  }
  return JSON.stringify(message);
}

export const arrayFrame = (messages: string[]) => `a[${messages.join(",")}]`;
export const closeFrame = (code: number, reason: string) => `c[${code},${JSON.stringify(reason)}]`;

export const propsMessage = (entityType: string, eventType: string, entity: object) =>
  JSON.stringify({ e: "props", d: { entityType, eventType, entity } });

export const shutdownMessage = (reasonCode: string, reason: string) =>
  JSON.stringify({ e: "shutdown", d: { reasonCode, reason } });
