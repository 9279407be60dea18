/**
 * A local fake of the Discord REST API (v10, paths under /api/v10) for the notification tests: bot-token
 * authentication, create-message with Discord's limits and `enforce_nonce`, DM channel creation, rate
 * limit headers and 429s, and fault controls (forced 429s and errors, slow replies, down: refusing
 * connections or hanging every request). Every request and every created message is recorded.
 *
 * @example
 *   const sim = new DiscordSim({ token: "fake-bot-token-0123456789" });
 *   await sim.start();
 *   // DISCORD_API_URL = sim.apiUrl ("http://127.0.0.1:PORT/api")
 *   sim.rateLimitNext(1, { retryAfterMs: 1000 });
 *   sim.messagesIn("123456789012345678");
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Faults } from "./faults";
import { type BucketRule, Buckets, type RateLimitReply } from "./limits";
import { botUser, error, type RecordedMessage, type Reply, Store } from "./store";
import type { ErrorBody } from "./wire";

export type { RecordedMessage } from "./store";

export interface DiscordSimOptions {
  /** Bot tokens accepted in `Authorization: Bot <token>`. */
  token?: string | string[];
  /** Per-channel message bucket (default 50 per second: generous, so only tests that want 429s get them). */
  rateLimit?: BucketRule;
  now?: () => number;
  port?: number;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  path: string;
  at: number;
  body: unknown;
  authorized: boolean;
  /** Status answered; undefined while held back or when the request was left hanging. */
  status?: number;
  hung: boolean;
}

const MAX_BODY = 1_000_000;

export class DiscordSim {
  private readonly tokens: Set<string>;
  private readonly faults = new Faults();
  private readonly buckets: Buckets;
  private readonly now: () => number;
  private readonly log: RecordedRequest[] = [];
  private readonly store: Store;
  private readonly hanging = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;
  private port = 0;
  private mode: "up" | "refuse" | "hang" = "up";
  private seq = 0;

  constructor(private readonly options: DiscordSimOptions = {}) {
    const t = options.token ?? "fake-discord-bot-token-0123456789";
    this.tokens = new Set(Array.isArray(t) ? t : [t]);
    this.now = options.now ?? Date.now;
    this.store = new Store(this.now);
    this.buckets = new Buckets(options.rateLimit ?? { limit: 50, windowMs: 1000 }, this.now);
  }

