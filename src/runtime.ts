/**
 * Builds a relay from its configuration and database: the services, the HTTP app, and the start and
 * stop sequences. `main.ts` runs it for real; tests build several on one database to restart them.
 *
 * Start is the recovery path: configuration is loaded, unfinished executions are resumed and broker
 * sessions pre-warmed before the caller opens the port for webhooks.
 */

import type { BrokerFactory } from "./brokers/port";
import { brokerFactories, PaperExchange } from "./brokers/registry";
import type { Config } from "./config";
import type { Sql } from "./db/client";
import { orderByClientId } from "./db/orders";
import { parseRelayNotice } from "./db/owners";
import { Directory } from "./directory";
import { Dispatcher } from "./dispatch/dispatcher";
import { Executor } from "./dispatch/executor";
import { SignalReporter } from "./dispatch/reporter";
import type { EntryGate } from "./domain/gate";
import { tradingDay } from "./domain/trading-day";
import { EventBus } from "./events";
import { createApp } from "./http/app";
import { AdminAuth } from "./http/auth";
import type { Services } from "./http/context";
import { AddressSet, parseAllowlist } from "./intake/client-ip";
import { Intake } from "./intake/intake";
import { ManualTrades } from "./intake/manual";
import { RateLimiter } from "./intake/rate-limit";
import { UnknownTokens } from "./intake/unknown-tokens";
import { WebhookLogRetention } from "./intake/webhook-log-retention";
import { LeaderCopier } from "./leader/copier";
import type { Logger } from "./log";
import { Metrics } from "./metrics";
import { createLossMonitor, type LossMonitor, type LossMonitorDeps, SessionFlattener } from "./monitor/index";
import { createNotifications, type Notifications } from "./notify/index";
import { ContractBook } from "./orders/contracts";
import { DriftDesk } from "./orders/drift";
import { FillRecorder } from "./orders/fills";
import { Journal } from "./orders/journal";
import { OrderKernel } from "./orders/kernel";
import { OcoGuard } from "./orders/oco-guard";
import { PositionBook } from "./orders/position-book";
import { LastPrices } from "./orders/prices";
import { StopManager } from "./orders/stop-manager";
import { Reconciler } from "./reconcile/reconciler";
import { checkCredentialsKey } from "./secrets/key-check";
import { CredentialSealer } from "./secrets/sealer";
import { Balances } from "./sessions/balances";
import { AccountOwnership } from "./sessions/ownership";
import { SessionPool } from "./sessions/pool";

export interface RelayOptions {
  config: Config;
  sql: Sql;
  logger: Logger;
  credentialsKey: Buffer;
  /** Replace the broker factories (tests point brokers at simulators this way, or add fault hooks). */
  factories?: (paper: PaperExchange) => BrokerFactory[];
  now?: () => Date;
  settleDelaysMs?: number[];
  /** Look-ups made only while a broker cannot be reached, after the settle delays (see legs.ts). */
  unreachableDelaysMs?: number[];
  peerAddress?: Services["peerAddress"];
  /** Loss monitor knobs for tests (clock, retry pauses); production uses the defaults. */
  lossMonitor?: Partial<LossMonitorDeps>;
  /** Node process metrics in /metrics (off in tests that build many relays in one process). */
  processMetrics?: boolean;
  /** How long start() waits for sessions to pre-warm before returning anyway. */
  warmTimeoutMs?: number;
}

export interface Relay {
  app: ReturnType<typeof createApp>;
  services: Services;
  executor: Executor;
  fills: FillRecorder;
  bus: EventBus;
  reconciler: Reconciler;
  monitor: LossMonitor;
  notifications: Notifications;
  /** Checks consulted before any new exposure (loss monitor, kill switch); the first reason wins. */
  entryGates: EntryGate[];
  leaders: LeaderCopier;
  sessionFlatten: SessionFlattener;
  /** The accounts whose sessions this relay holds (issue 16). */
  ownership: AccountOwnership;
  start(): Promise<void>;
  /** `abandon`: leave the account leases to lapse, as a crashed relay would (tests). */
  stop(drainMs?: number, opts?: { abandon?: boolean }): Promise<void>;
}

