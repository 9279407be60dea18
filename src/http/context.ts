/** The services every route receives from the app factory; routes never build their own. */
import type { PaperExchange } from "../brokers/paper/exchange";
import type { Config } from "../config";
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import type { Dispatcher } from "../dispatch/dispatcher";
import type { EventBus } from "../events";
import type { Intake } from "../intake/intake";
import type { ManualTrades } from "../intake/manual";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { LossMonitor } from "../monitor/index";
import type { Notifications } from "../notify/index";
import type { CredentialSealer } from "../secrets/sealer";
import type { SessionPool } from "../sessions/pool";
import type { AdminAuth } from "./auth";

export interface Services {
  config: Config;
  sql: Sql;
  logger: Logger;
  directory: Directory;
  pool: SessionPool;
  sealer: CredentialSealer;
  intake: Intake;
  /** Issue 15: manual trades, committed as signals and dispatched like a webhook's. */
  manualTrades: ManualTrades;
  dispatcher: Dispatcher;
  paper: PaperExchange;
  auth: AdminAuth;
  counters: Map<string, number>;
  metrics: Metrics;
  lossMonitor: LossMonitor;
  notifications: Notifications;
  startedAt: Date;
  /** Relay events: the console streams them to signed-in browsers. */
  bus: EventBus;
  /** Issue 14, leader copying: re-read the leaders (a PUT is in force when it is answered). */
  leaders?: { reload(): Promise<void> };
  /**
   * Issue 16: brings an account's session to this relay for an admin action that needs it (its holder
   * hands it over); the returned function lets it go again. Absent: this relay holds every account.
   */
  ownership?: { bringHere(accountId: string, timeoutMs?: number): Promise<() => void> };
  /** Remote address of the socket behind a request (absent for in-process app.request()). */
  peerAddress?: (raw: unknown) => string | undefined;
}

export interface Env {
  Variables: { actor: string };
  Bindings: { incoming?: { socket?: { remoteAddress?: string } } };
}
