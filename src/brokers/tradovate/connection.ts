/**
 * Everything one Tradovate login needs, shared by every session (and so every trader) on that login:
 * tokens, the trading socket with its synced mirror, the market data socket (opened on the first quote
 * subscription), REST, contract lookups, orders, and the broker events they produce.
 */
import type { Logger } from "pino";
import type { ContractSpec } from "../../domain/contract";
import type { BrokerListener, SessionState, SessionStatus } from "../port";
import { AuthError, TokenManager } from "./auth";
import { Caller } from "./calls";
import type { ResolvedOptions, TradovateCredentials } from "./config";
import { ContractBook, type ContractCatalog } from "./contracts";
import { EventPump } from "./events";
import { TradovateHttp } from "./http";
import { Lookups } from "./lookups";
import { Mirror } from "./mirror";
import { OrderDesk } from "./orders";
import { type Requester, type SocketHooks, type SocketState, TradovateSocket } from "./websocket";
import { Penalty, PropsEvent, Shutdown } from "./wire";

export interface ConnectionUrls {
  restUrl: string;
  wsUrl: string;
  mdUrl: string;
}

const STATE: Record<SocketState, SessionState> = {
  idle: "idle",
  connecting: "connecting",
  ready: "ready",
  reconnecting: "reconnecting",
  failed: "error",
  stopped: "down",
};

type SocketName = "trading" | "md";

/**
 * What a socket asks of its login, as methods of one small object: six closures per socket (each
 * carrying a property of its own for its name under tsx) cost every idle login about a kilobyte.
 */
class SocketOwner implements SocketHooks {
  constructor(
    private readonly connection: TradovateConnection,
    private readonly name: SocketName,
  ) {}

  token(): Promise<string> {
    const tokens = this.connection.tokens;
    return this.name === "trading" ? tokens.ensure() : tokens.mdToken();
  }

  onAuthorized(request: Requester): Promise<void> {
    return this.connection.socketAuthorized(this.name, request);
  }

  onEvent(event: string, data: unknown): void {
    this.connection.socketEvent(this.name, event, data);
  }

  onState(state: SocketState, detail?: string): void {
    this.connection.socketState(this.name, state, detail);
  }

  onAuthRejected(): void {
    this.connection.tokens.invalidate(`${this.name} authorize refused`);
  }

  isFatal(error: unknown): boolean {
    return error instanceof AuthError && error.fatal;
  }
}

export class TradovateConnection {
  readonly mirror = new Mirror();
  readonly tokens: TokenManager;
  readonly contracts: ContractBook;
  readonly lookups: Lookups;
  readonly orders: OrderDesk;
  private readonly http: TradovateHttp;
  private readonly caller: Caller;
  private readonly trading: TradovateSocket;
  private md?: TradovateSocket;
  /** Quotes wanted, and those subscribed on the current md connection: created with the md socket. */
  private quotes?: { wanted: Map<string, ContractSpec>; subscribed: Set<string> };
  private readonly events: EventPump;
  private syncedOnce = false;
  private state: SessionState = "idle";
  private since = new Date();
  private error?: string;
  private warmAtFirstOrder?: boolean;
  private startPromise?: Promise<void>;
  private refs = 0;
  /** Stopped for good; sessions that start again get a new connection. */
  closed = false;

  constructor(
    private readonly urls: ConnectionUrls,
    creds: TradovateCredentials,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
    catalog: ContractCatalog,
    private readonly onClosed: () => void = () => undefined,
  ) {
    this.http = new TradovateHttp(urls.restUrl, options);
    this.tokens = new TokenManager(this.http, creds, options, logger);
    this.caller = new Caller(() => this.trading, this.http, this.tokens, options, logger);
    this.contracts = new ContractBook(this.caller, this.mirror, catalog);
    this.lookups = new Lookups(this.caller, this.mirror, this.contracts, () => this.live());
    this.events = new EventPump(this.mirror, this.contracts, this.lookups, logger);
    this.orders = new OrderDesk(
      this.caller,
      this.mirror,
      this.contracts,
      this.lookups,
      options,
      logger,
      () => {
        this.warmAtFirstOrder ??= this.trading.isReady();
      },
    );
    this.trading = this.socket("trading", urls.wsUrl);
  }

