/**
 * Messages about signals: the per-signal summary (one message however many traders: filled with fill
 * prices, failed in the broker's words, ignored with reasons, latency p50/max) and execution failures.
 * Traders sharing an outcome are grouped on one line so a 500-trader fan-out stays readable on a phone;
 * whatever does not fit ends with "... and N more".
 */
import type { RelayEvent, TraderOutcome } from "../events";
import { COLORS, clip, type Embed, type EmbedField, fitEmbed, LIMITS, listWithin } from "./embed";
import { duration, md, percentile, price, type Scrubber } from "./format";

type SignalExecuted = Extract<RelayEvent, { type: "SignalExecuted" }>;
type ExecutionFailed = Extract<RelayEvent, { type: "ExecutionFailed" }>;

/** One event (or group of events) as it appears in a message: a line of content plus an embed. */
export interface Unit {
  headline: string;
  embed: Embed;
}

interface Group {
  label: string;
  names: string[];
}

/** Display names: the account name, with the broker sub-account when two traders share an account. */
function namer(traders: TraderOutcome[]): (t: TraderOutcome) => string {
  const count = new Map<string, number>();
  for (const t of traders) count.set(t.accountName, (count.get(t.accountName) ?? 0) + 1);
  return (t) =>
    md((count.get(t.accountName) ?? 0) > 1 ? `${t.accountName} (${t.brokerAccountId})` : t.accountName);
}

function groupBy(
  traders: TraderOutcome[],
  key: (t: TraderOutcome) => string,
  name: (t: TraderOutcome) => string,
) {
  const groups = new Map<string, Group>();
  for (const t of traders) {
    const label = key(t);
    const g = groups.get(label) ?? { label, names: [] };
    g.names.push(name(t));
    groups.set(label, g);
  }
  return [...groups.values()].sort((a, b) => b.names.length - a.names.length);
}

