/**
 * One ProjectX login: token upkeep, the user hub (subscribed for every active account) and, once quotes
 * are wanted, the market hub; orders over REST. Implements the broker port, plus `placeWithBrackets` for
 * entries with their exits (native Auto-OCO brackets or adapter-linked separate orders).
 *
 * `start()` never throws for a broker problem: a refused login leaves the session in `error` with the
 * reason; a network failure leaves it `down` and retries with back-off (backoff.ts, at most 30 s apart,
 * forever). After every hub reconnect the session reconciles over REST (orders changed since the drop,
 * positions, trades, balances), because the gateway neither keeps subscriptions nor replays missed events.
 * A token the gateway no longer honours after an outage is replaced by a fresh login (auth.ts, hubs.ts).
 */
import type { ContractSpec } from "../../domain/contract";
import { type Dec, dec } from "../../domain/decimal";
import {
  type AccountId,
  asBrokerAccountId,
  type BrokerAccountId,
  type BrokerOrderId,
  type ClientOrderId,
} from "../../domain/ids";
import type { Logger } from "../../log";
import { backoffDelay } from "../backoff";
import type {
  BrokerAccountInfo,
  BrokerEvent,
  BrokerListener,
  BrokerOrder,
  BrokerPosition,
  BrokerSession,
  CancelOutcome,
  Environment,
  OrderOutcome,
  OrderRequest,
  SessionState,
  SessionStatus,
} from "../port";
import { type LoginResult, TokenKeeper } from "./auth";
import { type BracketOutcome, placeWithBrackets } from "./brackets";
import { CloseBook } from "./closes";
import { type BracketMode, type ProjectXCredentials, type ResolvedConfig, venueOf } from "./config";
import { type ContractCache, ContractDirectory } from "./contracts";
import { EventRouter } from "./events";
import { FillWatch } from "./fills";
import { flattenContract } from "./flatten";
import { ProjectXHttp } from "./http";
import { HubLink, type LinkState } from "./hubs";
import { OcoLinks } from "./oco";
import { type BracketTicks, OrderOps } from "./orders";
import { orderOf, positionOf } from "./parse";
import { DailyPnl, tradingDayStart } from "./pnl";
import { RequestWindow } from "./ratelimit";
import { AccountSync } from "./sync";
import type { OrderWire } from "./wire";

export interface ProjectXSessionOptions {
  accountId: AccountId;
  environment: Environment;
  credentials: ProjectXCredentials;
  config: ResolvedConfig;
  logger: Logger;
  /** Contract specs of the firm's gateway host, shared by every login on it. */
  contracts: ContractCache;
}

export class ProjectXSession implements BrokerSession {
  readonly kind = "projectx" as const;
  readonly accountId: AccountId;
  readonly venue: string;
  private readonly config: ResolvedConfig;
  private readonly logger: Logger;
  private readonly window: RequestWindow;
  private readonly http: ProjectXHttp;
  private readonly keeper: TokenKeeper;
  private readonly ops: OrderOps;
  private readonly contracts: ContractDirectory;
  private readonly router: EventRouter;
  private readonly oco: OcoLinks;
  private readonly listeners = new Set<BrokerListener>();
  private readonly modes = new Map<string, BracketMode>();
  private readonly closes = new CloseBook();
  private readonly fills: FillWatch;
  private readonly sync: AccountSync;
  private current: SessionStatus = { state: "idle", since: new Date(), warm: false };
  private userHub?: HubLink;
  private marketHub?: HubLink;
  private disconnectedAt?: number;
  private lastHubEventAt?: Date;
  private retryTimer?: NodeJS.Timeout;
  private ocoTimer?: NodeJS.Timeout;
  private startAttempts = 0;
  private stopped = true;

  constructor(options: ProjectXSessionOptions) {
    this.accountId = options.accountId;
    this.config = options.config;
    this.venue = venueOf(options.environment, options.config);
    this.logger = options.logger.child({ broker: "projectx", accountId: options.accountId });
    this.window = new RequestWindow(this.config.rateLimit.max, this.config.rateLimit.windowMs);
    this.http = new ProjectXHttp({ ...this.config, window: this.window, logger: this.logger });
    this.keeper = new TokenKeeper(this.http, {
      userName: options.credentials.userName,
      apiKey: options.credentials.apiKey,
      refreshAfterMs: this.config.tokenRefreshAfterMs,
      logger: this.logger,
      onLogin: (result) => this.onLogin(result),
    });
    this.http.tokens = this.keeper;
    this.contracts = new ContractDirectory(this.http, options.contracts);
    this.ops = new OrderOps({
      http: this.http,
      logger: this.logger,
      config: this.config,
      contractId: (spec) => this.contracts.idOf(spec),
    });
    const day = this.config.tradingDay;
    this.router = new EventRouter(
      (e) => this.dispatch(e),
      new DailyPnl((now) => tradingDayStart(now, day)),
      this.logger,
    );
    this.oco = new OcoLinks(
      {
        cancel: (a, id) => this.ops.cancel(a, id),
        modifyQty: (a, id, qty) => this.ops.modify(a, id, { qty }),
        find: async (a, tag) => (await this.ops.find(a, tag))?.brokerOrderId,
      },
      this.logger,
    );
    this.fills = new FillWatch(this.ops);
    this.sync = new AccountSync({
      http: this.http,
      ops: this.ops,
      router: this.router,
      oco: this.oco,
      config: this.config,
      logger: this.logger,
      emit: (e) => this.dispatch(e),
      hubUp: () => this.userHub?.connected === true,
    });
  }