  /** One more user of this login; the first starts it. */
  acquire(): Promise<void> {
    this.refs++;
    this.startPromise ??= this.start();
    return this.startPromise;
  }

  /** One user fewer; the last stops everything. */
  async release(): Promise<void> {
    this.refs = Math.max(0, this.refs - 1);
    if (this.refs === 0) await this.stop();
  }

  on(listener: BrokerListener): () => void {
    return this.events.on(listener);
  }

  status(): SessionStatus {
    return {
      state: this.state,
      since: this.since,
      ...(this.trading.lastHeartbeatAt !== undefined
        ? { lastHeartbeatAt: new Date(this.trading.lastHeartbeatAt) }
        : {}),
      ...(this.trading.rttMs !== undefined ? { rttMs: this.trading.rttMs } : {}),
      ...(this.error ? { error: this.error } : {}),
      warm: this.warmAtFirstOrder ?? this.trading.isReady(),
    };
  }

  /** Mirror answers are current only while the trading socket is up and synced. */
  live(): boolean {
    return this.trading.isReady() && this.mirror.synced;
  }

  /** Subscribes once per contract; the md socket re-subscribes everything after each (re)connect. */
  async subscribeQuotes(contract: ContractSpec): Promise<void> {
    this.quotes ??= { wanted: new Map(), subscribed: new Set() };
    const quotes = this.quotes;
    if (quotes.wanted.has(contract.name)) return;
    quotes.wanted.set(contract.name, contract);
    if (!this.md) {
      this.md = this.socket("md", this.urls.mdUrl);
      void this.md.start();
    }
    if (!(await this.md.whenReady(this.options.connectTimeoutMs))) return;
    if (quotes.subscribed.has(contract.name)) return;
    const r = await this.md.request("md/subscribeQuote", { symbol: contract.name });
    if (r.kind === "response" && r.status === 200) quotes.subscribed.add(contract.name);
    else
      this.logger.warn(
        {
          event: "QuoteSubscribeFailed",
          contract: contract.name,
          ...(r.kind === "response" ? { status: r.status } : { reason: r.reason }),
        },
        "quote subscription failed; retried on the next reconnect",
      );
  }

  private async start(): Promise<void> {
    this.tokens.begin();
    await this.trading.start();
  }

  private async stop(): Promise<void> {
    this.closed = true;
    this.onClosed();
    this.tokens.stop();
    this.caller.stop();
    await this.trading.stop();
    await this.md?.stop();
    await this.http.close();
  }

  /** Called by this login's sockets (through `SocketOwner`): after authorize, on events, on state. */
  socketAuthorized(name: SocketName, request: Requester): Promise<void> {
    return name === "trading" ? this.sync(request) : this.resubscribe(request);
  }

  socketEvent(name: SocketName, e: string, d: unknown): void {
    if (name === "trading") this.onTradingEvent(e, d);
    else this.onMdEvent(e, d);
  }

  socketState(name: SocketName, state: SocketState, detail?: string): void {
    if (name === "trading") this.onTradingState(state, detail);
  }

  private socket(name: SocketName, url: string): TradovateSocket {
    const o = this.options;
    return new TradovateSocket(
      {
        name,
        url,
        heartbeatMs: o.heartbeatMs,
        requestTimeoutMs: o.requestTimeoutMs,
        connectTimeoutMs: o.connectTimeoutMs,
        silenceMs: o.silenceMs,
        reconnectDelaysMs: o.reconnectDelaysMs,
        logger: this.logger,
      },
      new SocketOwner(this, name),
    );
  }

  private onTradingState(state: SocketState, detail?: string): void {
    const next = STATE[state];
    this.error =
      state === "ready" ? undefined : state === "failed" || state === "reconnecting" ? detail : this.error;
    if (next === this.state && state !== "failed") return;
    this.state = next;
    this.since = new Date();
    this.events.emit({ type: "SessionChanged", status: this.status() });
  }