/** "Paper 1, Paper 2 (+3)" within `max` characters. */
function names(list: string[], max: number): string {
  let out = "";
  for (let i = 0; i < list.length; i++) {
    const next = out ? `${out}, ${list[i]}` : (list[i] ?? "");
    const rest = list.length - i - 1;
    if (next.length + (rest > 0 ? ` (+${rest})`.length : 0) > max) return `${out} (+${list.length - i})`;
    out = next;
  }
  return out;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A field listing groups as "• names: label", trimmed to Discord's field limit. */
function groupField(title: string, groups: Group[], labelFirst = false): EmbedField {
  const lines = groups.map((g) =>
    labelFirst
      ? `• **${g.label}** · ${plural(g.names.length, "trader")}: ${names(g.names, 200)}`
      : `• ${names(g.names, 160)}: ${clip(g.label, 300)}`,
  );
  return {
    name: title,
    value: listWithin(
      lines,
      LIMITS.fieldValue,
      groups.map((g) => g.names.length),
    ),
  };
}

const words = (t: TraderOutcome, s: Scrubber) =>
  s.clean(t.error ?? t.reason ?? "no reason given by the broker");

export function renderSignal(e: SignalExecuted, s: Scrubber): Unit {
  const name = namer(e.traders);
  const done = e.traders.filter((t) => t.status === "done");
  const filled = done.filter((t) => t.fillPrice !== null);
  const doneOther = done.filter((t) => t.fillPrice === null);
  const failed = e.traders.filter((t) => t.status === "failed");
  const unknown = e.traders.filter((t) => t.status === "unknown");
  const ignored = e.traders.filter((t) => t.status === "ignored");
  const problems = done.filter((t) => t.error);
  const latencies = e.traders.map((t) => t.latencyMs).filter((n): n is number => n !== null);
  const p50 = percentile(latencies, 50);
  const max = percentile(latencies, 100);

  const counts = [
    filled.length ? `${filled.length} filled` : "",
    doneOther.length ? `${doneOther.length} done` : "",
    failed.length ? `${failed.length} failed` : "",
    unknown.length ? `${unknown.length} unconfirmed` : "",
    ignored.length ? `${ignored.length} ignored` : "",
  ].filter(Boolean);
  const bad = failed.length + unknown.length;
  const icon = bad === 0 ? (done.length ? "✅" : "⏸️") : bad === e.traders.length ? "❌" : "⚠️";
  const color =
    bad === 0
      ? done.length
        ? COLORS.green
        : COLORS.grey
      : bad === e.traders.length
        ? COLORS.red
        : COLORS.orange;
  const latency =
    p50 === undefined || max === undefined ? "" : `latency p50 ${duration(p50)} · max ${duration(max)}`;
  const what = `${md(e.ticker)} ${e.action.toUpperCase()}`;

  const fields: EmbedField[] = [];
  if (failed.length) {
    fields.push(
      groupField(
        `❌ Failed (${failed.length})`,
        groupBy(failed, (t) => words(t, s), name),
      ),
    );
  }
  if (unknown.length) {
    const groups = groupBy(unknown, (t) => `not confirmed, checking with the broker: ${words(t, s)}`, name);
    fields.push(groupField(`❔ Unconfirmed (${unknown.length})`, groups));
  }
  if (problems.length) {
    fields.push(
      groupField(
        `⚠️ Problems (${problems.length})`,
        groupBy(problems, (t) => s.clean(t.error ?? ""), name),
      ),
    );
  }
  if (filled.length) {
    const byPrice = groupBy(
      filled,
      (t) => `${md(t.contract ?? e.ticker)} @ ${price(t.fillPrice)}`,
      (t) => `${name(t)} ×${t.filledQty ?? "?"}`,
    );
    fields.push(groupField(`✅ Filled (${filled.length})`, byPrice, true));
  }
  if (doneOther.length) {
    const groups = groupBy(doneOther, (t) => s.clean(t.reason ?? t.decision ?? "done"), name);
    fields.push(groupField(`✅ Done (${doneOther.length})`, groups));
  }
  if (ignored.length) {
    const groups = groupBy(ignored, (t) => s.clean(t.reason ?? t.decision ?? "ignored"), name);
    fields.push(groupField(`⏸️ Ignored (${ignored.length})`, groups));
  }

  const fanout = e.at.getTime() - e.receivedAt.getTime();
  const description = [
    `**${counts.join(" · ") || "nothing to do"}** — ${plural(e.traders.length, "trader")}`,
    [latency, fanout >= 0 ? `all done ${duration(fanout)} after the alert` : ""].filter(Boolean).join(" · "),
  ]
    .filter(Boolean)
    .join("\n");
  return {
    headline: clip(
      `${icon} **${md(e.recorderName)}** ${what}: ${counts.join(", ") || "nothing to do"}${p50 === undefined ? "" : ` · p50 ${duration(p50)}`}`,
      190,
    ),
    embed: fitEmbed({
      title: clip(`${icon} ${what} · ${md(e.recorderName)}`, LIMITS.title),
      description,
      color,
      fields,
      footer: { text: `Signal ${e.signalId}` },
      timestamp: e.at.toISOString(),
    }),
  };
}

/** One or more failures of the same signal, when its summary is not in the same message. */
export function renderFailures(list: ExecutionFailed[], s: Scrubber): Unit {
  const first = list[0];
  if (!first) throw new Error("renderFailures needs at least one event");
  const traders = list.map((e) => e.trader);
  const name = namer(traders);
  const recorder = md(first.recorderName);
  const t = first.trader;
  if (list.length === 1) {
    const unknown = t.status === "unknown";
    const where = [recorder, t.contract ? md(t.contract) : ""].filter(Boolean).join(", ");
    const fields: EmbedField[] = [
      { name: "Recorder", value: recorder, inline: true },
      { name: "Account", value: `${name(t)} (${t.broker})`, inline: true },
    ];
    if (t.contract) fields.push({ name: "Contract", value: md(t.contract), inline: true });
    if (t.latencyMs !== null) fields.push({ name: "Latency", value: duration(t.latencyMs), inline: true });
    return {
      headline: clip(
        unknown
          ? `❔ **${name(t)}**: outcome unknown (${where}), checking with the broker: ${words(t, s)}`
          : `❌ **${name(t)}** failed (${where}): ${words(t, s)}`,
        190,
      ),
      embed: fitEmbed({
        title: clip(`${unknown ? "❔ Outcome unknown" : "❌ Execution failed"} · ${name(t)}`, LIMITS.title),
        description: clip(words(t, s), LIMITS.description),
        color: unknown ? COLORS.orange : COLORS.red,
        fields,
        footer: { text: `Signal ${first.signalId}` },
        timestamp: first.at.toISOString(),
      }),
    };
  }
  const groups = groupBy(
    traders,
    (x) => (x.status === "unknown" ? `outcome unknown: ${words(x, s)}` : words(x, s)),
    name,
  );
  const lines = groups.map((g) => `• ${names(g.names, 200)}: ${clip(g.label, 400)}`);
  return {
    headline: clip(`❌ **${recorder}**: ${list.length} executions failed (${groups[0]?.label ?? ""})`, 190),
    embed: fitEmbed({
      title: clip(`❌ ${list.length} executions failed · ${recorder}`, LIMITS.title),
      description: listWithin(
        lines,
        LIMITS.description,
        groups.map((g) => g.names.length),
      ),
      color: COLORS.red,
      footer: { text: `Signal ${first.signalId}` },
      timestamp: first.at.toISOString(),
    }),
  };
}
