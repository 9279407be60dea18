/**
 * Messages about accounts and the relay: unprotected position (red, loud), loss-limit breach and its
 * flatten, session lost/restored, reconciliation drift, the daily P&L summary and the kill switch. Each
 * says what happened, to which account, and what the relay is doing about it, in a few phone lines.
 */
import { add, dec, sum, toStr, tryDec, ZERO } from "../domain/decimal";
import type { RelayEvent } from "../events";
import { COLORS, clip, type EmbedField, fitEmbed, LIMITS, listWithin } from "./embed";
import { duration, md, money, position, type Scrubber } from "./format";
import type { Unit } from "./render-signal";

type Of<T extends RelayEvent["type"]> = Extract<RelayEvent, { type: T }>;

const at = (e: RelayEvent) => e.at.toISOString();
const field = (name: string, value: string, inline = true): EmbedField => ({ name, value, inline });

export function renderUnprotected(e: Of<"PositionUnprotected">, s: Scrubber, recorderName?: string): Unit {
  const pos = `${position(e.netQty)} ${md(e.contract)}`;
  const fields = [field("Account", md(e.accountName)), field("Position", pos)];
  if (recorderName) fields.push(field("Recorder", md(recorderName)));
  return {
    headline: clip(
      `🚨 **UNPROTECTED POSITION** · **${md(e.accountName)}** ${pos} has no working stop/exit. Check your broker now. (${s.clean(e.reason)})`,
      LIMITS.content,
    ),
    embed: fitEmbed({
      title: `🚨 UNPROTECTED POSITION · ${clip(md(e.accountName), 200)}`,
      description: `**${pos}** is open without the exit orders it should have.\n${s.clean(e.reason)}\n\n**Check the position at your broker now.**`,
      color: COLORS.red,
      fields,
      ...(e.signalId ? { footer: { text: `Signal ${e.signalId}` } } : {}),
      timestamp: at(e),
    }),
  };
}

export function renderWaiting(e: Of<"ExecutionWaiting">, s: Scrubber): Unit {
  const t = e.trader;
  const what = t.decision ? t.decision.replaceAll("_", " ") : "the signal";
  return {
    headline: clip(
      `⏳ **Waiting for the broker** · **${md(t.accountName)}** (${md(e.recorderName)}): ${what} cannot reach ${t.broker} yet; it goes out as soon as the broker is back.`,
      LIMITS.content,
    ),
    embed: fitEmbed({
      title: clip(`⏳ Waiting for the broker · ${md(t.accountName)}`, LIMITS.title),
      description: `${s.clean(t.error ?? "the broker cannot be reached")}

Exits and closes are never dropped: the relay keeps trying, under the same order ids, and reports when it is done. An entry is dropped if the broker is not back before the signal's age limit.`,
      color: COLORS.orange,
      fields: [
        field("Recorder", md(e.recorderName)),
        field("Broker", t.broker),
        ...(t.contract ? [field("Contract", md(t.contract))] : []),
      ],
      footer: { text: `Signal ${e.signalId}` },
      timestamp: at(e),
    }),
  };
}

function who(e: { scope: "trader" | "account"; accountName: string }, recorderName?: string): string {
  const account = md(e.accountName);
  if (e.scope === "account") return `account ${account} (all its traders)`;
  return recorderName ? `${account} on ${md(recorderName)}` : account;
}

export function renderBreach(e: Of<"BreachDetected">, recorderName?: string): Unit {
  const target = who(e, recorderName);
  if (e.message) return renderPropRule(e, "🛑 **Prop rule reached**", COLORS.red);
  return {
    headline: clip(
      `🛑 **Daily loss limit hit** · ${target}: P&L ${money(e.pnl)}, limit ${money(e.limit, false)}. Flattening and blocking new entries for the day.`,
      LIMITS.content,
    ),
    embed: fitEmbed({
      title: clip(`🛑 Daily loss limit hit · ${md(e.accountName)}`, LIMITS.title),
      description: `P&L **${money(e.pnl)}** against a limit of **${money(e.limit, false)}** for ${target}.\nFlattening every position and cancelling working orders; new entries are blocked for the rest of the trading day.`,
      color: COLORS.red,
      fields: [field("Trading day", e.tradingDay), field("Scope", e.scope)],
      timestamp: at(e),
    }),
  };
}

