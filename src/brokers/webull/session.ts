/**
 * One Webull login as a `BrokerSession`: signed REST for orders and queries, polling for events, cancels
 * paced to the documented 1 request/s, adapter-managed OCO.
 *
 * Outcomes: HTTP 2xx is `accepted`; a 4xx with Webull's `error_code`/`message` (including 401 signature
 * failures) is `rejected` in Webull's words; a 429 is retried after a back-off because the request was
 * not processed; a timeout, a dropped connection or a 5xx is `unknown` and is never re-sent: the order is
 * watched by the poller and `findOrder` settles it.
 */
import type { Logger } from "pino";
import { type ContractSpec, EQUITY_TICKER, specFromTable } from "../../domain/contract";
import { type Dec, dec } from "../../domain/decimal";
import {
  type AccountId,
  asBrokerAccountId,
  type BrokerAccountId,
  type BrokerOrderId,
  type ClientOrderId,
} from "../../domain/ids";
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
import { describeFailure, type Failure, WebullApi } from "./api";
import { venueOf, type WebullCredentials } from "./config";
import { EventPoller } from "./events";
import { WebullHttp } from "./http";
import { OcoBook } from "./oco";
import { WebullOrders } from "./orders";
import { cancelPacerFor } from "./pacer";
import { isFinal, toBrokerOrder, toPosition } from "./parse";

export interface WebullSessionOptions {
  accountId: AccountId;
  environment: Environment;
  credentials: WebullCredentials;
  /** Resolved host, or the reason there is none (a demo login without a demo host). */
  baseUrl: { ok: true; url: string } | { ok: false; message: string };
  logger: Logger;
  requestTimeoutMs: number;
  pollIntervalMs: number;
  cancelSpacingMs: number;
  now?: () => number;
}

export class WebullSession implements BrokerSession {
  readonly kind = "webull" as const;
  readonly accountId: AccountId;
  readonly venue: string;
  private readonly log: Logger;
  private readonly listeners = new Set<BrokerListener>();
  private readonly stopper = new AbortController();
  private readonly subscribed = new Set<string>();
  private readonly http: WebullHttp | undefined;
  private readonly api: WebullApi | undefined;
  private readonly poller: EventPoller | undefined;
  private readonly orders: WebullOrders | undefined;
  private readonly oco: OcoBook | undefined;
  private accounts: BrokerAccountId[] = [];
  private current: SessionStatus;
  private started = false;

