/** Test helpers for the ProjectX simulator and adapter: REST calls, a raw hub client, wait-until. */
import { request } from "undici";
import WebSocket from "ws";
import { waitFor } from "./wait";

/** Polls until the check holds (the shared poll, under the name these tests use). */
export const waitUntil = waitFor;

export interface PxReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test replies are inspected field by field
  body: any;
}

/** POST a JSON body to the gateway, with an optional bearer token. */
export async function pxPost(
  apiUrl: string,
  path: string,
  body: unknown,
  token?: string,
  options: { raw?: string; timeoutMs?: number } = {},
): Promise<PxReply> {
  const res = await request(`${apiUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: options.raw ?? JSON.stringify(body ?? {}),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

export async function pxLogin(apiUrl: string, userName: string, apiKey: string): Promise<string> {
  const reply = await pxPost(apiUrl, "/api/Auth/loginKey", { userName, apiKey });
  if (!reply.body?.success) throw new Error(`login failed: ${JSON.stringify(reply.body)}`);
  return reply.body.token as string;
}

export interface HubMessage {
  type: number;
  target?: string;
  invocationId?: string;
  arguments?: unknown[];
  result?: unknown;
  error?: string;
}

/** A raw SignalR JSON-protocol client over `ws`, to check the sim's framing byte for byte. */
export class RawHub {
  readonly messages: HubMessage[] = [];
  readonly frames: string[] = [];
  private buffer = "";
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      this.frames.push(text);
      this.buffer += text;
      const parts = this.buffer.split("\u001e");
      this.buffer = parts.pop() ?? "";
      for (const part of parts) if (part) this.messages.push(JSON.parse(part) as HubMessage);
    });
  }

  /** Opens the socket (resolves with the HTTP status of a refused upgrade instead). */
  static async open(url: string): Promise<RawHub | { refused: number }> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new RawHub(ws)));
      ws.once("unexpected-response", (_req, res) => {
        resolve({ refused: res.statusCode ?? 0 });
        ws.terminate();
      });
      ws.once("error", reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(`${JSON.stringify(message)}\u001e`);
  }

  async handshake(): Promise<HubMessage> {
    this.send({ protocol: "json", version: 1 });
    return waitUntil(() => this.messages.shift(), "handshake reply");
  }

  async invoke(target: string, ...args: unknown[]): Promise<HubMessage> {
    const invocationId = String(this.nextId++);
    this.send({ type: 1, invocationId, target, arguments: args });
    return waitUntil(
      () => this.messages.find((m) => m.type === 3 && m.invocationId === invocationId),
      `completion of ${target}`,
    );
  }

  events(target: string): unknown[][] {
    return this.messages.filter((m) => m.type === 1 && m.target === target).map((m) => m.arguments ?? []);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Open TCP handles of this process (sockets and servers), to prove nothing leaks after stop(). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TCPServerWrap")
    .length;
}