  /** Base URL to use as DISCORD_API_URL (discord.js appends /v10). */
  get apiUrl(): string {
    if (!this.port) throw new Error("DiscordSim is not started");
    return `http://127.0.0.1:${this.port}/api`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) reply(res, { status: 500, body: { message: String(error), code: 0 } });
      });
    });
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await this.listen(this.options.port ?? 0);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server?.listening) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // Fault controls -------------------------------------------------------------------------------

  /**
   * Down: "refuse" stops listening (connections are refused, open ones dropped); "hang" keeps accepting
   * and never answers. `up()` restores service on the same port and drops the hung requests.
   */
  async down(mode: "refuse" | "hang"): Promise<void> {
    this.mode = mode;
    const server = this.server;
    if (!server) return;
    if (mode === "refuse" && server.listening) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (mode === "hang" && !server.listening) await this.listen(this.port);
  }

  async up(): Promise<void> {
    this.mode = "up";
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (this.server && !this.server.listening) await this.listen(this.port);
  }

  /**
   * The next `count` authenticated requests (to `channelId`'s messages only, when given) are answered 429
   * with `retry_after` = retryAfterMs; `global` makes it the global limit, holding every request.
   */
  rateLimitNext(count: number, o: { retryAfterMs: number; global?: boolean; channelId?: string }): void {
    this.faults.rateLimitNext(count, o);
  }

  /** The next `count` authenticated requests (to `channelId` only, when given) get this error reply. */
  failNext(
    count: number,
    status: number,
    body: ErrorBody = { message: "Internal Server Error", code: 0 },
    channelId?: string,
  ): void {
    this.faults.failNext(count, { status, body, ...(channelId ? { channelId } : {}) });
  }

  /** Processes requests normally but answers each `ms` late (the next `count`, or all; one channel's, or any). */
  delayReplies(ms: number, o: { count?: number; channelId?: string } = {}): void {
    this.faults.delayReplies(ms, o.count, o.channelId);
  }

  /** Posting to this channel answers 404 Unknown Channel. */
  addUnknownChannel(channelId: string): void {
    this.store.unknownChannels.add(channelId);
  }

  /** This user does not accept DMs from the bot: posting to their DM answers 403 (50007). */
  closeDms(userId: string): void {
    this.store.closedDms.add(userId);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  // Recording ------------------------------------------------------------------------------------

  requests(filter?: { path?: string; method?: string }): RecordedRequest[] {
    return this.log.filter(
      (r) => (!filter?.path || r.path === filter.path) && (!filter?.method || r.method === filter.method),
    );
  }

  messages(): RecordedMessage[] {
    return [...this.store.sent];
  }

  messagesIn(channelId: string): RecordedMessage[] {
    return this.store.sent.filter((m) => m.channelId === channelId);
  }

  dmsTo(userId: string): RecordedMessage[] {
    return this.store.sent.filter((m) => m.dmUserId === userId);
  }

  clearRecords(): void {
    this.log.length = 0;
    this.store.sent.length = 0;
  }

  // Server ---------------------------------------------------------------------------------------

  private async listen(port: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const entry: RecordedRequest = {
      seq: ++this.seq,
      method: req.method ?? "GET",
      path: url.pathname,
      at: this.now(),
      body: undefined,
      authorized: false,
      hung: false,
    };
    this.log.push(entry);
    if (this.mode === "hang") {
      entry.hung = true;
      this.hanging.add(res);
      res.on("close", () => this.hanging.delete(res));
      return;
    }
    const text = await readBody(req);
    if (text === undefined)
      return this.finish(entry, res, { status: 413, body: error("Request entity too large") });
    entry.body = parseJson(text);
    const auth = req.headers.authorization ?? "";
    entry.authorized = auth.startsWith("Bot ") && this.tokens.has(auth.slice(4));
    if (!entry.authorized) return this.finish(entry, res, { status: 401, body: error("401: Unauthorized") });
    const out = this.route(entry.method, url.pathname, entry.body);
    const delay = this.faults.takeDelay(/\/channels\/(\d+)\/messages$/.exec(url.pathname)?.[1]);
    if (delay > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.finish(entry, res, out);
      }, delay);
      this.timers.add(timer);
      return;
    }
    this.finish(entry, res, out);
  }

  private route(method: string, path: string, body: unknown): Reply {
    const message = /^\/api\/v10\/channels\/(\d{15,25})\/messages$/.exec(path);
    const routeKey = message
      ? "POST /channels/:id/messages"
      : `${method} ${path.replace(/\d{15,25}/g, ":id")}`;
    const major = message?.[1] ?? "global";
    const known =
      (method === "POST" && message !== null) ||
      (method === "POST" && path === "/api/v10/users/@me/channels") ||
      (method === "GET" && path === "/api/v10/users/@me");
    if (!known) return { status: 404, body: error("404: Not Found") };
    const global = this.buckets.globalLimit();
    if (global) return limited(global);
    const forced = this.faults.takeRateLimit(message?.[1]);
    if (forced) return limited(this.buckets.forced(routeKey, major, forced.retryAfterMs, forced.global));
    const taken = this.buckets.take(routeKey, major);
    if (taken.limited) return limited(taken.limited);
    const failure = this.faults.takeError(message?.[1]);
    const out: Reply = failure
      ? { status: failure.status, body: failure.body }
      : message
        ? this.store.createMessage(major, body)
        : path === "/api/v10/users/@me"
          ? { status: 200, body: botUser() }
          : this.store.createDm(body);
    return { ...out, headers: { ...taken.headers, ...out.headers } };
  }

  private finish(entry: RecordedRequest, res: ServerResponse, out: Reply): void {
    entry.status = out.status;
    reply(res, out);
  }
}

function limited(r: RateLimitReply): Reply {
  return { status: r.status, body: r.body, headers: r.headers };
}

function reply(res: ServerResponse, out: Reply): void {
  const text = JSON.stringify(out.body);
  res.writeHead(out.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...out.headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
