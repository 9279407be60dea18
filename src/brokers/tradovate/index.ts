/**
 * Tradovate / NinjaTrader Brokerage broker factory. Sessions with the same credentials and environment
 * share one login (connection); the connection closes when its last session stops.
 *
 * @example
 *   const factory = createTradovateFactory({
 *     demoUrl: "https://demo.tradovateapi.com/v1",
 *     liveUrl: "https://live.tradovateapi.com/v1",
 *     mdUrl: "wss://md.tradovateapi.com/v1/websocket",
 *     logger,
 *   });
 *   const session = factory.create({ accountId, name, kind: "tradovate", environment: "demo", credentials });
 *   await session.start();
 */
import type { BrokerFactory, BrokerKind, BrokerSession, SessionContext } from "../port";
import {
  loginKey,
  parseCredentials,
  resolveOptions,
  type TradovateFactoryOptions,
  tradingSocketUrl,
  venueOf,
} from "./config";
import { TradovateConnection } from "./connection";
import { ContractCatalog } from "./contracts";
import { TradovateSession } from "./session";

export type { TradovateFactoryOptions } from "./config";
export { TradovateSession } from "./session";

export class TradovateFactory implements BrokerFactory {
  readonly kinds: readonly BrokerKind[] = ["tradovate", "ninjatrader"];
  private readonly connections = new Map<string, TradovateConnection>();
  /** Contract data per REST host (environment), shared by every login on it. */
  private readonly catalogs = new Map<string, ContractCatalog>();

  constructor(private readonly options: TradovateFactoryOptions) {}

  validateCredentials(credentials: unknown): { ok: true } | { ok: false; message: string } {
    const parsed = parseCredentials(credentials);
    return parsed.ok ? { ok: true } : { ok: false, message: parsed.message };
  }

  create(context: SessionContext): BrokerSession {
    if (!this.kinds.includes(context.kind)) throw new Error(`TradovateFactory cannot serve ${context.kind}`);
    const parsed = parseCredentials(context.credentials);
    if (!parsed.ok) throw new Error(parsed.message);
    const o = this.options;
    const hosts = context.kind === "ninjatrader" ? { ...o, ...o.ninjatrader } : o;
    const restUrl = context.environment === "live" ? hosts.liveUrl : hosts.demoUrl;
    const key = `${context.kind}|${loginKey(context.environment, parsed.value, restUrl)}`;
    const obtain = (): TradovateConnection => {
      const existing = this.connections.get(key);
      if (existing && !existing.closed) return existing;
      const logger = o.logger.child({
        broker: context.kind,
        environment: context.environment,
        login: context.name,
      });
      const created = new TradovateConnection(
        { restUrl, wsUrl: tradingSocketUrl(restUrl), mdUrl: hosts.mdUrl },
        parsed.value,
        resolveOptions(o),
        logger,
        this.catalog(restUrl),
        () => {
          if (this.connections.get(key) === created) this.connections.delete(key);
        },
      );
      this.connections.set(key, created);
      return created;
    };
    const venue = venueOf(context.kind, context.environment, restUrl);
    return new TradovateSession(context.kind, context.accountId, venue, obtain);
  }

  private catalog(restUrl: string): ContractCatalog {
    let catalog = this.catalogs.get(restUrl);
    if (!catalog) {
      catalog = new ContractCatalog();
      this.catalogs.set(restUrl, catalog);
    }
    return catalog;
  }
}

export function createTradovateFactory(options: TradovateFactoryOptions): TradovateFactory {
  return new TradovateFactory(options);
}
