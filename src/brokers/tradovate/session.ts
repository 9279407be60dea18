/**
 * The BrokerSession of one relay account on Tradovate or NinjaTrader. It is a view on the shared
 * TradovateConnection of its login: two accounts with the same credentials share one login, one token
 * and one trading socket, so Tradovate never sees a second session from us.
 */
import type { ContractSpec } from "../../domain/contract";
import type { Dec } from "../../domain/decimal";
import type { AccountId, BrokerAccountId, BrokerOrderId, ClientOrderId } from "../../domain/ids";
import type {
  BrokerAccountInfo,
  BrokerKind,
  BrokerListener,
  BrokerOrder,
  BrokerPosition,
  BrokerSession,
  CancelOutcome,
  OrderOutcome,
  OrderRequest,
  SessionStatus,
} from "../port";
import type { TradovateConnection } from "./connection";

export class TradovateSession implements BrokerSession {
  private started = false;
  private unsubscribe?: () => void;
  private readonly listeners = new Set<BrokerListener>();

  private current?: TradovateConnection;

  constructor(
    readonly kind: BrokerKind,
    readonly accountId: AccountId,
    /** Where this login's ids live; the same login reconnecting keeps it. */
    readonly venue: string,
    private readonly obtain: () => TradovateConnection,
  ) {}

  /** The login's shared connection; `start` takes a fresh one if the previous one was stopped. */
  private get connection(): TradovateConnection {
    this.current ??= this.obtain();
    return this.current;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.current?.closed) this.current = undefined;
    const connection = this.connection;
    this.unsubscribe = connection.on((event) => {
      for (const l of this.listeners) l(event);
    });
    await connection.acquire();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.current?.release();
  }

  status(): SessionStatus {
    return this.connection.status();
  }

  brokerAccounts(): Promise<BrokerAccountInfo[]> {
    return this.connection.lookups.accounts();
  }

  contract(symbol: string): Promise<ContractSpec> {
    return this.connection.contracts.resolve(symbol);
  }

  placeOrder(order: OrderRequest): Promise<OrderOutcome> {
    return this.connection.orders.placeOrder(order);
  }

  placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]> {
    return this.connection.orders.placeOco(first, second);
  }

  modifyOrder(
    brokerAccountId: BrokerAccountId,
    brokerOrderId: BrokerOrderId,
    change: { qty?: number; price?: Dec; stopPrice?: Dec },
  ): Promise<OrderOutcome> {
    return this.connection.orders.modifyOrder(brokerAccountId, brokerOrderId, change);
  }

  cancelOrder(brokerAccountId: BrokerAccountId, brokerOrderId: BrokerOrderId): Promise<CancelOutcome> {
    return this.connection.orders.cancelOrder(brokerAccountId, brokerOrderId);
  }

  flatten(
    brokerAccountId: BrokerAccountId,
    contract: ContractSpec,
    clientOrderId: ClientOrderId,
  ): Promise<OrderOutcome> {
    return this.connection.orders.flatten(brokerAccountId, contract, clientOrderId);
  }

  positions(brokerAccountId: BrokerAccountId, options?: { fresh?: boolean }): Promise<BrokerPosition[]> {
    return this.connection.lookups.positions(brokerAccountId, options?.fresh === true);
  }

  workingOrders(brokerAccountId: BrokerAccountId): Promise<BrokerOrder[]> {
    return this.connection.lookups.workingOrders(brokerAccountId);
  }

  findOrder(brokerAccountId: BrokerAccountId, clientOrderId: ClientOrderId): Promise<BrokerOrder | null> {
    return this.connection.lookups.findOrder(brokerAccountId, clientOrderId);
  }

  subscribeQuotes(contract: ContractSpec): Promise<void> {
    return this.connection.subscribeQuotes(contract);
  }

  on(listener: BrokerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
