/**
 * Notifications beside a real relay fanning out to paper traders: a 100-trader fan-out is one summary
 * message; Discord hanging never delays an order (the fan-out completes while messages wait in the
 * outbox) and they are delivered when it is back, also after a relay restart; urgent events are never
 * held behind a batch; a failing outbox insert never touches trading.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperFactory } from "../../src/brokers/paper/index";
import { connect } from "../../src/db/client";
import type { RelayEvent } from "../../src/events";
import { DiscordSim } from "../../src/sim/discord";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { paperSetup, startTestRelay, type TestRelay } from "../support/relay";
import { waitFor } from "../support/wait";
import { attach, BOT_TOKEN, drained, executionsDone, FAST, logged, rejecting } from "./notif-harness";

let db: TestDatabase;
let sim: DiscordSim;
const REJECTED = new Set(["Paper 8", "Paper 50"]);
const factories = (paper: ConstructorParameters<typeof PaperFactory>[0]) => [
  rejecting(new PaperFactory(paper), REJECTED, "Insufficient buying power: margin 2,400.00 required"),
];

beforeAll(async () => {
  db = await createTestDatabase();
  sim = new DiscordSim({ token: BOT_TOKEN });
  await sim.start();
});
afterAll(async () => {
  await sim.stop();
  await db.drop();
});

const buy = (price = "21000.25") => JSON.stringify({ ticker: "MNQ1!", action: "buy", price });

describe("notifications beside a paper fan-out", () => {
  it("F01 a 100-trader fan-out is one readable summary: filled, failed in the broker's words, ignored", async () => {
    const t = await startTestRelay({ url: db.url, factories });
    const n = attach(t, sim, { defaultChannel: false });
    await n.start();
    try {
      const channel = "400000000000000001";
      // Every 20th trader's multiplier sizes the entry to 0 contracts: ignored with the reason.
      const multipliers = Array.from({ length: 100 }, (_, i) => (i % 20 === 4 ? "0.1" : 1));
      const { token } = await paperSetup(t, {
        multipliers,
        settings: { quantity: 1, stopLossTicks: 10, discordChannelId: channel },
        recorderName: "NQ Scalper",
      });
      const res = await t.webhook(token, buy());
      expect(res.status).toBe(202);
      const rows = await executionsDone(t, res.body.signalId as string, 100);
      expect(rows.filter((r) => r.status === "failed")).toHaveLength(2);
      expect(rows.filter((r) => r.status === "ignored")).toHaveLength(5);

      await waitFor(() => sim.messagesIn(channel).length > 0, "the summary");
      // The two failures are also reported as ExecutionFailed events, possibly after the summary.
      await waitFor(async () => {
        const rows = await db.sql`select message_id from notification_items where target_id = ${channel}`;
        return rows.length === 3 && rows.every((r) => r.message_id !== null);
      }, "the summary and both failures packed");
      await drained(n);
      const messages = sim.messagesIn(channel);
      expect(messages).toHaveLength(1);
      const [m] = messages;
      expect(m?.content).toMatch(
        /^⚠️ \*\*NQ Scalper\*\* MNQ1! BUY: 93 filled, 2 failed, 5 ignored · p50 [\d.]+ m?s$/,
      );
      expect(m?.embeds).toHaveLength(1);
      const fields = Object.fromEntries((m?.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
      expect(fields["❌ Failed (2)"]).toBe(
        "• Paper 8, Paper 50: entry rejected by the broker: Insufficient buying power: margin 2,400.00 required",
      );
      expect(fields["✅ Filled (93)"]).toMatch(
        /^• \*\*MNQ[A-Z]\d @ 21000\.25\*\* · 93 traders: Paper 1 ×1, Paper 2 ×1, /,
      );
      expect(fields["⏸️ Ignored (5)"]).toMatch(
        /^• Paper 5, Paper 25, Paper 45, Paper 65, Paper 85: size rounds to 0 contracts after the multiplier$/,
      );
      expect(m?.embeds[0]?.description).toMatch(/latency p50 \S+ m?s · max \S+ m?s/);
      // The failures were folded into the summary, not sent apart.
      const items =
        await db.sql`select event_type, message_id from notification_items where target_id = ${channel}`;
      expect(items.map((i) => i.event_type).sort()).toEqual([
        "ExecutionFailed",
        "ExecutionFailed",
        "SignalExecuted",
      ]);
      expect(new Set(items.map((i) => i.message_id)).size).toBe(1);
    } finally {
      await n.stop();
      await t.stop();
    }
  }, 60_000);

  it("F02 Discord hanging does not delay an order; the summary waits in the outbox, sent when it is back and after a restart", async () => {
    const channel = "400000000000000002";
    const a = await startTestRelay({ url: db.url });
    const na = attach(a, sim, { defaultChannel: false });
    await na.start();
    const { token, traderIds } = await paperSetup(a, {
      multipliers: Array.from({ length: 10 }, () => 1),
      settings: { quantity: 1, discordChannelId: channel },
      recorderName: "hang test",
    });
    await sim.down("hang");
    let restarted: TestRelay | undefined;
    try {
      // First signal: the fan-out completes while every Discord request hangs.
      const first = await a.webhook(token, buy());
      const rows = await executionsDone(a, first.body.signalId as string, 10);
      expect(rows.every((r) => r.status === "done" && r.decision === "opened")).toBe(true);
      for (const id of traderIds) {
        const p = await a.api<{ positions: { netQty: number }[] }>("GET", `/api/traders/${id}`);
        expect(p.body.positions[0]?.netQty).toBe(1);
      }
      await waitFor(
        () => sim.requests({ path: `/api/v10/channels/${channel}/messages` }).some((r) => r.hung),
        "a hung request",
      );
      expect(sim.messagesIn(channel)).toHaveLength(0);
      // A second signal while Discord still hangs: trading goes on.
      const second = await a.webhook(
        token,
        JSON.stringify({ ticker: "MNQ1!", action: "exit", price: "21001" }),
      );
      const closed = await executionsDone(a, second.body.signalId as string, 10);
      expect(closed.every((r) => r.decision === "closed")).toBe(true);
      await waitFor(async () => {
        const rows = await db.sql`select message_id from notification_items where target_id = ${channel}`;
        return rows.length === 2 && rows.every((r) => r.message_id !== null);
      }, "both summaries stored and packed");

      // The relay restarts while Discord is still down: nothing is lost, the new relay delivers.
      await na.stop();
      await a.stop();
      const [c] =
        await db.sql`select count(*)::int as n from notification_messages where target_id = ${channel} and status in ('pending', 'sending')`;
      // Both summaries are stored: one message or two, depending on whether they met in the batch window.
      expect(c?.n).toBeGreaterThanOrEqual(1);
      const stored = await db.sql`select event_type from notification_items where target_id = ${channel}`;
      expect(stored.map((r) => r.event_type)).toEqual(["SignalExecuted", "SignalExecuted"]);
      expect(sim.messagesIn(channel)).toHaveLength(0);
      restarted = await startTestRelay({ url: db.url });
      const nb = attach(restarted, sim, { defaultChannel: false });
      await nb.start();
      try {
        await sim.up();
        await waitFor(() => sim.messagesIn(channel).length >= 1, "delivery after the restart");
        await drained(nb);
      } finally {
        await nb.stop();
      }
      const delivered = sim.messagesIn(channel).flatMap((m) => m.embeds.map((e) => e.title));
      expect(delivered).toEqual(["✅ MNQ1! BUY · hang test", "✅ MNQ1! EXIT · hang test"]);
      // Exactly once each, though a request was in flight when the first relay stopped.
      expect(new Set(sim.messagesIn(channel).map((m) => m.nonce)).size).toBe(sim.messagesIn(channel).length);
    } finally {
      await sim.up();
      await restarted?.stop();
    }
  }, 60_000);

  it("F03 an urgent event is sent at once in its own message while the batch waits its window", async () => {
    const channel = "400000000000000003";
    const t = await startTestRelay({ url: db.url });
    const n = attach(t, sim, { tuning: { ...FAST, batchWindowMs: 60_000 }, defaultChannel: false });
    await n.start();
    try {
      const { token, accountIds } = await paperSetup(t, {
        multipliers: [1, 1, 1],
        settings: { quantity: 1, discordChannelId: channel },
        recorderName: "urgent test",
      });
      const res = await t.webhook(token, buy());
      await executionsDone(t, res.body.signalId as string, 3);
      await waitFor(async () => {
        const [row] =
          await db.sql`select 1 from notification_items where target_id = ${channel} and event_type = 'SignalExecuted'`;
        return row !== undefined;
      }, "the summary stored");
      const lost: RelayEvent = {
        type: "SessionLost",
        at: new Date(),
        accountId: accountIds[0] ?? "",
        accountName: "Paper 1",
        broker: "paper",
        reason: "socket closed (1006)",
      };
      t.relay.bus.emit(lost);
      await waitFor(() => sim.messagesIn(channel).length === 1, "the urgent message");
      const [m] = sim.messagesIn(channel);
      expect(m?.embeds.map((e) => e.title)).toEqual(["🔌 Connection lost · Paper 1"]);
      // The summary is still waiting for company: it was not sent, and did not hold the urgent one.
      const [waiting] =
        await db.sql`select message_id from notification_items where target_id = ${channel} and event_type = 'SignalExecuted'`;
      expect(waiting?.message_id).toBeNull();
    } finally {
      await n.stop();
      await t.stop();
    }
  }, 60_000);

  it("F04 urgent messages go ahead of non-urgent ones already queued for the same channel", async () => {
    const channel = "400000000000000004";
    const t = await startTestRelay({ url: db.url });
    const n = attach(t, sim, { tuning: { ...FAST, batchWindowMs: 0 }, defaultChannel: false });
    try {
      const { recorderId, accountIds } = await paperSetup(t, {
        multipliers: [1],
        settings: { quantity: 1, discordChannelId: channel },
        recorderName: "order test",
      });
      const at = new Date();
      const restored = (i: number): RelayEvent => ({
        type: "SessionRestored",
        at,
        accountId: accountIds[0] ?? "",
        accountName: "Paper 1",
        broker: "paper",
        downMs: 1000 * i,
      });
      // Queued before the sender runs: 12 non-urgent (two batch messages), then one urgent.
      for (let i = 1; i <= 12; i++) await n.enqueue(restored(i));
      await n.enqueue({
        type: "PositionUnprotected",
        at,
        signalId: null,
        recorderId,
        traderId: "00000000-0000-4000-8000-000000000001",
        accountId: accountIds[0] ?? "",
        accountName: "Paper 1",
        contract: "MNQH6",
        netQty: 1,
        reason: "position unprotected: sl1 unknown: timeout",
      });
      await n.start();
      await waitFor(() => sim.messagesIn(channel).length === 3, "all three messages");
      await drained(n);
      const order = sim.messagesIn(channel).map((m) => m.embeds.length);
      expect(sim.messagesIn(channel)[0]?.embeds[0]?.title).toBe("🚨 UNPROTECTED POSITION · Paper 1");
      expect(order).toEqual([1, 10, 2]);
    } finally {
      await n.stop();
      await t.stop();
    }
  }, 60_000);

  it("F05 when the outbox cannot even be written, the failure is logged and trading goes on", async () => {
    const channel = "400000000000000005";
    const t = await startTestRelay({ url: db.url });
    const broken = connect(db.url, t.relay.services.logger, { max: 1 });
    await broken.end();
    const n = attach(t, sim, { sql: broken, defaultChannel: false });
    await n.start();
    try {
      const { token } = await paperSetup(t, {
        multipliers: [1, 2],
        settings: { quantity: 1, discordChannelId: channel },
        recorderName: "broken outbox",
      });
      const res = await t.webhook(token, buy());
      expect(res.status).toBe(202);
      const rows = await executionsDone(t, res.body.signalId as string, 2);
      expect(rows.map((r) => r.decision)).toEqual(["opened", "opened"]);
      await waitFor(() => logged(t, "NotificationEnqueueFailed").length > 0, "the failure logged");
      expect(logged(t, "EventListenerFailed")).toHaveLength(0);
      expect(sim.messagesIn(channel)).toHaveLength(0);
    } finally {
      await n.stop();
      await t.stop();
    }
  }, 60_000);
});
