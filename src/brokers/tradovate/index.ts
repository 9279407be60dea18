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
  type ResolvedOptions,
  resolveOptions,
  type TradovateCredentials,
  type TradovateFactoryOptions,
  tradingSocketUrl,
  venueOf,
} from "./config";
import { type ConnectionUrls, TradovateConnection } from "./connection";
import { ContractCatalog } from "./contracts";
import { TradovateSession } from "./session";

export type { TradovateFactoryOptions } from "./config";
export { TradovateSession } from "./session";

/** What a session needs to reach (or open) the connection of its login. */
interface Login {
  key: string;
  kind: BrokerKind;
  environment: SessionContext["environment"];
  name: string;
  credentials: TradovateCredentials;
  urls: ConnectionUrls;
}

export class TradovateFactory implements BrokerFactory {
  readonly kinds: readonly BrokerKind[] = ["tradovate", "ninjatrader"];
  private readonly connections = new Map<string, TradovateConnection>();
  /** Contract data per REST host (environment), shared by every login on it. */
  private readonly catalogs = new Map<string, ContractCatalog>();

  /** One resolved copy for every login (never changed after this). */
  private readonly resolved: ResolvedOptions;

  constructor(private readonly options: TradovateFactoryOptions) {
    this.resolved = resolveOptions(options);
  }

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
    const login: Login = {
      key,
      kind: context.kind,
      environment: context.environment,
      name: context.name,
      credentials: parsed.value,
      urls: { restUrl, wsUrl: tradingSocketUrl(restUrl), mdUrl: hosts.mdUrl },
    };
    const venue = venueOf(context.kind, context.environment, restUrl);
    return new TradovateSession(context.kind, context.accountId, venue, () => this.connection(login));
  }

  /** The login's live connection, or a new one (the first session to start it, or after it stopped). */
  private connection(login: Login): TradovateConnection {
    const existing = this.connections.get(login.key);
    if (existing && !existing.closed) return existing;
    const logger = this.options.logger.child({
      broker: login.kind,
      environment: login.environment,
      login: login.name,
    });
    const created = new TradovateConnection(
      login.urls,
      login.credentials,
      this.resolved,
      logger,
      this.catalog(login.urls.restUrl),
      () => {
        if (this.connections.get(login.key) === created) this.connections.delete(login.key);
      },
    );
    this.connections.set(login.key, created);
    return created;
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
