/**
 * Test helpers for the Tradovate simulator and adapter: wait-until polling, a raw SockJS-style socket
 * client (built on `ws`, independent of the adapter) and a raw REST caller (undici).
 */
import { request } from "undici";
import { WebSocket } from "ws";
import { waitFor } from "./wait";

/** Polls `condition` until it returns a truthy value or the deadline passes (the shared poll). */
export function waitUntil<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 5000, what = "condition" }: { timeoutMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  return waitFor(async () => (await condition()) || undefined, what, timeoutMs) as Promise<NonNullable<T>>;
}

export interface WireMessage {
  s?: number;
  i?: number;
  d?: unknown;
  e?: string;
}

/** A bare client of the Tradovate socket protocol, for testing the simulator itself. */
export class RawSocket {
  readonly frames: string[] = [];
  readonly messages: WireMessage[] = [];
  closeFrame?: string;
  closed = false;
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      this.frames.push(text);
      if (text.startsWith("a")) this.messages.push(...(JSON.parse(text.slice(1)) as WireMessage[]));
      if (text.startsWith("c")) this.closeFrame = text;
    });
    ws.on("close", () => {
      this.closed = true;
    });
  }

  static async open(url: string): Promise<RawSocket> {
    const ws = new WebSocket(url);
    const socket = new RawSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    await waitUntil(() => socket.frames.includes("o"), { what: "open frame" });
    return socket;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  heartbeat(): void {
    this.ws.send("[]");
  }

  /** Sends `endpoint\nid\nquery\nbody` and resolves with the response carrying that id. */
  async call(endpoint: string, body?: unknown, query = "", id = this.nextId++): Promise<WireMessage> {
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
    this.ws.send(`${endpoint}\n${id}\n${query}\n${text}`);
    return this.response(id);
  }

  response(id: number, timeoutMs = 3000): Promise<WireMessage> {
    return waitUntil(() => this.messages.find((m) => m.i === id && m.e === undefined), {
      timeoutMs,
      what: `response ${id}`,
    });
  }

  async authorize(token: string): Promise<WireMessage> {
    this.ws.send(`authorize\n0\n\n${token}`);
    const response = await this.response(0);
    this.messages.splice(this.messages.indexOf(response), 1);
    return response;
  }

  events(e = "props"): WireMessage[] {
    return this.messages.filter((m) => m.e === e);
  }

  props(entityType?: string): { entityType: string; eventType: string; entity: Record<string, unknown> }[] {
    return this.events("props")
      .map((m) => m.d as { entityType: string; eventType: string; entity: Record<string, unknown> })
      .filter((d) => entityType === undefined || d.entityType === entityType);
  }

  close(): void {
    this.ws.terminate();
  }
}

export interface RestReply {
  status: number;
  body: unknown;
  text: string;
}

export async function rest(
  base: string,
  endpoint: string,
  options: { body?: unknown; token?: string; method?: "GET" | "POST"; query?: string } = {},
): Promise<RestReply> {
  const url = `${base}/${endpoint}${options.query ? `?${options.query}` : ""}`;
  const res = await request(url, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers: {
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.statusCode, body, text };
}
