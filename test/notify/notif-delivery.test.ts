/**
 * Notifications delivered through discord.js to the Discord fake: every event type to the recorder's
 * channel, its users' DMs and the default channel; 429s honoured (short waits inside discord.js, long
 * ones through the outbox, global ones, buckets read from headers); refusals and bounded retries; a
 * timeout never doubles a message; and no secret ever in a message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RelayEvent } from "../../src/events";
import { createNotifications, type Notifications } from "../../src/notify";
import { DiscordSim } from "../../src/sim/discord";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";
import { AT, events, executionFailed, outcome, SIGNAL_ID, signalExecuted } from "./notif-fixtures";
import { attach, BOT_TOKEN, DEFAULT_CHANNEL, discordRecorder, drained, FAST, logged } from "./notif-harness";

let db: TestDatabase;
let sim: DiscordSim;
let t: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new DiscordSim({ token: BOT_TOKEN });
  await sim.start();
  t = await startTestRelay({ url: db.url });
});
afterAll(async () => {
  await t.stop();
  await sim.stop();
  await db.drop();
});

async function withNotifications<T>(fn: (n: Notifications) => Promise<T>, n = attach(t, sim)): Promise<T> {
  await n.start();
  try {
    return await fn(n);
  } finally {
    await n.stop();
  }
}

const unprotected = (recorderId: string, n = 2): RelayEvent => ({
  type: "PositionUnprotected",
  at: AT,
  signalId: SIGNAL_ID,
  recorderId,
  traderId: "00000000-0000-4000-8000-000000000001",
  accountId: "00000000-0000-4000-8000-000000000002",
  accountName: "Apex 5",
  contract: "MNQH6",
  netQty: n,
  reason: "position unprotected: sl1 rejected: Order price is outside the price limits",
});

const messageRow = async (channel: string) =>
  (
    await db.sql`select status, attempts, last_error, discord_message_id from notification_messages where target_id = ${channel}`
  )[0];

describe("delivery", () => {
  it("N01 every event type reaches the recorder's channel, its users' DMs and the default channel", async () => {
    const channel = "200000000000000001";
    const user = "300000000000000001";
    const { recorderId, accountIds } = await paperSetup(t, {
      multipliers: [1],
      settings: { discordChannelId: channel, discordUserIds: [user] },
      recorderName: "NQ Scalper",
    });
    const all = events(recorderId, accountIds[0]);
    await withNotifications(async (n) => {
      for (const e of Object.values(all)) t.relay.bus.emit(e);
      await waitFor(
        async () => (await n.counts()).sent >= 18 && (await n.counts()).pending === 0,
        "messages sent",
      );
      await drained(n);
    });
    const inChannel = sim.messagesIn(channel);
    const texts = inChannel.map((m) => `${m.content}\n${JSON.stringify(m.embeds)}`).join("\n");
    for (const needle of [
      "MNQ1! BUY: 2 filled, 1 failed, 1 ignored",
      "entry rejected by the broker: Insufficient buying power",
      "UNPROTECTED POSITION",
      "Daily loss limit hit",
      "Flat after loss limit",
      "Connection lost",
      "Connection restored",
      "broker long 3, relay long 2",
      "Daily summary 2026-03-02",
      "Kill switch: flatten everything",
      "Waiting for the broker",
      "Not flat at the close",
    ]) {
      expect(texts, needle).toContain(needle);
    }
    // Seven urgent events alone, the four others (the failure folded into its summary) in one message.
    const urgent = inChannel.filter((m) => m.embeds.length === 1 && m.content.split("\n").length === 1);
    expect(urgent.map((m) => m.embeds[0]?.title?.split(" ·")[0]).sort()).toEqual(
      [
        "⏳ Waiting for the broker",
        "⛔ Kill switch: flatten everything",
        "🔌 Connection lost",
        "🚨 UNPROTECTED POSITION",
        "🛑 Daily loss limit hit",
        "🛑 Flattened after loss limit",
        "🚨 Not flat at the close",
      ].sort(),
    );
    expect(inChannel).toHaveLength(8);
    const batch = inChannel.find((m) => m.embeds.length > 1);
    expect(batch?.embeds.map((e) => e.title?.split(" ·")[0])).toEqual([
      "⚠️ MNQ1! BUY",
      "🔌 Connection restored",
      "⚖️ Broker and relay disagree",
      "📊 Daily summary",
    ]);
    // The recorder's user gets the same as DMs.
    expect(
      sim
        .dmsTo(user)
        .map((m) => m.content)
        .sort(),
    ).toEqual(inChannel.map((m) => m.content).sort());
    // The default channel: urgent events and the relay-wide ones (sessions, daily summary, kill switch).
    const def = sim.messagesIn(DEFAULT_CHANNEL).flatMap((m) => m.embeds.map((e) => e.title?.split(" ·")[0]));
    expect(def.sort()).toEqual(
      [
        "⏳ Waiting for the broker",
        "⛔ Kill switch: flatten everything",
        "🔌 Connection lost",
        "🚨 UNPROTECTED POSITION",
        "🛑 Daily loss limit hit",
        "🛑 Flattened after loss limit",
        "🔌 Connection restored",
        "📊 Daily summary",
        "🚨 Not flat at the close",
      ].sort(),
    );
    // Never a secret: not the bot token, not the webhook token, not the admin token.
    const everything = JSON.stringify(sim.messages());
    expect(everything).not.toContain(BOT_TOKEN);
    expect(t.logs.join("\n")).not.toContain(BOT_TOKEN);
    for (const r of sim.requests()) expect(JSON.stringify(r.body ?? "")).not.toContain(BOT_TOKEN);
  });

  it("N02 a 429 with retry_after is honoured: delivered once after the wait, the route not hammered", async () => {
    const channel = "200000000000000002";
    const recorderId = await discordRecorder(t, "rl short", { discordChannelId: channel });
    const path = `/api/v10/channels/${channel}/messages`;
    await withNotifications(async (n) => {
      sim.rateLimitNext(1, { retryAfterMs: 1000, channelId: channel });
      t.relay.bus.emit(unprotected(recorderId));
      await waitFor(() => sim.messagesIn(channel).length === 1, "the message after the rate limit");
      await drained(n);
    });
    const tries = sim.requests({ path });
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    // discord.js waited out retry_after before the one retry (the fake's clock, a lower bound).
    expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(await messageRow(channel)).toMatchObject({ status: "sent", attempts: 1 });
    expect(logged(t, "DiscordRateLimited").length).toBeGreaterThan(0);
  });

  it("N03 a rate limit longer than the sender waits goes back to the outbox and is sent after it", async () => {
    const channel = "200000000000000003";
    const recorderId = await discordRecorder(t, "rl long", { discordChannelId: channel });
    const path = `/api/v10/channels/${channel}/messages`;
    await withNotifications(
      async (n) => {
        sim.rateLimitNext(1, { retryAfterMs: 1500, channelId: channel });
        t.relay.bus.emit(unprotected(recorderId));
        await waitFor(
          async () => (await messageRow(channel))?.last_error?.includes("rate limited"),
          "deferred",
        );
        expect(sim.messagesIn(channel)).toHaveLength(0);
        await waitFor(() => sim.messagesIn(channel).length === 1, "the message after the wait");
        await drained(n);
      },
      attach(t, sim, { tuning: { ...FAST, maxRateLimitWaitMs: 200 } }),
    );
    const tries = sim.requests({ path });
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(1500);
    // A rate limit is no fault of the message: it did not use up an attempt.
    expect(await messageRow(channel)).toMatchObject({ status: "sent", attempts: 1, last_error: null });
    expect(logged(t, "NotificationDeferred").length).toBeGreaterThan(0);
  });

  it("N04 a global 429 holds every request until it passes", async () => {
    const a = "200000000000000004";
    const b = "200000000000000005";
    const ra = await discordRecorder(t, "global a", { discordChannelId: a });
    const rb = await discordRecorder(t, "global b", { discordChannelId: b });
    await withNotifications(async (n) => {
      sim.rateLimitNext(1, { retryAfterMs: 1000, global: true });
      t.relay.bus.emit(unprotected(ra));
      t.relay.bus.emit(unprotected(rb));
      await waitFor(() => sim.messagesIn(a).length === 1 && sim.messagesIn(b).length === 1, "both messages");
      await drained(n);
    });
    // A request already on the wire when the limit hit may be refused too; after that, discord.js holds
    // every request until the global window has passed: one 429 per channel at most, then one success.
    for (const ch of [a, b]) {
      const statuses = sim.requests({ path: `/api/v10/channels/${ch}/messages` }).map((r) => r.status);
      expect(statuses.filter((x) => x === 429).length).toBeLessThanOrEqual(1);
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.filter((x) => x === 200)).toHaveLength(1);
    }
    const all = sim.requests().filter((r) => r.path.includes(a) || r.path.includes(b));
    const firstLimit = all.find((r) => r.status === 429);
    for (const r of all.filter((x) => x.status === 200)) {
      expect(r.at - (firstLimit?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it("N05 a channel bucket running dry is read from X-RateLimit headers: waited for, never a 429", async () => {
    const tight = new DiscordSim({ token: BOT_TOKEN, rateLimit: { limit: 2, windowMs: 700 } });
    await tight.start();
    const channel = "200000000000000006";
    const recorderId = await discordRecorder(t, "bucket", { discordChannelId: channel });
    try {
      const n = attach(t, tight);
      await withNotifications(async (nn) => {
        for (let i = 1; i <= 5; i++) t.relay.bus.emit(unprotected(recorderId, i));
        await waitFor(() => tight.messagesIn(channel).length === 5, "five urgent messages");
        await drained(nn);
      }, n);
      expect(tight.requests().map((r) => r.status)).not.toContain(429);
      // Urgent messages of one target go in order, one at a time.
      expect(tight.messagesIn(channel).map((m) => m.embeds[0]?.fields?.[1]?.value)).toEqual(
        [1, 2, 3, 4, 5].map((i) => `long ${i} MNQH6`),
      );
    } finally {
      await tight.stop();
    }
  });

  it("N06 a target that refuses for good is not retried: unknown channel, closed DMs", async () => {
    const channel = "200000000000000007";
    const user = "300000000000000007";
    sim.addUnknownChannel(channel);
    sim.closeDms(user);
    const recorderId = await discordRecorder(t, "refused", {
      discordChannelId: channel,
      discordUserIds: [user],
    });
    await withNotifications(async (n) => {
      t.relay.bus.emit(unprotected(recorderId));
      await waitFor(async () => (await n.counts()).failed >= 2, "both refused");
      await drained(n);
    });
    expect(sim.requests({ path: `/api/v10/channels/${channel}/messages` }).map((r) => r.status)).toEqual([
      404,
    ]);
    expect(await messageRow(channel)).toMatchObject({ status: "failed", attempts: 1 });
    expect((await messageRow(channel))?.last_error).toContain("Unknown Channel");
    const [dm] = await db.sql`select status, last_error from notification_messages where target_id = ${user}`;
    expect(dm).toMatchObject({ status: "failed" });
    expect(dm?.last_error).toContain("50007");
    expect(logged(t, "NotificationRejected").length).toBeGreaterThanOrEqual(2);
  });

  it("N07 retries back off and give up after the bound, logged", async () => {
    const channel = "200000000000000008";
    const recorderId = await discordRecorder(t, "bounded", { discordChannelId: channel });
    sim.failNext(3, 502, { message: "Bad Gateway", code: 0 }, channel);
    await withNotifications(
      async (n) => {
        t.relay.bus.emit(unprotected(recorderId));
        await waitFor(async () => (await messageRow(channel))?.status === "failed", "abandoned");
        await drained(n);
      },
      attach(t, sim, { tuning: { ...FAST, maxAttempts: 3 } }),
    );
    expect(sim.requests({ path: `/api/v10/channels/${channel}/messages` }).map((r) => r.status)).toEqual([
      502, 502, 502,
    ]);
    expect(await messageRow(channel)).toMatchObject({ status: "failed", attempts: 3 });
    expect((await messageRow(channel))?.last_error).toMatch(/^gave up after 3 attempts: 502/);
    expect(logged(t, "NotificationAbandoned").some((l) => l.targetId === channel)).toBe(true);
    expect(logged(t, "NotificationRetrying").filter((l) => l.targetId === channel)).toHaveLength(2);
  });

  it("N08 a reply that comes after the timeout does not double the message (nonce)", async () => {
    const channel = "200000000000000009";
    const recorderId = await discordRecorder(t, "slow", { discordChannelId: channel });
    await withNotifications(async (n) => {
      sim.delayReplies(1_500, { count: 1, channelId: channel });
      t.relay.bus.emit(unprotected(recorderId));
      await waitFor(async () => (await messageRow(channel))?.status === "sent", "sent after the timeout");
      await drained(n);
    });
    expect(sim.requests({ path: `/api/v10/channels/${channel}/messages` }).length).toBeGreaterThanOrEqual(2);
    expect(sim.messagesIn(channel)).toHaveLength(1);
    expect(await messageRow(channel)).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("N09 without DISCORD_BOT_TOKEN notifications are off, said once at start", async () => {
    const before = (await db.sql`select count(*)::int as n from notification_items`)[0]?.n;
    // The relay's own (disabled) instance said so once at its start; count only what this one says.
    const said = logged(t, "NotificationsDisabled").length;
    const config = { ...t.relay.services.config, DISCORD_BOT_TOKEN: undefined };
    const n = createNotifications({
      sql: t.sql,
      logger: t.relay.services.logger,
      bus: t.relay.bus,
      directory: t.relay.services.directory,
      config,
    });
    expect(n.enabled).toBe(false);
    await n.start();
    await n.start();
    t.relay.bus.emit(events().KillSwitchUsed);
    await n.enqueue(events().KillSwitchUsed);
    await n.stop();
    expect(logged(t, "NotificationsDisabled")).toHaveLength(said + 1);
    expect((await db.sql`select count(*)::int as n from notification_items`)[0]?.n).toBe(before);
  });

  it("N10 a failure reported after its signal's summary went out is folded into it, not sent again", async () => {
    const channel = "200000000000000010";
    const recorderId = await discordRecorder(t, "late failure", { discordChannelId: channel });
    const signalId = "11111111-2222-4333-8444-555555555555";
    await withNotifications(async (n) => {
      t.relay.bus.emit(
        signalExecuted(
          [
            outcome(1),
            outcome(3, {
              status: "failed",
              error: "entry rejected by the broker: Insufficient buying power",
            }),
          ],
          {
            recorderId,
            signalId,
          },
        ),
      );
      await waitFor(() => sim.messagesIn(channel).length === 1, "the summary");
      t.relay.bus.emit(executionFailed(3, { recorderId, signalId }));
      await waitFor(async () => {
        const rows = await db.sql`select message_id from notification_items where target_id = ${channel}`;
        return rows.length === 2 && rows.every((r) => r.message_id !== null) ? rows : undefined;
      }, "the late failure folded");
      await drained(n);
    });
    expect(sim.messagesIn(channel)).toHaveLength(1);
    const rows =
      await db.sql`select distinct message_id from notification_items where target_id = ${channel}`;
    expect(rows).toHaveLength(1);
  });
});
