/**
 * What a trader reads on a phone: every event type's message, and a 500-trader fan-out as one summary
 * inside Discord's limits (checked with the Discord fake's own validator), secrets never included.
 */
import { describe, expect, it } from "vitest";
import { encodePayload } from "../../src/notify/codec";
import { embedSize, listWithin } from "../../src/notify/embed";
import { money, Scrubber } from "../../src/notify/format";
import { holdForSummary, packBatch, packUrgent, renderItem } from "../../src/notify/pack";
import { messageProblems } from "../../src/sim/discord";
import { events, executionFailed, outcome, SIGNAL_ID, signalExecuted } from "./notif-fixtures";

const scrubber = new Scrubber(["fake-discord-bot-token-0123456789"]);
const item = (id: number, event: unknown, recorderName?: string) => ({
  id: String(id),
  payload: encodePayload({ event: event as never, ...(recorderName ? { recorderName } : {}) }),
});
const text = (u: { headline: string; embed: unknown }) => `${u.headline}\n${JSON.stringify(u.embed)}`;

describe("message content", () => {
  const all = events();

  it("R01 a signal summary gives filled with fill prices, failed in the broker's words, ignored with reasons, latency", () => {
    const u = renderItem(encodePayload({ event: all.SignalExecuted }), scrubber);
    expect(u.headline).toContain("NQ Scalper");
    expect(u.headline).toContain("MNQ1! BUY");
    expect(u.headline).toContain("2 filled, 1 failed, 1 ignored");
    const fields = Object.fromEntries((u.embed.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields["❌ Failed (1)"]).toBe("• Apex 3: entry rejected by the broker: Insufficient buying power");
    expect(fields["✅ Filled (2)"]).toContain("**MNQH6 @ 21000.25** · 1 trader: Apex 1 ×2");
    expect(fields["✅ Filled (2)"]).toContain("**MNQH6 @ 21000.5** · 1 trader: Apex 2 ×4");
    expect(fields["⏸️ Ignored (1)"]).toBe("• Apex 4: already long 2; avg-down is off");
    expect(u.embed.description).toContain("latency p50 41 ms · max 43 ms");
    expect(u.embed.description).toContain("all done 180 ms after the alert");
    expect(u.embed.footer?.text).toBe(`Signal ${SIGNAL_ID}`);
    // Failures come first: they are what the trader must act on.
    expect(u.embed.fields?.[0]?.name).toBe("❌ Failed (1)");
  });

  it("R02 an execution failure carries the broker's words, recorder, account and contract", () => {
    const u = renderItem(encodePayload({ event: all.ExecutionFailed }), scrubber);
    expect(u.headline).toBe(
      "❌ **Apex 3** failed (NQ Scalper, MNQH6): entry rejected by the broker: Insufficient buying power",
    );
    expect(u.embed.description).toBe("entry rejected by the broker: Insufficient buying power");
    expect(u.embed.fields?.map((f) => f.name)).toEqual(["Recorder", "Account", "Contract", "Latency"]);
  });

  it("R03 an unprotected position is red and loud, with account, size, contract and reason", () => {
    const u = renderItem(
      encodePayload({ event: all.PositionUnprotected, recorderName: "NQ Scalper" }),
      scrubber,
    );
    expect(u.headline).toMatch(/^🚨 \*\*UNPROTECTED POSITION\*\* · \*\*Apex 5\*\* long 2 MNQH6/);
    expect(u.headline).toContain("Check your broker now");
    expect(u.headline).toContain("sl1 rejected: Order price is outside the price limits");
    expect(u.embed.color).toBe(0xe02424);
    expect(u.embed.fields?.map((f) => [f.name, f.value])).toEqual([
      ["Account", "Apex 5"],
      ["Position", "long 2 MNQH6"],
      ["Recorder", "NQ Scalper"],
    ]);
  });

  it("R04 breach, flatten, sessions, drift, daily summary and kill switch read clearly", () => {
    const r = (t: keyof typeof all) =>
      renderItem(encodePayload({ event: all[t], recorderName: "NQ Scalper" }), scrubber);
    expect(r("BreachDetected").headline).toBe(
      "🛑 **Daily loss limit hit** · Apex 6 on NQ Scalper: P&L -612.50, limit 500.00. Flattening and blocking new entries for the day.",
    );
    expect(r("BreachFlattened").headline).toBe(
      "🛑 **Flat after loss limit** · Apex 6 on NQ Scalper: flat (2 attempts); no new entries until the next trading day.",
    );
    expect(r("SessionLost").headline).toBe(
      "🔌 **Connection lost** · **Apex 1** (tradovate): socket closed (1006). Reconnecting.",
    );
    expect(r("SessionRestored").headline).toBe(
      "🔌 Connection restored · **Apex 1** (tradovate) after 1m 12s.",
    );
    expect(r("ReconciliationDrift").headline).toBe(
      "⚖️ **Drift** · **Apex 7** MNQH6 (position): broker long 3, relay long 2 — NOT corrected: please check",
    );
    const daily = r("DailySummary");
    expect(daily.headline).toBe("📊 **Daily summary 2026-03-02**: +1,154.25 over 2 traders");
    expect(daily.embed.description).toContain("• Apex 1: +1,234.50 · 3 trades");
    expect(daily.embed.description).toContain("• Apex 2: -80.25 · 1 trade");
    expect(r("KillSwitchUsed").headline).toBe(
      "⛔ **Kill switch: flatten everything** by admin. Every position is being closed and working entries cancelled.",
    );
  });

  it("R13 a session close the relay could not flatten is urgent and says which account and why", () => {
    const stuck = all.SessionCloseFlattened;
    const u = renderItem(encodePayload({ event: stuck }), scrubber);
    expect(u.headline).toContain("Not flat at the close");
    expect(u.headline).toContain("Topstep 50K");
    expect(u.headline).toContain("liquidation rejected: market closed");
    expect(u.embed.color).toBe(0xe02424);
    const flat = renderItem(
      encodePayload({ event: { ...stuck, outcome: "flat" } as typeof stuck }),
      scrubber,
    );
    expect(flat.headline).toBe(
      "🔔 **Flat at the close** · **NQ scalper**: 2 follower(s) flattened, exits cancelled; entries wait for the next trading window.",
    );
  });

  it("R05 every message is accepted by Discord's limits", () => {
    for (const [type, event] of Object.entries(all)) {
      const m = packUrgent(item(1, event), scrubber);
      expect(messageProblems(m.body), type).toEqual({});
    }
  });
});

describe("a 500-trader fan-out", () => {
  const traders = Array.from({ length: 500 }, (_, i) => {
    if (i % 50 === 7)
      return outcome(i, {
        status: "failed",
        error: `entry rejected by the broker: Risk check failed (${i})`,
        fillPrice: null,
        filledQty: null,
      });
    if (i % 25 === 3)
      return outcome(i, {
        status: "ignored",
        decision: "blocked_max_contracts",
        reason: "entry refused: max contracts 1",
        fillPrice: null,
        filledQty: null,
      });
    return outcome(i, { fillPrice: i % 2 ? "21000.25" : "21000.5" });
  });

  it("R06 is one summary within Discord's limits, truncated with '... and N more' instead of failing", () => {
    const [message, ...rest] = packBatch([item(1, signalExecuted(traders))], scrubber);
    expect(rest).toEqual([]);
    if (!message) throw new Error("no message");
    expect(messageProblems(message.body)).toEqual({});
    expect(message.body.content.length).toBeLessThanOrEqual(2000);
    expect(message.body.embeds).toHaveLength(1);
    const embed = message.body.embeds[0];
    expect(embed && embedSize(embed)).toBeLessThanOrEqual(6000);
    expect(message.body.content).toContain("470 filled, 10 failed, 20 ignored");
    const fields = Object.fromEntries((embed?.fields ?? []).map((f) => [f.name, f.value]));
    // Ten different broker errors: each failure is listed with its words.
    expect(fields["❌ Failed (10)"]?.split("\n")).toHaveLength(10);
    expect(fields["❌ Failed (10)"]).toContain(
      "• Apex 7: entry rejected by the broker: Risk check failed (7)",
    );
    // 20 ignored for the same reason: one line.
    expect(fields["⏸️ Ignored (20)"]).toMatch(
      /^• Apex 3, Apex 28, .* \(\+\d+\): entry refused: max contracts 1$/,
    );
    // 470 fills at two prices: grouped by price, names cut with a count.
    expect(fields["✅ Filled (470)"]).toMatch(
      /\*\*MNQH6 @ 21000\.5\*\* · 240 traders: Apex 0 ×2, .*\(\+\d+\)/,
    );
    expect(embed?.description).toContain("500 traders");
  });

  it("R07 many different failures end with '... and N more' counting the traders left out", () => {
    const failing = Array.from({ length: 300 }, (_, i) =>
      outcome(i, {
        status: "failed",
        error: `rejected: order ${i} refused by risk (code ${1000 + i})`,
        fillPrice: null,
      }),
    );
    const [message] = packBatch([item(1, signalExecuted(failing))], scrubber);
    if (!message) throw new Error("no message");
    expect(messageProblems(message.body)).toEqual({});
    const failed = message.body.embeds[0]?.fields?.[0]?.value ?? "";
    const shown = failed.split("\n").filter((l) => l.startsWith("• ")).length;
    expect(failed).toMatch(new RegExp(`\\.\\.\\. and ${300 - shown} more$`));
    expect(message.body.content).toContain("❌");
  });
});

describe("packing", () => {
  it("R08 failures covered by their signal's summary are folded into it; other failures share one embed", () => {
    const other = "7f1e2d3c-4b5a-4968-8776-655443322110";
    const batch = [
      item(1, executionFailed(3)),
      item(2, executionFailed(8, { signalId: other })),
      item(3, executionFailed(9, { signalId: other, error: "outcome unknown: timeout" })),
      item(
        4,
        signalExecuted([
          outcome(1),
          outcome(3, { status: "failed", error: "entry rejected by the broker: Insufficient buying power" }),
        ]),
      ),
      item(5, events().SessionRestored),
    ];
    const [message, ...rest] = packBatch(batch, scrubber);
    expect(rest).toEqual([]);
    expect(message?.itemIds.sort()).toEqual(["1", "2", "3", "4", "5"]);
    expect(message?.body.embeds.map((e) => e.title)).toEqual([
      "❌ 2 executions failed · NQ Scalper",
      "⚠️ MNQ1! BUY · NQ Scalper",
      "🔌 Connection restored · Apex 1",
    ]);
    expect(message?.body.content.split("\n")).toHaveLength(3);
  });

  it("R09 a long batch splits into messages of at most 10 embeds and 6000 characters", () => {
    const big = (i: number) =>
      signalExecuted(
        Array.from({ length: 60 }, (_, j) =>
          outcome(j, { status: "failed", error: `broker says no #${i}-${j} ${"x".repeat(40)}` }),
        ),
        { signalId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` },
      );
    const batch = Array.from({ length: 25 }, (_, i) =>
      item(i + 1, i % 2 ? events().SessionRestored : big(i)),
    );
    const messages = packBatch(batch, scrubber);
    expect(messages.length).toBeGreaterThan(2);
    expect(messages.flatMap((m) => m.itemIds)).toHaveLength(25);
    for (const m of messages) {
      expect(m.body.embeds.length).toBeLessThanOrEqual(10);
      expect(messageProblems(m.body)).toEqual({});
    }
  });
});

describe("holding failures for their summary", () => {
  it("R12 a failure waits for its signal's summary (bounded); with the summary present it goes at once", () => {
    const failure = { ...item(1, executionFailed(3)), ageMs: 500 };
    const restored = { ...item(2, events().SessionRestored), ageMs: 500 };
    expect(holdForSummary([failure, restored], 15_000)).toEqual({ ready: [restored], recheckMs: 14_500 });
    const summary = { ...item(3, signalExecuted([outcome(1)])), ageMs: 10 };
    expect(holdForSummary([failure, summary], 15_000).ready).toEqual([failure, summary]);
    // Never held forever: past the bound it goes alone.
    expect(holdForSummary([{ ...failure, ageMs: 15_000 }], 15_000).ready).toHaveLength(1);
  });
});

describe("no secret in a message", () => {
  it("R10 tokens, credentials and mass mentions in outside text are scrubbed", () => {
    const leaky = executionFailed(1, {
      error:
        "401 Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl password=hunter22 token: abcdefgh12345678 fake-discord-bot-token-0123456789 @everyone see https://relay.example.com/webhook/AbCdEf0123456789",
    });
    const m = packUrgent(item(1, leaky), scrubber);
    const all = text({ headline: m.body.content, embed: m.body.embeds });
    for (const secret of [
      "eyJhbGci",
      "hunter22",
      "abcdefgh12345678",
      "fake-discord-bot-token",
      "AbCdEf0123456789",
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toContain("@everyone");
    expect(all).toContain("[redacted]");
  });

  it("R11 money is exact, signed, two decimals at least", () => {
    expect(money("-612.5")).toBe("-612.50");
    expect(money("1234567.125")).toBe("+1,234,567.125");
    expect(money("0")).toBe("0.00");
    expect(money("500", false)).toBe("500.00");
    expect(listWithin(["a", "b", "c"], 16)).toBe("a\n... and 2 more");
  });
});
