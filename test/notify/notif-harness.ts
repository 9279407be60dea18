/**
 * A relay on a test database with notifications attached to its bus and Directory, pointed at the
 * Discord fake. Tuned short (batch window, back-off, timeouts) so tests wait little; never sleeps.
 */
import type { BrokerFactory, BrokerSession } from "../../src/brokers/port";
import type { Config } from "../../src/config";
import type { Sql } from "../../src/db/client";
import { createNotifications, type Notifications, type NotificationTuning } from "../../src/notify";
import type { DiscordSim } from "../../src/sim/discord";
import type { TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";

export const BOT_TOKEN = "fake-discord-bot-token-0123456789";
export const DEFAULT_CHANNEL = "100000000000000001";

export const FAST: Partial<NotificationTuning> = {
  batchWindowMs: 300,
  failureHoldMs: 20_000,
  pollMs: 50,
  requestTimeoutMs: 1_000,
  retryBaseMs: 100,
  retryMaxMs: 400,
  maxAttempts: 1_000,
  maxRateLimitWaitMs: 5_000,
};

/**
 * The relay's configuration plus Discord settings pointing at the fake. The relay itself is started
 * without them, so a notifications module the runtime wires in stays off and only the one attached by
 * the test sends.
 */
export function discordConfig(t: TestRelay, sim: DiscordSim, o: { defaultChannel?: boolean } = {}): Config {
  return {
    ...t.relay.services.config,
    DISCORD_BOT_TOKEN: BOT_TOKEN,
    DISCORD_API_URL: sim.apiUrl,
    DISCORD_DEFAULT_CHANNEL_ID: o.defaultChannel === false ? undefined : DEFAULT_CHANNEL,
  };
}

export function attach(
  t: TestRelay,
  sim: DiscordSim,
  o: { tuning?: Partial<NotificationTuning>; defaultChannel?: boolean; sql?: Sql } = {},
): Notifications {
  return createNotifications({
    sql: o.sql ?? t.sql,
    logger: t.relay.services.logger,
    bus: t.relay.bus,
    directory: t.relay.services.directory,
    config: discordConfig(t, sim, o),
    tuning: o.tuning ?? FAST,
  });
}

/** Waits until nothing is waiting, pending or being sent. */
export async function drained(n: Notifications, what = "the outbox to drain"): Promise<void> {
  await waitFor(async () => {
    const c = await n.counts();
    return c.waitingItems === 0 && c.pending === 0 && c.sending === 0;
  }, what);
}

/** Log lines (parsed) with this `event` name. */
export function logged(t: TestRelay, event: string): Record<string, unknown>[] {
  return t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === event);
}

/** Creates a recorder with Discord settings through the API. */
export async function discordRecorder(
  t: TestRelay,
  name: string,
  settings: { discordChannelId?: string; discordUserIds?: string[] },
): Promise<string> {
  const res = await t.api<{ id: string }>("POST", "/api/recorders", { name, ...settings });
  if (res.status !== 201) throw new Error(`recorder: ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Wraps a broker factory so that the sessions of the named accounts have every order rejected. */
export function rejecting(inner: BrokerFactory, accountNames: Set<string>, reason: string): BrokerFactory {
  return {
    kinds: inner.kinds,
    validateCredentials: (c) => inner.validateCredentials(c),
    create(context) {
      const session = inner.create(context);
      if (!accountNames.has(context.name)) return session;
      return new Proxy(session, {
        get(target, prop) {
          if (prop === "placeOrder") {
            return async () => ({
              kind: "rejected",
              reason,
              raw: { failureReason: "RiskCheck", failureText: reason },
            });
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as BrokerSession;
    },
  };
}

/** Waits until every execution of the signal has finished; returns their rows. */
export async function executionsDone(
  t: TestRelay,
  signalId: string,
  n: number,
): Promise<{ status: string; decision: string | null; error: string | null }[]> {
  return waitFor(
    async () => {
      const rows = await t.sql`select status, decision, error from executions where signal_id = ${signalId}`;
      return rows.length === n && rows.every((r) => !["pending", "running"].includes(r.status as string))
        ? (rows as unknown as { status: string; decision: string | null; error: string | null }[])
        : undefined;
    },
    "every execution to finish",
    45_000,
  );
}