export function renderFlattened(e: Of<"BreachFlattened">, recorderName?: string): Unit {
  const target = who(e, recorderName);
  const tries = e.attempts === 1 ? "1 attempt" : `${e.attempts} attempts`;
  if (e.message) return renderPropRule(e, `🛑 **Flat after a prop rule** (${tries})`, COLORS.orange);
  return {
    headline: clip(
      `🛑 **Flat after loss limit** · ${target}: flat (${tries}); no new entries until the next trading day.`,
      LIMITS.content,
    ),
    embed: fitEmbed({
      title: clip(`🛑 Flattened after loss limit · ${md(e.accountName)}`, LIMITS.title),
      description: `${target} is flat after ${tries}. New entries stay blocked until the trading day after ${e.tradingDay}.`,
      color: COLORS.orange,
      fields: [field("Trading day", e.tradingDay), field("Attempts", String(e.attempts))],
      timestamp: at(e),
    }),
  };
}

/** Prop-firm rules (issue 14): the monitor's own sentence says what was reached and what was done. */
function renderPropRule(
  e: Of<"BreachDetected"> | Of<"BreachFlattened">,
  headline: string,
  color: number,
): Unit {
  const text = e.message ?? "";
  return {
    headline: clip(`${headline} · **${md(e.accountName)}**: ${text}.`, LIMITS.content),
    embed: fitEmbed({
      title: clip(`${headline.replace(/\*\*/g, "")} · ${md(e.accountName)}`, LIMITS.title),
      description: clip(text, LIMITS.description),
      color,
      fields: [field("Trading day", e.tradingDay), field("Rule", e.rule ?? "")],
      timestamp: at(e),
    }),
  };
}

export function renderSessionLost(e: Of<"SessionLost">, s: Scrubber): Unit {
  return {
    headline: clip(
      `🔌 **Connection lost** · **${md(e.accountName)}** (${e.broker}): ${s.clean(e.reason)}. Reconnecting.`,
      LIMITS.content,
    ),
    embed: fitEmbed({
      title: clip(`🔌 Connection lost · ${md(e.accountName)}`, LIMITS.title),
      description: `The ${e.broker} session dropped: ${s.clean(e.reason)}\nThe relay is reconnecting and will re-sync orders and positions when it is back.`,
      color: COLORS.red,
      fields: [field("Account", md(e.accountName)), field("Broker", e.broker)],
      timestamp: at(e),
    }),
  };
}

export function renderSessionRestored(e: Of<"SessionRestored">): Unit {
  return {
    headline: clip(
      `🔌 Connection restored · **${md(e.accountName)}** (${e.broker}) after ${duration(e.downMs)}.`,
      190,
    ),
    embed: fitEmbed({
      title: clip(`🔌 Connection restored · ${md(e.accountName)}`, LIMITS.title),
      description: `The ${e.broker} session is back after ${duration(e.downMs)}.`,
      color: COLORS.green,
      timestamp: at(e),
    }),
  };
}

export function renderDrift(e: Of<"ReconciliationDrift">, s: Scrubber): Unit {
  const fixed = e.fixed ? "corrected by the relay" : "NOT corrected: please check";
  return {
    headline: clip(
      `⚖️ **Drift** · **${md(e.accountName)}** ${md(e.contract)} (${e.kind}): ${s.clean(e.detail)} — ${fixed}`,
      190,
    ),
    embed: fitEmbed({
      title: clip(`⚖️ Broker and relay disagree · ${md(e.accountName)} · ${md(e.contract)}`, LIMITS.title),
      description: s.clean(e.detail),
      color: e.fixed ? COLORS.yellow : COLORS.orange,
      fields: [field("Kind", e.kind), field("Fixed", fixed), field("Broker account", md(e.brokerAccountId))],
      timestamp: at(e),
    }),
  };
}

