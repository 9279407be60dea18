/**
 * TradovateSim: a loopback server speaking Tradovate's REST and WebSocket protocols (trading and market
 * data) on top of the shared Venue matching engine, with fault controls and a record of everything it
 * received. NinjaTrader Brokerage uses the same API, so the same simulator serves both.
 *
 * @example
 *   const sim = new TradovateSim({ heartbeatTimeoutMs: 2000 });
 *   await sim.start();
 *   const { accounts } = sim.addUser({ name: "jdoe", password: "pw", accounts: [{ name: "DEMO1", balance: dec(50000) }] });
 *   sim.setPrice(sim.front("MNQ"), dec("21000"));
 *   // point an adapter at sim.restUrl / sim.wsUrl / sim.mdUrl ... then
 *   expect(sim.duplicateClOrdIds()).toEqual([]);
 *   await sim.stop();
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer } from "ws";
import { parseSymbol } from "../../domain/contract";
import { type Dec, roundToStep } from "../../domain/decimal";
import { Venue } from "../../domain/venue/engine";
import { SimAuth, type SimUser } from "./auth";
import { Catalog, type CatalogEntry } from "./catalog";
import type { SimWorld } from "./context";
import { EntityStore } from "./entities";
import { Faults } from "./faults";
import { propsMessage } from "./framing";
import { ManualDesk } from "./manual";
import { quoteMessage } from "./md";
import { Recorder, type RequestFilter } from "./recorder";
import { restHandler } from "./rest";
import { Router } from "./router";
import { SocketHub } from "./sockets";
import { Trails } from "./trails";
import type {
  FaultFilter,
  InjectedFailure,
  PenaltySpec,
  RecordedConnection,
  RecordedOrder,
  RecordedRequest,
  RecordedRevocation,
  SimUserIds,
  SimUserInput,
  SocketKind,
  TradovateSimOptions,
} from "./types";
import { RandomWalk, type RandomWalkOptions } from "./walk";

export class TradovateSim {
  readonly venue: Venue;
  readonly catalog: Catalog;
  /** The human trader at the broker's own platform (tests): orders and cancels outside the API. */
  readonly manual: ManualDesk;
  private readonly world: SimWorld;
  private readonly auth: SimAuth;
  private readonly store: EntityStore;
  private readonly trails: Trails;
  private readonly recorder = new Recorder();
  private readonly faults: Faults;
  private readonly router: Router;
  private readonly hub: SocketHub;
  private readonly walk: RandomWalk;
  private readonly now: () => number;
  private readonly tcpIds = new WeakMap<Socket, number>();
  private readonly volume = new Map<number, number>();
  private server?: Server;
  private wss?: WebSocketServer;
  private boundPort?: number;
  private nextConnectionId = 1;
  private nextUserId = 15460;
  private nextAccountId = 25;

  constructor(private readonly options: TradovateSimOptions = {}) {
    this.now = options.now ?? Date.now;
    this.catalog = new Catalog(new Date(this.now()), options.contractMonths ?? 3);
    this.venue = new Venue({ spec: (name) => this.catalog.spec(name), clock: this.now });
    if (options.firstId !== undefined)
      this.venue.restore({ ...this.venue.snapshot(), nextId: options.firstId });
    this.faults = new Faults(this.now);
    this.auth = new SimAuth({
      now: this.now,
      lifetimeMs: options.tokenLifetimeMs ?? 80 * 60_000,
      maxSessions: options.maxSessionsPerUser ?? 2,
      rotateOnRenew: options.renewRotatesToken ?? true,
      onRevoke: (session, reason) => {
        this.recorder.revocation({ user: session.user.name, sessionId: session.id, reason, at: this.now() });
        this.hub.revoke(session, reason, "Connection quota reached: the oldest session was closed");
      },
    });
    this.store = new EntityStore(
      this.venue,
      this.catalog,
      this.now,
      (accountId, entityType, eventType, entity) =>
        this.hub.publishProps(accountId, propsMessage(entityType, eventType, entity)),
    );
    this.trails = new Trails(this.venue, this.store);
    this.world = {
      venue: this.venue,
      catalog: this.catalog,
      store: this.store,
      auth: this.auth,
      recorder: this.recorder,
      trails: this.trails,
      now: this.now,
      findMissing: options.findMissing ?? "notFound",
    };
    this.manual = new ManualDesk(this.world);
    this.router = new Router(this.world, this.faults);
    this.hub = new SocketHub(this.world, this.router, this.faults, {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 2500,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 30_000,
      authorizeTimeoutMs: options.authorizeTimeoutMs ?? 10_000,
    });
    this.walk = new RandomWalk(this.catalog, (name, price) => this.setPrice(name, price));
    this.venue.on((event) => {
      if (event.type !== "price") return;
      const entry = this.catalog.contractByName(event.contract);
      if (!entry || !this.hub.hasQuoteSubscribers(entry.contract.id)) return;
      const volume = (this.volume.get(entry.contract.id) ?? 0) + 1;
      this.volume.set(entry.contract.id, volume);
      this.hub.publishQuote(entry.contract.id, quoteMessage(entry, event.price, event.at, volume));
    });
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer(restHandler(this.router, (s) => this.tcpIds.get(s) ?? 0));
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on("connection", (socket) => this.tcpIds.set(socket, this.nextConnectionId++));
    server.on("upgrade", (req, socket, head) => {
      const path = new URL(req.url ?? "/", "http://sim.local").pathname;
      const kind: SocketKind | undefined =
        path === "/v1/websocket" ? "trading" : path === "/md/v1/websocket" ? "md" : undefined;
      if (!kind) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.hub.accept(ws, kind, this.nextConnectionId++));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(
        { port: this.options.port ?? 0, host: this.options.host ?? "127.0.0.1", backlog: 8192 },
        () => resolve(),
      );
    });
    this.server = server;
    this.wss = wss;
    this.boundPort = (server.address() as AddressInfo).port;
    this.hub.start();
  }

  async stop(): Promise<void> {
    this.walk.stop();
    this.hub.stop();
    this.router.stop();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    this.wss?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("TradovateSim not started");
    return this.boundPort;
  }
  get restUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/websocket`;
  }
  get mdUrl(): string {
    return `ws://127.0.0.1:${this.port}/md/v1/websocket`;
  }

  addUser(input: SimUserInput): SimUserIds {
    const id = this.nextUserId++;
    const accounts = input.accounts.map((a) => ({
      id: this.nextAccountId++,
      name: a.name,
      userId: id,
      balance: a.balance,
    }));
    const user: SimUser = {
      id,
      name: input.name,
      password: input.password,
      ...(input.cid !== undefined ? { cid: String(input.cid) } : {}),
      ...(input.sec !== undefined ? { sec: input.sec } : {}),
      ...(input.appId !== undefined ? { appId: input.appId } : {}),
      accounts,
      accountById: new Map(accounts.map((a) => [a.id, a])),
      accountByName: new Map(accounts.map((a) => [a.name, a])),
    };
    this.auth.addUser(user);
    for (const a of user.accounts) {
      this.venue.addAccount(String(a.id), a.balance);
      this.store.addAccount(a.id, a.balance);
    }
    return { userId: id, accounts: user.accounts.map((a) => ({ id: a.id, name: a.name })) };
  }

  /** Catalog entry of a contract name, a root ("MNQ") or a continuous symbol ("MNQ1!"). */
  contract(symbol: string): CatalogEntry {
    const direct = this.catalog.contractByName(symbol);
    if (direct) return direct;
    const parsed = parseSymbol(symbol, new Date(this.now()));
    const root = parsed.kind === "other" ? parsed.text : parsed.root;
    const front = this.catalog.front(root);
    if (!front) throw new Error(`unknown contract ${symbol}`);
    return front;
  }

  /** Front-month contract name of a product root. */
  front(root: string): string {
    return this.contract(root).contract.name;
  }

  /** A new last price (rounded to the tick): triggers resting orders, moves trailing stops, pushes md quotes. */
  setPrice(symbol: string, price: Dec): void {
    const entry = this.contract(symbol);
    const last = roundToStep(price, entry.spec.tickSize);
    this.venue.setPrice(entry.contract.name, last);
    this.trails.ratchet(entry.contract.name, last);
  }

  lastPrice(symbol: string): Dec | undefined {
    return this.venue.lastPrice(this.contract(symbol).contract.name);
  }

  startRandomWalk(options: RandomWalkOptions = {}): void {
    this.walk.start(options);
  }

  stopRandomWalk(): void {
    this.walk.stop();
  }

  // Fault controls.

  /** Terminates matching sockets' TCP connections without a close frame. */
  dropSockets(filter: FaultFilter & { kind?: SocketKind } = {}): number {
    return this.hub.drop(filter);
  }
  /** Processes matching requests at once but answers `ms` later. */
  delayReplies(endpoint: string, ms: number, filter: FaultFilter & { count?: number } = {}): void {
    this.faults.delay(endpoint, ms, filter, filter.count);
  }
  /** Processes the next `count` matching requests but never answers them (the order exists at the broker). */
  swallowReplies(endpoint: string, count = 1, filter: FaultFilter = {}): void {
    this.faults.swallow(endpoint, count, filter);
  }
  /** Loses the next `count` matching requests: never processed, never answered. */
  loseRequests(endpoint: string, count = 1, filter: FaultFilter = {}): void {
    this.faults.lose(endpoint, count, filter);
  }
  /** Answers the next matching request(s) with an HTTP-200 failure (errorText for auth endpoints). */
  rejectNext(
    endpoint: string,
    failure: InjectedFailure & { count?: number },
    filter: FaultFilter = {},
  ): void {
    this.faults.reject(endpoint, failure, filter);
  }
  /** Answers the next `count` matching requests with a penalty ticket. */
  penalize(endpoint: string, spec: PenaltySpec, filter: FaultFilter = {}): void {
    this.faults.penalize(endpoint, spec, filter);
  }
  /** Answers the next `count` matching requests with 429 (REST empty body, WS `{s:429,i}`). */
  rateLimit(endpoint: string, count = 1, filter: FaultFilter = {}): void {
    this.faults.rateLimit(endpoint, count, filter);
  }
  /** Expires every token of the user now; authorized sockets stay open. */
  expireToken(userName: string): number {
    return this.auth.expireUser(userName);
  }
  /** Sends a shutdown event (e.g. "Maintenance") to matching sockets, then closes them. */
  shutdown(reasonCode: string, filter: FaultFilter & { kind?: SocketKind } = {}): number {
    return this.hub.shutdown(reasonCode, filter);
  }
  clearFaults(): void {
    this.faults.clear();
  }

  // Records.

  requests(filter: RequestFilter = {}): RecordedRequest[] {
    return this.recorder.requests(filter);
  }
  connections(kind?: SocketKind): RecordedConnection[] {
    return this.recorder.connections(kind);
  }
  openConnections(kind?: SocketKind): RecordedConnection[] {
    return this.recorder.connections(kind).filter((c) => c.closedAt === undefined);
  }
  orders(): RecordedOrder[] {
    return this.recorder.orders();
  }
  revocations(): RecordedRevocation[] {
    return this.recorder.revocations();
  }
  duplicateClOrdIds(): string[] {
    return this.recorder.duplicateClOrdIds();
  }
  liveSessions(userName?: string): number {
    return this.auth.liveSessions(userName).length;
  }
  /** The id the next order (or fill) will get: a later instance started with `firstId` there reuses ids. */
  nextId(): number {
    return this.venue.snapshot().nextId;
  }
  /** Tradovate order status of an order id ("Working", "Filled", ...), for assertions. */
  orderStatus(orderId: number): string | undefined {
    return this.store.orders.get(orderId)?.ordStatus;
  }
}