  // ---- lifecycle ----
  async start(): Promise<void> {
    this.stopped = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.setState("connecting");
    const login = await this.keeper.login();
    if (this.stopped) return;
    if (!login.ok) {
      if (login.credentials) this.setState("error", login.message);
      else this.retryStart(login.message);
      return;
    }
    try {
      await this.sync.loadAccounts();
      await this.sync.loadDay();
    } catch (error) {
      this.retryStart(error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.stopped) return;
    this.startAttempts = 0;
    if (!this.userHub) {
      this.userHub = this.hub("user", {
        GatewayUserAccount: (p) => this.fromHub("GatewayUserAccount", p),
        GatewayUserOrder: (p) => this.fromHub("GatewayUserOrder", p),
        GatewayUserPosition: (p) => this.fromHub("GatewayUserPosition", p),
        GatewayUserTrade: (p) => this.fromHub("GatewayUserTrade", p),
      });
      await this.userHub.subscribe("SubscribeAccounts");
      for (const a of this.sync.accounts) {
        for (const method of ["SubscribeOrders", "SubscribePositions", "SubscribeTrades"])
          await this.userHub.subscribe(method, a.id);
      }
    }
    await this.userHub.start();
    this.ocoTimer ??= setInterval(() => void this.sync.checkOco(), 5_000);
    this.logger.info({
      event: "SessionConnected",
      accounts: this.sync.accounts.length,
      hub: this.userHub.connected,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.ocoTimer) clearInterval(this.ocoTimer);
    this.ocoTimer = undefined;
    await Promise.all([this.userHub?.stop(), this.marketHub?.stop()]);
    this.userHub = undefined;
    this.marketHub = undefined;
    this.keeper.stop();
    this.sync.stop();
    this.fills.close();
    this.window.close();
    await this.http.close();
    this.setState("idle");
    this.logger.info({ event: "SessionStopped" });
  }

  status(): SessionStatus {
    const heard = [this.http.lastAnsweredAt, this.lastHubEventAt].filter((d): d is Date => d !== undefined);
    const last = heard.sort((a, b) => b.getTime() - a.getTime())[0];
    return {
      ...this.current,
      ...(last ? { lastHeartbeatAt: last } : {}),
      ...(this.http.lastRttMs !== undefined ? { rttMs: this.http.lastRttMs } : {}),
    };
  }

  on(listener: BrokerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- queries ----
  async brokerAccounts(): Promise<BrokerAccountInfo[]> {
    const accounts = await this.sync.loadAccounts();
    return accounts.map((a) => ({
      id: asBrokerAccountId(String(a.id)),
      name: a.name,
      ...(a.balance !== null && a.balance !== undefined ? { balance: dec(a.balance) } : {}),
    }));
  }

  contract(symbol: string): Promise<ContractSpec> {
    return this.contracts.resolve(symbol);
  }

  async positions(account: BrokerAccountId): Promise<BrokerPosition[]> {
    return (await this.ops.positions(account)).map(positionOf);
  }

  async workingOrders(account: BrokerAccountId): Promise<BrokerOrder[]> {
    return (await this.ops.working(account)).map(orderOf);
  }

  async findOrder(account: BrokerAccountId, clientOrderId: ClientOrderId): Promise<BrokerOrder | null> {
    // A flatten's close carries no customTag: it is found through what the session remembers of it.
    const from = this.closes.searchFrom(account, clientOrderId);
    if (from === undefined) return this.ops.find(account, clientOrderId);
    return this.closes.find(clientOrderId, await this.ops.search(account, from));
  }

  // ---- orders ----
  placeOrder(order: OrderRequest): Promise<OrderOutcome> {
    return this.ops.place(order);
  }

  /**
   * No OCO endpoint exists: both exits are placed as plain orders and linked here (oco.ts). A leg that is
   * refused is not linked; the caller sees both outcomes.
   */
  placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]> {
    return this.oco.placePair(first, second, (order) => this.ops.place(order));
  }

  /** Entry with stop-loss / take-profit in ticks: native brackets in Auto-OCO mode, else separate orders. */
  placeWithBrackets(entry: OrderRequest, brackets: BracketTicks): Promise<BracketOutcome> {
    return placeWithBrackets(
      {
        ops: this.ops,
        logger: this.logger,
        fillWaitMs: this.config.fillWaitMs,
        mode: (a) => this.bracketMode(a),
        learn: (a, mode) => {
          if (this.config.bracketMode === "detect" || mode === "positionBrackets") this.modes.set(a, mode);
        },
        waitForFill: (a, id, ms) => this.fills.wait(a, id, ms),
        placeOco: (x, y) => this.placeOco(x, y),
        find: (a, tag) => this.ops.find(a, tag as ClientOrderId),
      },
      entry,
      brackets,
    );
  }

  bracketMode(account: BrokerAccountId): BracketMode {
    return this.modes.get(account) ?? this.config.bracketMode;
  }

  modifyOrder(
    account: BrokerAccountId,
    orderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    return this.ops.modify(account, orderId, change);
  }

  cancelOrder(account: BrokerAccountId, orderId: BrokerOrderId): Promise<CancelOutcome> {
    return this.ops.cancel(account, orderId);
  }

  flatten(
    account: BrokerAccountId,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome> {
    return flattenContract(
      {
        http: this.http,
        ops: this.ops,
        closes: this.closes,
        logger: this.logger,
        settleMs: this.config.fillWaitMs,
      },
      account,
      contract,
      clientOrderId,
    );
  }

  async subscribeQuotes(contract: ContractSpec): Promise<void> {
    const contractId = await this.contracts.idOf(contract);
    if (!this.marketHub) {
      this.marketHub = this.hub("market", { GatewayQuote: (id, data) => this.fromQuote(id, data) });
      await this.marketHub.subscribe("SubscribeContractQuotes", contractId);
      await this.marketHub.start();
      return;
    }
    await this.marketHub.subscribe("SubscribeContractQuotes", contractId);
  }

  // ---- internals ----
  private hub(name: "user" | "market", handlers: Record<string, (...args: unknown[]) => void>): HubLink {
    return new HubLink({
      name,
      rtcUrl: this.config.rtcUrl,
      token: () => this.keeper.token(),
      peekToken: () => this.keeper.peek(),
      tokenRefused: (token) => this.keeper.invalidate(token, "refused"),
      logger: this.logger,
      reconnectDelaysMs: this.config.reconnectDelaysMs,
      serverTimeoutMs: this.config.hubServerTimeoutMs,
      keepAliveMs: this.config.hubKeepAliveMs,
      connectTimeoutMs: this.config.connectTimeoutMs,
      handlers,
      onState: (state, error) => this.onHubState(name, state, error),
      onResubscribed: () => {
        if (name !== "user") return;
        const since = this.disconnectedAt ?? Date.now();
        this.disconnectedAt = undefined;
        void this.sync.resync(since);
      },
    });
  }

  private onHubState(name: "user" | "market", state: LinkState, error?: string): void {
    if (name !== "user" || this.stopped) return;
    // Refused credentials stay the reason the session is down, whatever the hub retries say.
    if (state === "reconnecting" && this.keeper.refused()) return;
    if (state === "connected") {
      this.setState("ready");
    } else if (state === "reconnecting") {
      this.disconnectedAt ??= Date.now();
      this.setState("reconnecting", error ? `ProjectX user hub disconnected: ${error}` : undefined);
      this.logger.warn({ event: "SessionReconnecting", reason: error }, "ProjectX user hub reconnecting");
    }
  }

  private fromHub(target: string, payload: unknown): void {
    this.lastHubEventAt = new Date();
    this.router.userEvent(target, payload);
  }

  private fromQuote(contractId: unknown, data: unknown): void {
    this.lastHubEventAt = new Date();
    this.router.quote(contractId, data);
  }

  /** Every event goes to the OCO links and fill waiters first, then to listeners. */
  private dispatch(event: BrokerEvent): void {
    if (event.type === "OrderFilled") {
      void this.oco.onFill(event.brokerAccountId, event.brokerOrderId, event.clientOrderId, event.fill.qty);
    } else if (event.type === "OrderUpdated") {
      if (this.oco.size > 0) void this.oco.onOrder(event.raw as OrderWire);
      this.fills.note(event.order);
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ event: "ListenerFailed", reason: String(error) }, "broker event listener threw");
      }
    }
  }

  /** A login refused after the session was up (credentials changed at the firm): say so, do not retry. */
  private onLogin(result: LoginResult): void {
    if (this.stopped || result.ok || !result.credentials) return;
    this.setState("error", result.message);
  }

  private retryStart(reason: string): void {
    this.setState("down", reason);
    if (this.stopped) return;
    const attempt = this.startAttempts++;
    const delayMs = Math.max(500, backoffDelay(attempt, this.config.reconnectDelaysMs));
    this.logger.debug(
      { event: "ReconnectScheduled", attempt: attempt + 1, delayMs, reason },
      "ProjectX start retry scheduled",
    );
    this.retryTimer = setTimeout(() => void this.start(), delayMs);
  }

  private setState(state: SessionState, error?: string): void {
    if (this.current.state === state && this.current.error === error) return;
    this.current = {
      state,
      since: new Date(),
      warm: this.current.warm || state === "ready",
      ...(error ? { error } : {}),
    };
    this.dispatch({ type: "SessionChanged", status: this.status() });
  }
}