export function renderDailySummary(e: Of<"DailySummary">): Unit {
  const rows = [...e.traders].sort(
    (a, b) => a.recorderName.localeCompare(b.recorderName) || a.accountName.localeCompare(b.accountName),
  );
  const total = sum(rows.map((t) => tryDec(t.realizedPnl) ?? ZERO));
  const trades = rows.reduce((n, t) => n + t.trades, 0);
  const byRecorder = new Map<string, typeof rows>();
  for (const r of rows) byRecorder.set(r.recorderName, [...(byRecorder.get(r.recorderName) ?? []), r]);
  const lines: string[] = [];
  const weights: number[] = [];
  for (const [recorder, list] of byRecorder) {
    const subtotal = list.reduce((acc, t) => add(acc, tryDec(t.realizedPnl) ?? ZERO), dec(0));
    lines.push(`**${md(recorder)}** ${money(toStr(subtotal))}`);
    weights.push(0);
    for (const t of list) {
      lines.push(
        `• ${md(t.accountName)}: ${money(t.realizedPnl)} · ${t.trades} ${t.trades === 1 ? "trade" : "trades"}`,
      );
      weights.push(1);
    }
  }
  const head = `Total **${money(toStr(total))}** · ${trades} trades · ${rows.length} traders\n\n`;
  return {
    headline: clip(
      `📊 **Daily summary ${e.tradingDay}**: ${money(toStr(total))} over ${rows.length} traders`,
      190,
    ),
    embed: fitEmbed({
      title: `📊 Daily summary · ${e.tradingDay}`,
      description: head + listWithin(lines, LIMITS.description - head.length, weights),
      color: total < 0n ? COLORS.orange : COLORS.blue,
      timestamp: at(e),
    }),
  };
}

export function renderKillSwitch(e: Of<"KillSwitchUsed">, s: Scrubber): Unit {
  const text = {
    stop: [
      "⛔",
      "Kill switch: new entries stopped",
      "No new positions will be opened until trading is resumed.",
    ],
    flatten: [
      "⛔",
      "Kill switch: flatten everything",
      "Every position is being closed and working entries cancelled.",
    ],
    resume: ["▶️", "Trading resumed", "New entries are allowed again."],
  }[e.action];
  const [icon, title, what] = text;
  return {
    headline: clip(`${icon} **${title}** by ${md(s.clean(e.actor))}. ${what}`, LIMITS.content),
    embed: fitEmbed({
      title: `${icon} ${title}`,
      description: [what, e.detail ? s.clean(e.detail) : ""].filter(Boolean).join("\n"),
      color: e.action === "resume" ? COLORS.green : COLORS.red,
      fields: [field("By", md(s.clean(e.actor)))],
      timestamp: at(e),
    }),
  };
}

export function renderSessionClose(e: Of<"SessionCloseFlattened">, s: Scrubber): Unit {
  const close = e.close.toISOString().replace("T", " ").slice(0, 16);
  if (e.outcome === "stuck") {
    const why = s.clean(e.error ?? "the broker did not confirm flat");
    return {
      headline: clip(
        `🚨 **Not flat at the close** · **${md(e.recorderName)}**${e.accountName ? ` on **${md(e.accountName)}**` : ""}: ${why}. Still retrying; please check the broker.`,
        190,
      ),
      embed: fitEmbed({
        title: clip(`🚨 Not flat at the close · ${md(e.recorderName)}`, LIMITS.title),
        description: `The trading hours closed at ${close} UTC and the relay could not flatten ${e.accountName ? md(e.accountName) : "a follower"}: ${why}. It keeps trying when the session is back; please check the position at the broker.`,
        color: COLORS.red,
        timestamp: at(e),
      }),
    };
  }
  return {
    headline: clip(
      `🔔 **Flat at the close** · **${md(e.recorderName)}**: ${e.traders} follower(s) flattened, exits cancelled; entries wait for the next trading window.`,
      190,
    ),
    embed: fitEmbed({
      title: clip(`🔔 Flat at the close · ${md(e.recorderName)}`, LIMITS.title),
      description: `The trading hours closed at ${close} UTC: ${e.traders} follower(s) flattened and their exits cancelled. Entries are refused until the next trading window.`,
      color: COLORS.blue,
      timestamp: at(e),
    }),
  };
}
