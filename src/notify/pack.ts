/**
 * Outbox items -> Discord messages for one target. An urgent item is one message on its own. Non-urgent
 * items waiting for the same target are merged: failures of a signal whose summary is in the batch are
 * covered by the summary (it lists them), other failures of one signal share one embed, and the units
 * are packed into as few messages as Discord's limits allow (10 embeds, 6000 characters, 2000 of content).
 * Pure: the sender stores what this returns.
 */
import type { RelayEvent } from "../events";
import { decodePayload, type ItemPayload } from "./codec";
import { COLORS, clip, embedSize, LIMITS, listWithin } from "./embed";
import type { Scrubber } from "./format";
import type { OutboundMessage } from "./port";
import {
  renderBreach,
  renderDailySummary,
  renderDrift,
  renderFlattened,
  renderKillSwitch,
  renderSessionClose,
  renderSessionLost,
  renderSessionRestored,
  renderUnprotected,
  renderWaiting,
} from "./render-alerts";
import { renderFailures, renderSignal, type Unit } from "./render-signal";

export interface PackItem {
  id: string;
  payload: unknown;
}

export interface PackedMessage {
  itemIds: string[];
  body: OutboundMessage;
}

const BATCH_HEADLINE = 190;

type ExecutionFailed = Extract<RelayEvent, { type: "ExecutionFailed" }>;

/** Renders one stored item; an unreadable one becomes a short notice instead of blocking the outbox. */
export function renderItem(raw: unknown, s: Scrubber): Unit {
  const p = decodePayload(raw);
  if (!p) return fallback("an event the relay could not read");
  try {
    return render(p, s);
  } catch (error) {
    return fallback(`${p.event.type} (could not be formatted: ${s.clean(String(error))})`);
  }
}

function render(p: ItemPayload, s: Scrubber): Unit {
  const e = p.event;
  switch (e.type) {
    case "SignalExecuted":
      return renderSignal(e, s);
    case "ExecutionFailed":
      return renderFailures([e], s);
    case "ExecutionWaiting":
      return renderWaiting(e, s);
    case "PositionUnprotected":
      return renderUnprotected(e, s, p.recorderName);
    case "BreachDetected":
      return renderBreach(e, p.recorderName);
    case "BreachFlattened":
      return renderFlattened(e, p.recorderName);
    case "SessionLost":
      return renderSessionLost(e, s);
    case "SessionRestored":
      return renderSessionRestored(e);
    case "ReconciliationDrift":
      return renderDrift(e, s);
    case "DailySummary":
      return renderDailySummary(e);
    case "KillSwitchUsed":
      return renderKillSwitch(e, s);
    case "SessionCloseFlattened":
      return renderSessionClose(e, s);
  }
}

function fallback(what: string): Unit {
  return {
    headline: clip(`ℹ️ Relay notice: ${what}`, BATCH_HEADLINE),
    embed: { title: "ℹ️ Relay notice", description: clip(what, LIMITS.description), color: COLORS.grey },
  };
}

/**
 * Failures of a signal wait (up to `holdMs`) for that signal's summary, so a fan-out with failures is one
 * message listing them, not failures first and the summary after. Returns what may be packed now and,
 * when something is held, how long until the oldest held item is released anyway.
 */
export function holdForSummary<T extends { payload: unknown; ageMs: number }>(
  items: T[],
  holdMs: number,
): { ready: T[]; recheckMs?: number } {
  const decoded = items.map((i) => ({ i, e: decodePayload(i.payload)?.event }));
  const summarized = new Set(decoded.flatMap(({ e }) => (e?.type === "SignalExecuted" ? [e.signalId] : [])));
  const ready: T[] = [];
  let recheckMs: number | undefined;
  for (const { i, e } of decoded) {
    if (e?.type === "ExecutionFailed" && !summarized.has(e.signalId) && i.ageMs < holdMs) {
      recheckMs = Math.min(recheckMs ?? holdMs, holdMs - i.ageMs);
      continue;
    }
    ready.push(i);
  }
  return recheckMs === undefined ? { ready } : { ready, recheckMs };
}

/** An urgent item: its own message, content first so it reads in the phone's notification. */
export function packUrgent(item: PackItem, s: Scrubber): PackedMessage {
  const u = renderItem(item.payload, s);
  return { itemIds: [item.id], body: { content: clip(u.headline, LIMITS.content), embeds: [u.embed] } };
}

/** Non-urgent items for one target, oldest first -> the fewest messages that fit Discord's limits. */
export function packBatch(items: PackItem[], s: Scrubber): PackedMessage[] {
  const decoded = items.map((i) => ({ item: i, p: decodePayload(i.payload) }));
  const summaries = new Map<string, { owner: string; ids: string[] }>();
  for (const { item, p } of decoded) {
    if (p?.event.type === "SignalExecuted" && !summaries.has(p.event.signalId)) {
      summaries.set(p.event.signalId, { owner: item.id, ids: [item.id] });
    }
  }
  const failures = new Map<string, { ids: string[]; events: ExecutionFailed[] }>();
  const units: { ids: string[]; make: () => Unit }[] = [];
  for (const { item, p } of decoded) {
    const e = p?.event;
    if (e?.type === "ExecutionFailed") {
      const covered = summaries.get(e.signalId);
      if (covered) {
        covered.ids.push(item.id);
        continue;
      }
      const group = failures.get(e.signalId);
      if (group) {
        group.ids.push(item.id);
        group.events.push(e);
        continue;
      }
      const fresh = { ids: [item.id], events: [e] };
      failures.set(e.signalId, fresh);
      units.push({ ids: fresh.ids, make: () => renderFailures(fresh.events, s) });
      continue;
    }
    const summary = e?.type === "SignalExecuted" ? summaries.get(e.signalId) : undefined;
    const ids = summary?.owner === item.id ? summary.ids : [item.id];
    units.push({ ids, make: () => renderItem(item.payload, s) });
  }

  const messages: PackedMessage[] = [];
  let current: { ids: string[]; lines: string[]; embeds: Unit["embed"][]; size: number } | undefined;
  const flush = () => {
    if (!current) return;
    messages.push({
      itemIds: current.ids,
      body: { content: listWithin(current.lines, LIMITS.content), embeds: current.embeds },
    });
    current = undefined;
  };
  for (const u of units) {
    const unit = u.make();
    const size = embedSize(unit.embed);
    if (
      current &&
      (current.embeds.length >= LIMITS.embedsPerMessage || current.size + size > LIMITS.embedTotal)
    ) {
      flush();
    }
    current ??= { ids: [], lines: [], embeds: [], size: 0 };
    current.ids.push(...u.ids);
    current.lines.push(clip(unit.headline, BATCH_HEADLINE));
    current.embeds.push(unit.embed);
    current.size += size;
  }
  flush();
  return messages;
}
