/**
 * The Webull OpenAPI simulator: a loopback HTTP server speaking the signed REST protocol of
 * reference/webull.md, with the shared `Venue` as matching engine, request recording and fault controls.
 *
 * Every error is answered `{"error_code": "...", "message": "..."}` (the shape the Webull SDK parses):
 * 400 malformed request, 401 signing/app key/token failures, 404 unknown path or order, 417 business
 * refusal, 429 rate limit (with `Retry-After: 1`).
 *
 * @example
 *   const sim = new WebullSim();
 *   await sim.start();
 *   sim.addApp({ appKey: "k", appSecret: "s", accounts: [{ accountId: "A1", balance: dec(50000) }] });
 *   sim.setPrice("MNQZ6", dec("21000"));
 *   // point the adapter at sim.baseUrl
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Dec, dec } from "../../domain/decimal";
import type { Venue } from "../../domain/venue/engine";
import type { VenueOrder } from "../../domain/venue/types";
import { ConnectionLog } from "../connections";
import { Verifier } from "./auth";
import { type Book, Book as BookImpl, type ManualKind, type ManualRecord, type Reply } from "./book";
import { DEFAULT_RATE_LIMITS, type ErrorBody, Faults, RateLimiter, type RateRule } from "./faults";
import type { OrderMeta } from "./views";

export interface WebullSimOptions {
  /** Allowed distance between x-timestamp and the simulator clock, in ms (default 60 s). */
  clockSkewMs?: number;
  /** Per-path limits per app key; defaults to the documented cancel limit of 1 request/s. */
  rateLimits?: Record<string, RateRule>;
  now?: () => number;
  /** Listening port (default 0: ephemeral). */
  port?: number;
  /**
   * Order ids from a counter instead of random, so a restarted simulator reuses them (tests of a broker
   * whose ids start over). Default false.
   */
  sequentialOrderIds?: boolean;
  /** With sequential ids: the first order number (default 1), so a later instance can reuse ids. */
  firstOrderNumber?: number;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, or the raw text when it was not JSON, or undefined when empty. */
  body: unknown;
  appKey?: string;
  signatureValid: boolean;
  authError?: string;
  at: number;
  /** HTTP status sent; undefined while pending or when the reply was swallowed. */
  status?: number;
  swallowed: boolean;
  /** Reached the handler; false for requests refused before processing (signature, 429, injected rejection). */
  processed: boolean;
  /** The TCP connection it came on (numbered from 1): requests of one client pool share numbers. */
  connection: number;
  /** The x-access-token header it carried, if any. */
  accessToken?: string;
}

export interface SimOrderRecord {
  appKey: string;
  accountId: string;
  clientOrderId: string;
  orderId: string;
  order: VenueOrder;
  /** Placed by hand in Webull's app (tests), not through the OpenAPI. */
  manual: boolean;
}

type Handler = (appKey: string, body: unknown, query: URLSearchParams) => Reply;

const MAX_BODY = 1_000_000;

export class WebullSim {
  readonly venue: Venue;
  private readonly book: Book;
  private readonly faults = new Faults();
  private readonly verifier: Verifier;
  private readonly limiter: RateLimiter;
  private readonly now: () => number;
  private readonly log: RecordedRequest[] = [];
  private readonly connections = new ConnectionLog();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly routes: Record<string, Handler>;
  private server: Server | undefined;
  private url: string | undefined;

