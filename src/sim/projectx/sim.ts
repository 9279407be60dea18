/**
 * ProjectX Gateway simulator: REST on `apiUrl`, SignalR hubs on `rtcUrl` (`/hubs/user`, `/hubs/market`),
 * one `Venue` as matching engine, recording and fault controls. See README.md.
 *
 * @example
 *   const sim = new ProjectXSim();
 *   await sim.start();
 *   const { accounts } = sim.addUser({ userName: "jdoe", apiKey: "k", accounts: [{ name: "PRAC-1", balance: 50000 }] });
 *   sim.setPrice("MNQ", dec("21000"));
 *   // ... point the adapter at sim.apiUrl / sim.rtcUrl ...
 *   await sim.stop();
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Dec, dec } from "../../domain/decimal";
import type { Venue } from "../../domain/venue/engine";
import { ConnectionLog } from "../connections";
import { Book } from "./book";
import { ContractCatalog, type SimContract } from "./contracts";
import { Faults, type Rejection, SlidingWindow } from "./faults";
import { HubServer } from "./hub/server";
import { ManualDesk } from "./manual";
import { QuoteBoard } from "./market";
import {
  DAY_MS,
  defaultFee,
  type EventForm,
  type ProjectXSimOptions,
  type SimAccount,
  type SimUser,
  type SimUserInput,
} from "./options";
import { Recorder } from "./recorder";
import { RestHandler } from "./rest/server";
import type { SimState } from "./state";
import { TokenIssuer } from "./tokens";

export class ProjectXSim {
  readonly recorder = new Recorder();
  private readonly connections = new ConnectionLog();
  readonly contracts: ContractCatalog;
  /** The human trader at the firm's own platform (tests): orders and cancels outside the API. */
  readonly manual: ManualDesk;
  private readonly book: Book;
  private readonly tokens: TokenIssuer;
  private readonly faults = new Faults();
  private readonly limiter: SlidingWindow;
  private readonly quotes = new QuoteBoard();
  private readonly users = new Map<string, SimUser>();
  private readonly state: SimState;
  private readonly now: () => number;
  private eventForm: EventForm;
  private server?: Server;
  private rest?: RestHandler;
  private hubs?: HubServer;
  private nextAccountId = 465;
  private port = 0;

  constructor(private readonly options: ProjectXSimOptions = {}) {
    this.now = options.now ?? Date.now;
    this.eventForm = options.eventForm ?? "wrapped";
    this.contracts = new ContractCatalog(new Date(this.now()));
    this.tokens = new TokenIssuer(options.tokenLifetimeMs ?? DAY_MS, this.now);
    const limit = options.rateLimit ?? { max: 200, windowMs: 60_000 };
    this.limiter = new SlidingWindow(limit.max, limit.windowMs, this.now);
    this.book = new Book(this.contracts, this.now, options.feePerContract ?? defaultFee, options.firstIds);
    this.manual = new ManualDesk(this.book);
    const users = this.users;
    const book = this.book;
    this.state = {
      book,
      contracts: this.contracts,
      tokens: this.tokens,
      recorder: this.recorder,
      connections: this.connections,
      users,
      now: this.now,
      account(userName, accountId) {
        if (userName === undefined || typeof accountId !== "number") return undefined;
        const account = book.accounts.get(accountId);
        return account?.userName === userName ? account : undefined;
      },
    };
    this.book.on((event) => this.hubs?.publishUser(event));
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.rest = new RestHandler(this.state, this.faults, this.limiter);
    this.hubs = new HubServer(
      this.state,
      this.options.hubPingMs ?? 15_000,
      () => this.eventForm,
      (id) => {
        const contract = this.contracts.get(id);
        return contract ? this.quotes.full(contract) : undefined;
      },
    );
    const rest = this.rest;
    const hubs = this.hubs;
    const server = createServer((req, res) => rest.handle(req, res));
    server.on("upgrade", (req, socket, head) => hubs.upgrade(req, socket, head));
    this.connections.attach(server);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.hubs?.close();
    this.rest?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.requirePort()}`;
  }

  /** Base of the hubs: `${rtcUrl}/hubs/user` and `${rtcUrl}/hubs/market`. */
  get rtcUrl(): string {
    return `ws://127.0.0.1:${this.requirePort()}`;
  }

  /** Whether the client still holds connection number `id` (see `RecordedRequest.connection`) open. */
  connectionOpen(id: number): boolean {
    return this.connections.isOpen(id);
  }

  addUser(input: SimUserInput): { userName: string; accounts: { id: number; name: string }[] } {
    const user: SimUser = this.users.get(input.userName) ?? {
      userName: input.userName,
      apiKey: input.apiKey,
      accountIds: [],
    };
    user.apiKey = input.apiKey;
    this.users.set(user.userName, user);
    const accounts = input.accounts.map((a) => {
      const account: SimAccount = {
        id: this.nextAccountId++,
        name: a.name,
        userName: user.userName,
        autoOco: a.autoOco ?? true,
        simulated: a.simulated ?? true,
        canTrade: a.canTrade ?? true,
        active: a.active ?? true,
        fees: dec(0),
      };
      this.book.accounts.set(account.id, account);
      this.book.venue.addAccount(
        String(account.id),
        typeof a.balance === "bigint" ? a.balance : dec(a.balance),
      );
      user.accountIds.push(account.id);
      return { id: account.id, name: account.name };
    });
    return { userName: user.userName, accounts };
  }

  /** Moves the market: fills resting orders, ratchets trailing stops, streams quotes. */
  setPrice(contract: string, price: Dec | number | string): void {
    const c = this.requireContract(contract);
    const value = typeof price === "bigint" ? price : dec(price);
    const previous = this.book.venue.lastPrice(c.id);
    this.book.setPrice(c.id, value);
    const at = this.now();
    this.hubs?.publishMarket("quotes", c.id, this.quotes.update(c, value, at));
    this.hubs?.publishMarket("marketTrades", c.id, [
      this.quotes.trade(c, value, at, previous === undefined || value >= previous),
    ]);
    this.hubs?.publishMarket("depth", c.id, this.quotes.depth(c, value, at));
  }

  lastPrice(contract: string): Dec | undefined {
    return this.book.venue.lastPrice(this.requireContract(contract).id);
  }

  /** The CON id of a contract given by id, name ("MNQZ26", "MNQZ6") or root (front month). */
  contractId(contract: string): string {
    return this.requireContract(contract).id;
  }

  contract(contract: string): SimContract {
    return this.requireContract(contract);
  }

  // ---- account settings ----
  setAutoOco(accountId: number, autoOco: boolean): void {
    const account = this.book.accounts.get(accountId);
    if (account) account.autoOco = autoOco;
  }

  setCanTrade(accountId: number, canTrade: boolean): void {
    const account = this.book.accounts.get(accountId);
    if (account) account.canTrade = canTrade;
  }

  // ---- inspection ----
  /** The ids the next order and trade will get: a later instance given them as `firstIds` reuses ids. */
  nextIds(): { order: number; trade: number } {
    return this.book.nextIds();
  }

  /** The matching engine behind the gateway (venue order ids are not ProjectX order ids). */
  get venue(): Venue {
    return this.book.venue;
  }

  /** Every ProjectX order with its venue order, customTag and whether it was placed by hand. */
  orderRecords(): {
    id: number;
    venueId?: number;
    accountId: number;
    contractId: string;
    customTag: string | null;
    manual: boolean;
  }[] {
    return [...this.book.orders.values()].map((o) => ({
      id: o.id,
      ...(o.venueId !== undefined ? { venueId: o.venueId } : {}),
      accountId: o.accountId,
      contractId: o.contractId,
      customTag: o.customTag,
      manual: this.manual.isManual(o.id),
    }));
  }

  /** OrderModels as the gateway would return them, all accounts unless one is given. */
  orders(accountId?: number) {
    return [...this.book.orders.values()]
      .filter((o) => accountId === undefined || o.accountId === accountId)
      .map((o) => this.book.model(o));
  }

  positions(accountId: number) {
    return this.book.openPositions(accountId);
  }

  account(accountId: number) {
    const account = this.book.accounts.get(accountId);
    return account ? this.book.accountModel(account) : undefined;
  }

  trades(accountId?: number) {
    return this.book.trades.filter((t) => accountId === undefined || t.accountId === accountId);
  }

  /** Placements that reused a customTag a live order held: must be empty in every test. */
  duplicateCustomTags() {
    return this.recorder.duplicateCustomTags();
  }

  hubConnections(hub?: "user" | "market"): number {
    return this.hubs?.connectionCount(hub) ?? 0;
  }

  // ---- fault controls ----
  /** Kills every hub socket without a close message. */
  dropHubSockets(): void {
    this.hubs?.drop();
  }

  /** Processes requests to `path` at once but sends the reply `ms` later. */
  delayReplies(path: string, ms: number): void {
    this.faults.delay(normalize(path), ms);
  }

  /** Processes the next `count` requests to `path` but never replies. */
  swallowReplies(path: string, count = 1): void {
    this.faults.swallow(normalize(path), count);
  }

  /** The next request to `path` fails with this envelope (HTTP 200) without being processed. */
  rejectNext(path: string, rejection: Rejection): void {
    this.faults.reject(normalize(path), rejection);
  }

  /** The next `count` requests get HTTP 429 whatever the real rate. */
  rateLimitNow(count: number): void {
    this.faults.force429(count);
  }

  /** Expires every token issued so far to the user: REST answers 401, hub upgrades are refused. */
  expireToken(userName: string): void {
    this.tokens.expireUser(userName);
  }

  setEventForm(form: EventForm): void {
    this.eventForm = form;
  }

  clearFaults(): void {
    this.faults.clear();
    this.eventForm = this.options.eventForm ?? "wrapped";
  }

  private requirePort(): number {
    if (!this.server) throw new Error("ProjectXSim is not started");
    return this.port;
  }

  private requireContract(text: string): SimContract {
    const c = this.contracts.resolve(text);
    if (!c) throw new RangeError(`unknown contract ${text}`);
    return c;
  }
}

function normalize(path: string): string {
  if (path.startsWith("/")) return path;
  return path.startsWith("api/") ? `/${path}` : `/api/${path}`;
}