export function buildRelay(o: RelayOptions): Relay {
  const { config, sql, logger } = o;
  const bus = new EventBus((error, event) =>
    logger.error(
      { event: "EventListenerFailed", relayEvent: event.type, error: String(error) },
      "event listener failed",
    ),
  );
  const directory = new Directory(sql, logger);
  // Listening starts now, so events during start-up are kept; the sender starts in start().
  const notifications = createNotifications({
    sql,
    logger,
    bus,
    directory,
    config,
    ...(o.now ? { now: o.now } : {}),
  });
  const metrics = new Metrics(o.processMetrics ?? true);
  const dayRule = { roll: config.TRADING_DAY_ROLL, timeZone: config.TRADING_DAY_TIME_ZONE };
  const paper = new PaperExchange(sql, logger, o.now, (at) => tradingDay(at, dayRule));
  const sealer = new CredentialSealer(o.credentialsKey);
  const factories =
    o.factories?.(paper) ?? brokerFactories({ config, logger, paper, ...(o.now ? { now: o.now } : {}) });
  const pool = new SessionPool(sql, logger, sealer, directory, factories, bus);
  const contracts = new ContractBook();
  // The traders' positions in memory, kept by the FillRecorder's bookings (the executor plans from it).
  const positions = new PositionBook(sql, logger);
  const journal = new Journal(sql, positions);
  const fills = new FillRecorder(
    sql,
    logger,
    async (accountId, name) => {
      const known = contracts.known(accountId, name);
      if (known) return known;
      const session = pool.peek(accountId);
      if (!session) return undefined;
      const spec = await session.contract(name);
      contracts.remember(accountId, spec);
      return spec;
    },
    journal,
    (accountId) => {
      const account = directory.account(accountId);
      return pool.peek(accountId)?.venue ?? (account ? `${account.broker}:${account.environment}` : "");
    },
    positions,
  );
  const prices = new LastPrices();
  const balances = new Balances(); // risk sizing in percent of the balance (issue 14)
  pool.onEvent((accountId, event) => {
    fills.handle(accountId, event);
    prices.handle(accountId, event);
    balances.handle(accountId, event);
  });
  const drift = new DriftDesk(sql, logger, directory, bus);
  fills.onConflict((accountId, clientOrderId, contract, detail, booked) => {
    void orderByClientId(sql, clientOrderId)
      .then((order) =>
        drift.report({
          accountId,
          brokerAccountId: order?.brokerAccountId ?? "",
          contract,
          kind: "fill_conflict",
          detail,
          fixed: booked,
        }),
      )
      .catch(() => undefined);
  });
  const kernel = new OrderKernel({
    sql,
    logger,
    journal,
    fills,
    drift,
    fillWaitMs: config.FILL_WAIT_MS,
    lastPrice: (accountId, contract) => prices.get(accountId, contract),
  });
  const spec = async (accountId: string, name: string) => {
    const known = contracts.known(accountId, name);
    if (known) return known;
    const found = await contracts.resolve(await pool.session(accountId), name);
    return found;
  };
  // Issue 14: break-even and relay-managed trailing stops, told of every protection by the kernel.
  const stopManager = new StopManager({
    sql,
    logger,
    kernel,
    session: (id) => pool.peek(id),
    spec,
    ...(o.settleDelaysMs ? { settleDelaysMs: o.settleDelaysMs } : {}),
  });
  kernel.d.stops = stopManager;
  pool.onEvent((accountId, event) => stopManager.handle(accountId, event));
  const ocoGuard = new OcoGuard({
    sql,
    logger,
    fills,
    journal,
    kernel,
    session: (id) => pool.session(id),
    spec,
  });
  const reporter = new SignalReporter(sql, bus, logger);
  // Executions waiting for their broker, woken when its session reports ready again.
  const waitingFor = new Map<string, Set<() => void>>();
  pool.onEvent((id, event) => {
    if (event.type !== "SessionChanged" || event.status.state !== "ready") return;
    for (const wake of waitingFor.get(id) ?? []) wake();
  });
  /** Resolves when the account's session reports ready again, or after `ms`. */
  const brokerBack = (accountId: string, ms: number) =>
    new Promise<void>((resolve) => {
      const set = waitingFor.get(accountId) ?? new Set();
      waitingFor.set(accountId, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && waitingFor.get(accountId) === set) waitingFor.delete(accountId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      set.add(wake);
    });
  const entryGates: EntryGate[] = [];
  const executor = new Executor({
    sql,
    logger,
    directory,
    pool,
    fills,
    contracts,
    journal,
    kernel,
    fillWaitMs: config.FILL_WAIT_MS,
    maxOrderContracts: config.MAX_ORDER_CONTRACTS,
    ...(o.now ? { now: o.now } : {}),
    ...(o.settleDelaysMs ? { settleDelaysMs: o.settleDelaysMs } : {}),
    ...(o.unreachableDelaysMs ? { unreachableDelaysMs: o.unreachableDelaysMs } : {}),
    entryGate: (who) => {
      for (const gate of entryGates) {
        const reason = gate(who);
        if (reason) return reason;
      }
      return undefined;
    },
    onFinished: (job, outcome) => reporter.finished(job, outcome),
    onWaiting: (job, reason) => reporter.waiting(job, reason),
    metrics,
    // Issue 14 entry filters and risk sizing: the loss monitor's trading day, the brokers' balances.
    dayRule: (accountId) => monitor.ruleOf(accountId),
    balances,
  });
  const dispatcher = new Dispatcher({
    sql,
    logger,
    executor,
    concurrency: config.DISPATCH_CONCURRENCY,
    instanceId: config.instanceId,
    leaseMs: config.EXECUTION_LEASE_MS,
    onSignalDone: (signalId) => reporter.signalDone(signalId),
    waitForBroker: (accountId, ms) => brokerBack(accountId, ms),
    holds: (accountId) => ownership.holds(accountId),
  });
  // Issue 16: one relay per account session, however many relays share the database.
  const ownership: AccountOwnership = new AccountOwnership({
    sql,
    logger,
    relay: config.instanceId,
    leaseMs: config.ACCOUNT_LEASE_MS,
    // Not handed over mid-work: nothing queued or running, no flatten unfinished.
    isIdle: (accountId) => dispatcher.isIdle(accountId) && !monitor.flattening(accountId),
    gained: (accountIds) => {
      void pool.warmIfInUse(accountIds);
      leaders.warm();
      void Promise.all([monitor.adopt(accountIds), stopManager.adopt(accountIds)]).catch((error: unknown) =>
        logger.warn({ event: "AdoptFailed", error: String(error) }, "could not load the accounts' books"),
      );
      dispatcher.claimSoon();
    },
    letGo: async (accountIds) => {
      await Promise.all(accountIds.map((id) => pool.remove(id)));
    },
  });
  pool.useOwnership(ownership);
  const stopListening: (() => Promise<void>)[] = [];
  // A trader added through another relay puts an account this relay holds in use: log in to it here.
  directory.onChange(() => {
    if (ownership.started) void pool.warmMissing();
  });
  const counters = new Map<string, number>();
  const unknownTokens = new UnknownTokens({
    sql,
    logger,
    perMinute: config.UNKNOWN_TOKEN_RATE_PER_MINUTE,
    burst: config.UNKNOWN_TOKEN_BURST,
    rowsPerMinute: config.UNKNOWN_TOKEN_ROWS_PER_MINUTE,
  });
  const webhookLogRetention = new WebhookLogRetention({
    sql,
    logger,
    days: config.WEBHOOK_LOG_DAYS,
    maxBytes: config.WEBHOOK_LOG_MAX_MB * 1_048_576,
  });
  const intake = new Intake({
    sql,
    logger,
    directory,
    limiter: new RateLimiter(config.WEBHOOK_RATE_PER_MINUTE, config.WEBHOOK_RATE_BURST),
    allowlist: parseAllowlist(config.WEBHOOK_IP_ALLOWLIST),
    trustedProxies: AddressSet.fromList(config.TRUSTED_PROXIES),
    maxBytes: config.WEBHOOK_MAX_BYTES,
    maxOrderContracts: config.MAX_ORDER_CONTRACTS,
    instanceId: config.instanceId,
    leaseMs: config.EXECUTION_LEASE_MS,
    commitTimeoutMs: config.WEBHOOK_COMMIT_TIMEOUT_MS,
    commitConcurrency: config.WEBHOOK_COMMIT_CONCURRENCY,
    commitBatchMax: config.WEBHOOK_COMMIT_BATCH_MAX,
    backlog: (recorderId) => dispatcher.pendingSignals(recorderId),
    maxPendingSignals: config.RECORDER_MAX_PENDING_SIGNALS,
    dispatch: (jobs) => dispatcher.enqueue(jobs),
    counters,
    metrics,
    unknownTokens,
    ...(o.now ? { now: o.now } : {}),
  });
  // Issue 15, manual trades: committed as signals (source "manual") and dispatched like a webhook's.
  const manualTrades = new ManualTrades({
    sql,
    logger,
    directory,
    maxOrderContracts: config.MAX_ORDER_CONTRACTS,
    instanceId: config.instanceId,
    leaseMs: config.EXECUTION_LEASE_MS,
    dispatch: (jobs) => dispatcher.enqueue(jobs),
    ...(o.now ? { now: o.now } : {}),
  });
  // Issue 14, leader copying: a leader's own fills become signals for its recorder's followers.
  const leaders = new LeaderCopier({
    sql,
    logger,
    pool,
    directory,
    dispatch: (jobs) => dispatcher.enqueue(jobs),
    instanceId: config.instanceId,
    leaseMs: config.EXECUTION_LEASE_MS,
    ...(o.now ? { now: o.now } : {}),
  });
  pool.onEvent((accountId, event) => leaders.handle(accountId, event));
  const monitor = createLossMonitor({
    sql,
    logger,
    bus,
    pool,
    directory,
    fills,
    config,
    journal,
    kernel,
    owns: (accountId) => ownership.owns(accountId),
    ...o.lossMonitor,
  });
  entryGates.push(monitor.gate);
  // Issue 14, session flatten: traders of a recorder with flattenAtWindowEnd are flat when its hours close.
  const sessionFlatten = new SessionFlattener({
    sql,
    logger,
    directory,
    pool,
    now: o.lossMonitor?.now ?? o.now ?? (() => new Date()),
    flattenTrader: (traderId, seed, reason) => monitor.flattenTrader(traderId, seed, reason),
    owns: (accountId) => ownership.owns(accountId),
    bus,
    ...(o.lossMonitor?.retryDelaysMs ? { retryDelaysMs: o.lossMonitor.retryDelaysMs } : {}),
  });
  const services: Services = {
    lossMonitor: monitor,
    notifications,
    config,
    sql,
    logger,
    directory,
    pool,
    sealer,
    intake,
    manualTrades,
    dispatcher,
    paper,
    auth: new AdminAuth(sql, config.RELAY_ADMIN_TOKEN),
    counters,
    metrics,
    leaders,
    ownership,
    startedAt: new Date(),
    bus,
    ...(o.peerAddress ? { peerAddress: o.peerAddress } : {}),
  };
  const reconciler = new Reconciler({
    sql,
    logger,
    directory,
    pool,
    fills,
    journal,
    contracts,
    kernel,
    drift,
  });
  // A position gone flat at the broker (a trader closing by hand, or our own exit) gets a prompt look:
  // exits of ours left working on a flat position are cancelled within seconds, not at the next pass.
  pool.onEvent((accountId, event) => {
    if (event.type === "PositionChanged" && event.position.netPos === 0)
      reconciler.soon(accountId, event.position.brokerAccountId, event.position.contract);
  });
  const app = createApp(services);

  return {
    app,
    services,
    executor,
    fills,
    bus,
    reconciler,
    monitor,
    notifications,
    entryGates,
    leaders,
    sessionFlatten,
    ownership,
    async start() {
      // A wrong CREDENTIALS_KEY stops the start here, before any session or webhook.
      await checkCredentialsKey(sql, sealer);
      await directory.start();
      // Before any fill is booked or execution planned: listening, then every position loaded.
      await positions.start();
      await services.auth.reload();
      // Before the sessions start, so fills they replay on connecting are copied (duplicates are not).
      await leaders.start();
      // Before any fill is booked: an exit filled while the relay was away still has its partner cancelled.
      ocoGuard.start();
      // Before any session: which accounts are this relay's to log in to (and to flatten, if it comes to it).
      await ownership.start();
      // Another relay changed an account's login details or deleted it: the session held here follows.
      const reset = await sql.listen("relay_session_reset", (payload) => {
        const { relay: fromRelay, accountId } = parseRelayNotice(payload);
        if (fromRelay === config.instanceId || !pool.peek(accountId)) return;
        void directory
          .refresh()
          .then(() => pool.restart(accountId))
          .catch((error: unknown) =>
            logger.warn(
              { event: "SessionResetFailed", accountId, error: String(error) },
              "session not reset",
            ),
          );
      });
      stopListening.push(reset.unlisten);
      // Another relay needs an account held here for an admin action (a delete that flattens): hand it over.
      const handover = await sql.listen("relay_handover", (payload) => {
        const { relay: toRelay, accountId } = parseRelayNotice(payload);
        if (toRelay !== config.instanceId && ownership.owns(accountId)) void ownership.handOver(accountId);
      });
      stopListening.push(handover.unlisten);
      // Before the sessions start, so their first snapshot's positions and cash reach the monitor.
      await monitor.start();
      const warm = pool.warmInUse();
      leaders.warm();
      await Promise.race([warm, new Promise((r) => setTimeout(r, o.warmTimeoutMs ?? 15_000).unref())]);
      await stopManager.start();
      await dispatcher.recover(true);
      await dispatcher.start();
      // Before webhooks flow: positions missing their exits get them, drift is reported.
      await Promise.race([
        reconciler.runOnce(),
        new Promise((r) => setTimeout(r, o.warmTimeoutMs ?? 15_000).unref()),
      ]);
      reconciler.start();
      await sessionFlatten.start();
      await notifications.start();
      webhookLogRetention.start();
    },
    async stop(drainMs = 15_000, opts = {}) {
      ownership.drain();
      for (const unlisten of stopListening.splice(0)) await unlisten().catch(() => undefined);
      await reconciler.stop();
      const drained = await dispatcher.drain(drainMs);
      if (!drained)
        logger.warn(
          { event: "DrainTimedOut" },
          "executions still running at shutdown; their leases will resume them",
        );
      await intake.flush(5_000);
      unknownTokens.close();
      await webhookLogRetention.stop();
      await sessionFlatten.stop();
      await monitor.stop();
      await stopManager.stop();
      await leaders.stop();
      await ocoGuard.stop();
      await pool.stopAll();
      // After the sessions are closed: another relay may log in to them now.
      await ownership
        .stop(opts.abandon)
        .catch((error: unknown) =>
          logger.warn({ event: "OwnershipNotReleased", error: String(error) }, "leases left to lapse"),
        );
      await fills.drain();
      // After the drain: executions that finished while stopping are still announced (from the outbox).
      await notifications.stop();
      await positions.stop();
      await directory.stop();
    },
  };
}