  constructor(private readonly options: WebullSessionOptions) {
    this.accountId = options.accountId;
    this.venue = venueOf(options.environment, options.baseUrl);
    this.log = options.logger.child({ broker: "webull", accountId: options.accountId });
    const now = options.now ?? Date.now;
    this.current = { state: "idle", since: new Date(now()), warm: false };
    if (!options.baseUrl.ok) return;
    const { credentials: c } = options;
    this.http = new WebullHttp({
      baseUrl: options.baseUrl.url,
      appKey: c.appKey,
      appSecret: c.appSecret,
      ...(c.accessToken ? { accessToken: c.accessToken } : {}),
      timeoutMs: options.requestTimeoutMs,
      now,
      // A call that could not even connect: not ready until a poll gets through again.
      onUnreachable: (reason) => {
        if (this.current.state === "ready")
          this.onHealth({ ok: false, failure: { kind: "refused", reason } });
      },
    });
    const api = new WebullApi(this.http, this.stopper.signal);
    this.api = api;
    const orders = new WebullOrders({
      api,
      pacer: cancelPacerFor(c.appKey, options.cancelSpacingMs),
      cancelSpacingMs: options.cancelSpacingMs,
      logger: this.log,
      signal: this.stopper.signal,
      watch: (order) => this.poller?.watch(order),
      kick: () => this.poller?.kick(),
      known: (account, id) => this.poller?.known(account, id),
    });
    this.orders = orders;
    this.oco = new OcoBook({
      cancel: (account, id) => orders.cancel(account, id),
      reduce: (account, id, qty) => orders.modify(account, id, { qty }),
      known: (account, id) => this.poller?.known(account, id),
      logger: this.log,
      signal: this.stopper.signal,
    });
    this.poller = new EventPoller({
      api,
      accounts: () => this.accounts,
      emit: (event) => this.emit(event),
      logger: this.log,
      intervalMs: options.pollIntervalMs,
      onHealth: (health) => this.onHealth(health),
      onOrder: (order) => {
        orders.remember(order);
        this.oco?.onOrder(order);
      },
      beforeRound: () => this.loadAccounts(),
      subscribed: () => this.subscribed,
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.options.baseUrl.ok) {
      this.setStatus("error", this.options.baseUrl.message);
      return;
    }
    this.setStatus("connecting");
    await this.loadAccounts();
    this.poller?.start();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.http?.close();
    await this.poller?.stop();
    await this.oco?.stop();
    this.setStatus("idle");
  }

  status(): SessionStatus {
    return { ...this.current };
  }

  on(listener: BrokerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async brokerAccounts(): Promise<BrokerAccountInfo[]> {
    const api = this.need();
    const r = await api.accounts();
    if (!r.ok) throw new Error(describeFailure(r.failure));
    const wanted = this.options.credentials.accountId;
    const rows = r.value.filter((a) => !wanted || a.account_id === wanted);
    const out: BrokerAccountInfo[] = [];
    for (const row of rows) {
      const balance = await api.balance(row.account_id);
      const cash = balance.ok ? balance.value.total_cash_balance : undefined;
      out.push({
        id: asBrokerAccountId(row.account_id),
        name: row.account_label ?? row.account_number ?? row.account_id,
        ...(cash !== undefined ? { balance: dec(cash) } : {}),
      });
    }
    return out;
  }

  /** Webull has no contract lookup in this API: futures come from the product table, else an equity. */
  async contract(symbol: string): Promise<ContractSpec> {
    const spec = specFromTable(symbol, new Date((this.options.now ?? Date.now)()));
    if (spec) return spec;
    const ticker = symbol.trim().toUpperCase();
    if (EQUITY_TICKER.test(ticker))
      return { name: ticker, root: ticker, tickSize: dec("0.01"), valuePerPoint: dec(1) };
    throw new Error(`unknown symbol ${symbol}: not a futures product in the table nor an equity ticker`);
  }

  async placeOrder(order: OrderRequest): Promise<OrderOutcome> {
    if (!this.orders) return this.unconfigured();
    return this.orders.place(order);
  }

  async placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]> {
    const orders = this.orders;
    if (!orders) return [this.unconfigured(), this.unconfigured()];
    const sameAccount = first.brokerAccountId === second.brokerAccountId;
    // Armed before sending: a leg that fills at once must already find its twin.
    if (sameAccount) this.oco?.arm(first.brokerAccountId, first.clientOrderId, second.clientOrderId);
    const outcomes = await Promise.all([orders.place(first), orders.place(second)]);
    const [a, b] = outcomes;
    // An unknown leg may still exist at Webull, so the pair stays armed; a refused one frees its twin.
    if (!sameAccount || a.kind === "rejected" || b.kind === "rejected") {
      this.oco?.disarm(first.brokerAccountId, first.clientOrderId);
      this.log.warn(
        { event: "OcoNotArmed", first: first.clientOrderId, second: second.clientOrderId },
        "OCO legs not paired (one was refused or they are on different accounts): each works on its own",
      );
    }
    return outcomes;
  }

  async modifyOrder(
    brokerAccountId: BrokerAccountId,
    brokerOrderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    const orders = this.orders;
    if (!orders) return this.unconfigured();
    const clientOrderId = await orders.resolve(brokerAccountId, brokerOrderId);
    const outcome = await orders.modify(brokerAccountId, clientOrderId, change);
    return outcome.kind === "accepted" ? { ...outcome, brokerOrderId } : outcome;
  }

  async cancelOrder(brokerAccountId: BrokerAccountId, brokerOrderId: BrokerOrderId): Promise<CancelOutcome> {
    const orders = this.orders;
    if (!orders) return this.unconfigured();
    return orders.cancel(brokerAccountId, await orders.resolve(brokerAccountId, brokerOrderId));
  }

  async flatten(
    brokerAccountId: BrokerAccountId,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome> {
    if (!this.orders) return this.unconfigured();
    return this.orders.flatten(brokerAccountId, contract, clientOrderId);
  }

  async positions(brokerAccountId: BrokerAccountId): Promise<BrokerPosition[]> {
    const r = await this.need().positions(brokerAccountId);
    if (!r.ok) throw new Error(describeFailure(r.failure));
    return r.value.map((v) => toPosition(v, brokerAccountId)).filter((p) => p.netPos !== 0);
  }

  async workingOrders(brokerAccountId: BrokerAccountId): Promise<BrokerOrder[]> {
    const r = await this.need().openOrders(brokerAccountId);
    if (!r.ok) throw new Error(describeFailure(r.failure));
    return r.value.map((v) => toBrokerOrder(v, brokerAccountId)).filter((o) => !isFinal(o.status));
  }

  /** Throws when Webull cannot be asked: "could not ask" must never read as "never received". */
  async findOrder(
    brokerAccountId: BrokerAccountId,
    clientOrderId: ClientOrderId,
  ): Promise<BrokerOrder | null> {
    const r = await this.need().detail(brokerAccountId, clientOrderId);
    if (!r.ok) throw new Error(describeFailure(r.failure));
    if (!r.value) return null;
    const order = toBrokerOrder(r.value, brokerAccountId);
    this.orders?.remember(order);
    return order;
  }

  /** Webull quotes stream over MQTT, not wired here: last prices come from the positions poll. */
  async subscribeQuotes(contract: ContractSpec): Promise<void> {
    this.subscribed.add(contract.name);
  }

  // ------------------------------------------------------------------------------------------------

  /** Loads the account list once; false while it cannot (the poller then backs off). */
  private async loadAccounts(): Promise<boolean> {
    if (this.accounts.length > 0) return true;
    if (!this.api) return false;
    const r = await this.api.accounts();
    if (!r.ok) {
      this.onHealth({ ok: false, failure: r.failure });
      return false;
    }
    const wanted = this.options.credentials.accountId;
    const ids = r.value.map((a) => a.account_id);
    if (wanted && !ids.includes(wanted)) {
      this.setStatus("error", `Webull account ${wanted} is not among this app's accounts`);
      return false;
    }
    this.accounts = (wanted ? [wanted] : ids).map(asBrokerAccountId);
    this.current.warm = true;
    this.onHealth({ ok: true, rttMs: r.rttMs });
    this.log.info({ event: "SessionConnected", accounts: this.accounts.length }, "Webull session ready");
    return true;
  }

  private onHealth(health: { ok: true; rttMs: number } | { ok: false; failure: Failure }): void {
    if (this.stopper.signal.aborted) return;
    if (health.ok) {
      if (this.accounts.length === 0) return;
      this.current.lastHeartbeatAt = new Date((this.options.now ?? Date.now)());
      this.current.rttMs = health.rttMs;
      this.setStatus("ready");
      return;
    }
    const f = health.failure;
    const message = describeFailure(f);
    const state: SessionState = f.kind === "error" && f.status === 401 ? "error" : "reconnecting";
    if (this.current.state !== state || this.current.error !== message) {
      this.log.warn({ event: "SessionDegraded", state, reason: message }, "Webull session degraded");
    }
    this.setStatus(state, message);
  }

  private setStatus(state: SessionState, error?: string): void {
    const before = this.current;
    if (before.state === state && before.error === error) return;
    this.current = {
      state,
      since: before.state === state ? before.since : new Date((this.options.now ?? Date.now)()),
      warm: before.warm,
      ...(before.lastHeartbeatAt ? { lastHeartbeatAt: before.lastHeartbeatAt } : {}),
      ...(before.rttMs !== undefined ? { rttMs: before.rttMs } : {}),
      ...(error !== undefined ? { error } : {}),
    };
    this.emit({ type: "SessionChanged", status: this.status() });
  }

  private emit(event: BrokerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ event: "ListenerFailed", err: error }, "a broker event listener threw");
      }
    }
  }

  private need(): WebullApi {
    if (!this.api) throw new Error(this.current.error ?? "Webull session has no host");
    return this.api;
  }

  /** Nothing was sent: this login has no host (a demo login without a demo URL). */
  private unconfigured(): { kind: "rejected"; reason: string; code: string } {
    const reason = this.options.baseUrl.ok
      ? "Webull session is not configured"
      : this.options.baseUrl.message;
    return { kind: "rejected", reason, code: "NOT_CONFIGURED" };
  }
}
