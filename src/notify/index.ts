/**
 * Notifications: relay events -> Discord, through a Postgres outbox, never in the way of trading.
 *
 * The bus listener only routes the event (in memory, from the Directory) and stores it, coalescing
 * whatever arrives in the same moment into one insert; if even that fails it logs and moves on. The
 * sender delivers on its own loop. Without DISCORD_BOT_TOKEN everything here is off (logged once).
 *
 * @example
 *   const notifications = createNotifications({ sql, logger, bus: relay.bus, directory, config });
 *   await relay.start();
 *   await notifications.start();
 *   // ... on shutdown:
 *   await notifications.stop();
 *   await relay.stop();
 */
import type { Config } from "../config";
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import type { EventBus, RelayEvent } from "../events";
import type { Logger } from "../log";
import { encodePayload } from "./codec";
import { DiscordNotifier } from "./discord";
import { Scrubber } from "./format";
import { insertItems, type NewItem, type OutboxCounts, outboxCounts } from "./outbox";
import type { Notifier } from "./port";
import { Sender, type SenderTuning } from "./sender";
import { route } from "./targets";

export interface NotificationTuning extends SenderTuning {
  /** Per Discord request (default 10 s). */
  requestTimeoutMs: number;
  /** Longest rate-limit wait sat out in discord.js; longer ones are rescheduled in the outbox (15 s). */
  maxRateLimitWaitMs: number;
}

export interface NotificationsOptions {
  sql: Sql;
  logger: Logger;
  bus: EventBus;
  directory: Directory;
  config: Config;
  now?: () => Date;
  tuning?: Partial<NotificationTuning>;
  /** Another implementation of the port (defaults to Discord through discord.js). */
  notifier?: Notifier;
}

export interface Notifications {
  readonly enabled: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What the bus listener does: route and store; resolves once stored (or the failure logged). */
  enqueue(event: RelayEvent): Promise<void>;
  /** Runs a sender pass now. */
  kick(): void;
  counts(): Promise<OutboxCounts>;
}

const MAX_BUFFERED = 50_000;
const INSERT_CHUNK = 5_000;

export function createNotifications(o: NotificationsOptions): Notifications {
  const { sql, logger, config } = o;
  const token = config.DISCORD_BOT_TOKEN;
  if (!token) return disabled(logger);

  const now = o.now ?? (() => new Date());
  const requestTimeoutMs = o.tuning?.requestTimeoutMs ?? 10_000;
  const maxRateLimitWaitMs = o.tuning?.maxRateLimitWaitMs ?? 15_000;
  const scrubber = new Scrubber([token, config.RELAY_ADMIN_TOKEN, config.CREDENTIALS_KEY]);
  const notifier =
    o.notifier ??
    new DiscordNotifier({
      token,
      apiUrl: config.DISCORD_API_URL,
      logger,
      scrubber,
      requestTimeoutMs,
      maxRateLimitWaitMs,
    });
  const sender = new Sender({
    sql,
    logger,
    notifier,
    scrubber,
    instanceId: config.instanceId,
    batchWindowMs: o.tuning?.batchWindowMs ?? 2_000,
    failureHoldMs: o.tuning?.failureHoldMs ?? 15_000,
    pollMs: o.tuning?.pollMs ?? 1_000,
    maxInFlight: o.tuning?.maxInFlight ?? 4,
    maxAttempts: o.tuning?.maxAttempts ?? 12,
    retryBaseMs: o.tuning?.retryBaseMs ?? 2_000,
    retryMaxMs: o.tuning?.retryMaxMs ?? 300_000,
    leaseMs: o.tuning?.leaseMs ?? 2 * requestTimeoutMs + 2 * maxRateLimitWaitMs + 10_000,
    keepDays: o.tuning?.keepDays ?? 14,
  });
  const batchWindowMs = o.tuning?.batchWindowMs ?? 2_000;

  // Items routed but not yet stored; written by one insert at a time, so a burst of events costs a few
  // statements on the shared pool, never one connection per event.
  let buffer: NewItem[] = [];
  let writing: Promise<void> | undefined;
  let dropped = 0;

  const write = async (): Promise<void> => {
    while (buffer.length > 0) {
      const chunk = buffer.slice(0, INSERT_CHUNK);
      buffer = buffer.slice(INSERT_CHUNK);
      try {
        await insertItems(sql, chunk);
        if (chunk.some((i) => i.urgent)) sender.kick();
        else sender.kickAfter(batchWindowMs);
      } catch (error) {
        logger.error(
          { event: "NotificationEnqueueFailed", items: chunk.length, error: scrubber.clean(String(error)) },
          "could not store notifications; they are dropped, trading is not affected",
        );
      }
    }
  };

  const enqueue = async (event: RelayEvent): Promise<void> => {
    try {
      const routed = route(event, o.directory, config.DISCORD_DEFAULT_CHANNEL_ID);
      if (routed.length === 0) return;
      if (buffer.length + routed.length > MAX_BUFFERED) {
        if (dropped++ % 1000 === 0) {
          logger.error(
            { event: "NotificationEnqueueFailed", relayEvent: event.type, dropped },
            "notification buffer full; dropped",
          );
        }
        return;
      }
      const signalId =
        event.type === "SignalExecuted" || event.type === "ExecutionFailed" ? event.signalId : undefined;
      for (const r of routed) {
        buffer.push({
          target: r.target,
          urgent: r.urgent,
          eventType: event.type,
          ...(signalId ? { signalId } : {}),
          payload: encodePayload(r.payload),
        });
      }
      logger.debug(
        {
          event: "NotificationQueued",
          relayEvent: event.type,
          targets: routed.length,
          lagMs: now().getTime() - event.at.getTime(),
        },
        "notification queued",
      );
      writing ??= write().finally(() => {
        writing = undefined;
      });
      await writing;
      // A write that started before this event's items were buffered may have finished without them.
      if (buffer.length > 0) {
        writing ??= write().finally(() => {
          writing = undefined;
        });
        await writing;
      }
    } catch (error) {
      logger.error(
        { event: "NotificationEnqueueFailed", relayEvent: event.type, error: scrubber.clean(String(error)) },
        "could not queue a notification; trading is not affected",
      );
    }
  };

  // Listening from construction, so events emitted while the relay starts (resumed executions, sessions
  // dropping) are stored even before the sender runs.
  let unsubscribe: (() => void) | undefined = o.bus.on((event) => {
    void enqueue(event);
  });

  return {
    enabled: true,
    async start() {
      unsubscribe ??= o.bus.on((event) => {
        void enqueue(event);
      });
      sender.start();
      logger.info(
        {
          event: "NotificationsStarted",
          api: new URL(config.DISCORD_API_URL).host,
          defaultChannel: config.DISCORD_DEFAULT_CHANNEL_ID ?? null,
        },
        "Discord notifications on",
      );
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      await writing;
      await sender.stop();
      notifier.close();
    },
    enqueue,
    kick: () => sender.kick(),
    counts: () => outboxCounts(sql),
  };
}

function disabled(logger: Logger): Notifications {
  let logged = false;
  return {
    enabled: false,
    async start() {
      if (logged) return;
      logged = true;
      logger.info(
        { event: "NotificationsDisabled" },
        "Discord notifications are off: DISCORD_BOT_TOKEN is not set",
      );
    },
    stop: async () => undefined,
    enqueue: async () => undefined,
    kick: () => undefined,
    counts: async () => ({ waitingItems: 0, pending: 0, sending: 0, sent: 0, failed: 0 }),
  };
}