  constructor(private readonly options: WebullSimOptions = {}) {
    this.now = options.now ?? Date.now;
    this.book = new BookImpl(this.now, {
      ...(options.sequentialOrderIds !== undefined ? { sequentialOrderIds: options.sequentialOrderIds } : {}),
      ...(options.firstOrderNumber !== undefined ? { firstOrderNumber: options.firstOrderNumber } : {}),
    });
    this.venue = this.book.venue;
    this.verifier = new Verifier(this.book, options.clockSkewMs ?? 60_000, this.now);
    this.limiter = new RateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS, this.now);
    const b = this.book;
    this.routes = {
      "POST /openapi/trade/order/place": (k, body) => b.place(k, body),
      "POST /openapi/trade/order/replace": (k, body) => b.replace(k, body),
      "POST /openapi/trade/order/cancel": (k, body) => b.cancel(k, body),
      "GET /openapi/trade/order/open": (k, _, q) => b.list(k, q, "open"),
      "GET /openapi/trade/order/history": (k, _, q) => b.list(k, q, "history"),
      "GET /openapi/trade/order/detail": (k, _, q) => b.detail(k, q),
      "GET /openapi/account/list": (k) => b.accountList(k),
      "GET /openapi/assets/balance": (k, _, q) => b.balance(k, q),
      "GET /openapi/assets/positions": (k, _, q) => b.positions(k, q),
      // The SDK's v2 account module names the same two resources under /openapi/account/.
      "GET /openapi/account/balance": (k, _, q) => b.balance(k, q),
      "GET /openapi/account/positions": (k, _, q) => b.positions(k, q),
    };
  }

  get baseUrl(): string {
    if (!this.url) throw new Error("WebullSim is not started");
    return this.url;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          send(res, 500, { error_code: "INTERNAL_ERROR", message: String(error) });
        }
      });
    });
    server.keepAliveTimeout = 5_000;
    this.connections.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  addApp(app: {
    appKey: string;
    appSecret: string;
    accounts: { accountId: string; balance: Dec | string }[];
    /** When set, every request must carry this x-access-token (a 2FA-approved token). */
    accessToken?: string;
  }): void {
    const accounts = app.accounts.map((a) => ({
      accountId: a.accountId,
      balance: typeof a.balance === "string" ? dec(a.balance) : a.balance,
    }));
    this.book.addApp(app.appKey, app.appSecret, accounts, app.accessToken);
  }

  setPrice(symbol: string, price: Dec): void {
    this.venue.setPrice(symbol, price);
  }

  /** With sequential ids: the number the next order id will carry. */
  nextOrderNumber(): number {
    return this.book.nextOrderNumberValue();
  }

  // The human trader in Webull's own app (tests) ---------------------------------------------------

  /**
   * What a human does in Webull's app, outside the OpenAPI: the orders show in open/history/detail and
   * the positions the adapter polls, with app-made client order ids, and never in `duplicateClientOrderIds`.
   */
  readonly manual = {
    /** A market order typed in by hand; returns its record. */
    marketOrder: (accountId: string, symbol: string, side: "BUY" | "SELL", qty: number): SimOrderRecord => {
      const meta = this.book.manualOrder(accountId, symbol, side, qty);
      return record(meta, this.requireOrder(meta.venueId));
    },
    /** Cancels every open order of the account (one symbol or all); returns how many. */
    cancelAll: (accountId: string, symbol?: string): number => this.book.manualCancelAll(accountId, symbol),
    /** Closes the position (or `qty` of it) at market; working orders stay. Undefined when flat. */
    closePosition: (accountId: string, symbol: string, qty?: number): SimOrderRecord | undefined => {
      const meta = this.book.manualClose(accountId, symbol, qty);
      return meta ? record(meta, this.requireOrder(meta.venueId)) : undefined;
    },
    /** Cancels the symbol's open orders, then closes the position at market. */
    flatten: (accountId: string, symbol: string): SimOrderRecord | undefined => {
      this.book.manualCancelAll(accountId, symbol);
      const meta = this.book.manualClose(accountId, symbol, undefined, "flatten" satisfies ManualKind);
      return meta ? record(meta, this.requireOrder(meta.venueId)) : undefined;
    },
    records: (): ManualRecord[] => this.book.manualRecords(),
  };

  private requireOrder(venueId: number): VenueOrder {
    const order = this.venue.order(venueId);
    if (!order) throw new Error(`venue lost order ${venueId}`);
    return order;
  }

  // Fault controls -------------------------------------------------------------------------------

  /** Processes requests to `path` normally but holds each reply back `ms` milliseconds. */
  delayReplies(path: string, ms: number, count?: number): void {
    this.faults.delayReplies(path, ms, count);
  }
  /** Processes the next `count` requests to `path` but never answers them. */
  swallowReplies(path: string, count: number): void {
    this.faults.swallowReplies(path, count);
  }
  /** Answers the next request to `path` with `body` (HTTP 417 unless told) without processing it. */
  rejectNext(path: string, body: ErrorBody, status?: number): void {
    this.faults.rejectNext(path, body, status);
  }
  /** Answers the next `count` requests to `path` with 429 without processing them. */
  rateLimit(path: string, count: number): void {
    this.faults.rateLimit(path, count);
  }
  clearFaults(): void {
    this.faults.clear();
  }

  // Recording ------------------------------------------------------------------------------------

  /** Whether the client still holds connection number `id` open. */
  connectionOpen(id: number): boolean {
    return this.connections.isOpen(id);
  }

  requests(path?: string): RecordedRequest[] {
    return path === undefined ? [...this.log] : this.log.filter((r) => r.path === path);
  }

  /** Forgets recorded requests (orders stay): for a test that sent a duplicate on purpose. */
  clearRecords(): void {
    this.log.length = 0;
  }

  orders(): SimOrderRecord[] {
    return this.book.allOrders().map(({ meta, order }) => record(meta, order));
  }

  ordersFor(clientOrderId: string): SimOrderRecord[] {
    return this.orders().filter((o) => o.clientOrderId === clientOrderId);
  }

  /**
   * Client order ids in more than one processed place request for the same account: a client that re-sent
   * an order. A request answered 429 or refused by an injected rejection was never processed, so sending
   * it again is not a re-send. Must be empty in every test.
   */
  duplicateClientOrderIds(): string[] {
    const counts = new Map<string, number>();
    for (const r of this.log) {
      if (r.path !== "/openapi/trade/order/place" || !r.processed) continue;
      const body = r.body as { account_id?: unknown; new_orders?: { client_order_id?: unknown }[] };
      for (const o of Array.isArray(body?.new_orders) ? body.new_orders : []) {
        const key = `${String(body.account_id)}/${String(o?.client_order_id)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    return [...counts].filter(([, n]) => n > 1).map(([key]) => key.slice(key.indexOf("/") + 1));
  }

  // Pipeline -------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    const path = url.pathname;
    const entry: RecordedRequest = {
      seq: this.log.length + 1,
      method: req.method ?? "GET",
      path,
      query: Object.fromEntries(url.searchParams),
      body: parseBody(rawBody),
      signatureValid: false,
      at: this.now(),
      swallowed: false,
      processed: false,
      connection: this.connections.idOf(req.socket),
    };
    const token = req.headers["x-access-token"];
    if (typeof token === "string") entry.accessToken = token;
    this.log.push(entry);
    const reply = (status: number, body: unknown) => {
      entry.status = status;
      send(res, status, body);
    };
    if (rawBody === undefined) return reply(413, err("PAYLOAD_TOO_LARGE", "body too large"));
    const auth = this.verifier.verify({ path, query: [...url.searchParams], headers: req.headers, rawBody });
    if (auth.appKey !== undefined) entry.appKey = auth.appKey;
    if (!auth.ok) {
      entry.authError = auth.failure.code;
      return reply(401, err(auth.failure.code, auth.failure.message));
    }
    entry.signatureValid = true;
    const route = this.routes[`${entry.method} ${path}`];
    if (!route) return reply(404, err("NOT_FOUND", `no route ${entry.method} ${path}`));
    const pre = this.faults.before(path);
    if (pre.kind === "reject") return reply(pre.status, pre.body);
    if (!this.limiter.admit(auth.appKey, path)) {
      return reply(429, err("TOO_MANY_REQUESTS", `rate limit exceeded for ${path}`));
    }
    if (entry.method === "POST" && (typeof entry.body !== "object" || entry.body === null)) {
      return reply(400, err("INVALID_PARAMETER", "body must be a JSON object"));
    }
    entry.processed = true;
    const result = route(auth.appKey, entry.body, url.searchParams);
    const after = this.faults.after(path);
    if (after.kind === "swallow") {
      entry.swallowed = true;
      return;
    }
    if (after.kind === "delay") {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!res.destroyed) reply(result.status, result.body);
      }, after.ms);
      this.timers.add(timer);
      return;
    }
    reply(result.status, result.body);
  }
}

function record(meta: OrderMeta, order: VenueOrder): SimOrderRecord {
  return {
    appKey: meta.appKey,
    accountId: meta.accountId,
    clientOrderId: meta.clientOrderId,
    orderId: meta.orderId,
    order: { ...order },
    manual: meta.manual === true,
  };
}

const err = (error_code: string, message: string): ErrorBody => ({ error_code, message });

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": randomUUID(),
  };
  if (status === 429) headers["retry-after"] = "1";
  res.writeHead(status, headers);
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(raw: string | undefined): unknown {
  if (raw === undefined || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