  /** user/syncrequest after every authorize: the snapshot replaces the mirror; differences become events. */
  private async sync(request: Requester): Promise<void> {
    const userId = await this.tokens.ensureUserId();
    let body: unknown;
    if (userId !== undefined) body = { users: [userId] };
    else {
      const accounts = await request("account/list");
      const ids =
        accounts.kind === "response" && Array.isArray(accounts.data)
          ? accounts.data.map((a) => (a as { id?: unknown }).id)
          : [];
      body = { accounts: ids.filter((id) => typeof id === "number") };
    }
    const snapshot = await this.syncRequest(request, body);
    const changes = this.mirror.applySnapshot(snapshot);
    const initial = !this.syncedOnce;
    this.syncedOnce = true;
    this.logger.info(
      { event: initial ? "SessionSynced" : "SessionResynced", changes: changes.length },
      "sync snapshot applied",
    );
    this.events.changes(
      initial
        ? changes.filter((c) => c.entityType === "position" || c.entityType === "cashBalance")
        : changes,
    );
  }

  /** The snapshot, honouring penalty tickets (syncrequest is limited to about 300 an hour). */
  private async syncRequest(request: Requester, body: unknown): Promise<unknown> {
    let payload = body;
    let waited = 0;
    for (;;) {
      const r = await request(
        "user/syncrequest",
        payload,
        "",
        Math.max(this.options.requestTimeoutMs, 15_000),
      );
      if (r.kind !== "response") throw new Error(`sync got no answer: ${r.reason}`);
      if (r.status !== 200) throw new Error(`sync refused (${r.status}: ${String(r.data)})`);
      const penalty = Penalty.safeParse(r.data);
      if (!penalty.success) {
        if (typeof r.data !== "object" || r.data === null)
          throw new Error("sync answered without a snapshot");
        return r.data;
      }
      if (penalty.data["p-captcha"]) throw new Error("Tradovate demands a captcha for the sync request");
      const ms = (penalty.data["p-time"] ?? 1) * 1000;
      waited += ms;
      if (waited > this.options.maxPenaltyWaitMs)
        throw new Error("Tradovate keeps throttling the sync request");
      this.logger.warn(
        { event: "PenaltyTicketReceived", endpoint: "user/syncrequest", waitMs: ms },
        "sync penalized",
      );
      await new Promise((resolve) => setTimeout(resolve, ms));
      payload = { ...(body as Record<string, unknown>), "p-ticket": penalty.data["p-ticket"] };
    }
  }

  private onTradingEvent(e: string, d: unknown): void {
    if (e === "props") {
      const p = PropsEvent.safeParse(d);
      if (p.success)
        this.events.changes(this.mirror.applyProps(p.data.entityType, p.data.eventType, p.data.entity));
    } else if (e === "shutdown") {
      const s = Shutdown.safeParse(d);
      const code = s.success ? (s.data.reasonCode ?? "") : "";
      this.logger.warn(
        { event: "SessionShutdownReceived", reasonCode: code },
        "Tradovate announced a shutdown",
      );
      // Over a connection quota Tradovate revokes the token of the closed connection.
      if (code === "ConnectionQuotaReached" || code === "IPQuotaReached") this.tokens.invalidate(code);
    }
  }

  private onMdEvent(e: string, d: unknown): void {
    if (e === "shutdown") {
      const s = Shutdown.safeParse(d);
      const code = s.success ? (s.data.reasonCode ?? "") : "";
      if (code === "ConnectionQuotaReached" || code === "IPQuotaReached") this.tokens.invalidate(code);
      return;
    }
    if (e === "md") this.events.quotes(d);
  }

  private async resubscribe(request: Requester): Promise<void> {
    const quotes = this.quotes;
    if (!quotes) return;
    quotes.subscribed.clear();
    for (const c of quotes.wanted.values()) {
      const r = await request("md/subscribeQuote", { symbol: c.name });
      if (r.kind !== "response") throw new Error(`quote subscription got no answer: ${r.reason}`);
      if (r.status === 200) quotes.subscribed.add(c.name);
    }
  }
}
