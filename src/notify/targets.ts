/**
 * Who hears about an event, read from the in-memory Directory (no query on the event path).
 *
 * - An event of a recorder goes to that recorder's `discordChannelId` and as DMs to its `discordUserIds`.
 * - Events of an account (sessions, drift or breach without recorder ids) go to the recorders whose
 *   traders use that account; the kill switch to every recorder; the daily summary to each recorder with
 *   its own traders' lines only.
 * - DISCORD_DEFAULT_CHANNEL_ID, when set, receives the relay-wide events (sessions, daily summary, kill
 *   switch) and every urgent event, plus any event whose recorders have no Discord target at all.
 */
import type { Directory } from "../directory";
import type { RelayEvent } from "../events";
import { type ItemPayload, URGENT } from "./codec";
import { type Target, targetKey } from "./port";

export interface Routed {
  target: Target;
  urgent: boolean;
  payload: ItemPayload;
}

const RELAY_WIDE = new Set<RelayEvent["type"]>([
  "SessionLost",
  "SessionRestored",
  "DailySummary",
  "KillSwitchUsed",
]);

export function route(event: RelayEvent, directory: Directory, defaultChannelId?: string): Routed[] {
  const recorderIds = [...new Set(recordersOf(event, directory))];
  const urgent =
    URGENT.has(event.type) || (event.type === "SessionCloseFlattened" && event.outcome === "stuck");
  const audience = new Map<string, { target: Target; recorders: Set<string> | "all" }>();
  const reach = (target: Target, recorderId: string | "all") => {
    const key = targetKey(target);
    const entry = audience.get(key) ?? { target, recorders: new Set<string>() };
    if (recorderId === "all") entry.recorders = "all";
    else if (entry.recorders !== "all") entry.recorders.add(recorderId);
    audience.set(key, entry);
  };
  for (const id of recorderIds) {
    const settings = directory.recorder(id)?.settings;
    if (!settings) continue;
    if (settings.discordChannelId) reach({ kind: "channel", id: settings.discordChannelId }, id);
    for (const user of settings.discordUserIds) reach({ kind: "user", id: user }, id);
  }
  if (defaultChannelId && (urgent || RELAY_WIDE.has(event.type) || audience.size === 0)) {
    reach({ kind: "channel", id: defaultChannelId }, "all");
  }
  const single = recorderIds.length === 1 ? directory.recorder(recorderIds[0] ?? "") : undefined;
  const out: Routed[] = [];
  for (const { target, recorders } of audience.values()) {
    const scoped = scope(event, recorders);
    if (!scoped) continue;
    out.push({
      target,
      urgent,
      payload: { event: scoped, ...(single ? { recorderName: single.name } : {}) },
    });
  }
  return out;
}

/** What this audience may see: the daily summary is cut to its recorders' traders. */
function scope(event: RelayEvent, recorders: Set<string> | "all"): RelayEvent | undefined {
  if (event.type !== "DailySummary" || recorders === "all") return event;
  const traders = event.traders.filter((t) => recorders.has(t.recorderId));
  return traders.length ? { ...event, traders } : undefined;
}

function recordersOf(event: RelayEvent, d: Directory): string[] {
  const ofTrader = (id: string | null) => (id ? d.trader(id)?.recorderId : undefined);
  const ofAccount = (accountId: string) =>
    d
      .allTraders()
      .filter((t) => t.accountId === accountId)
      .map((t) => t.recorderId as string);
  switch (event.type) {
    case "SignalExecuted":
    case "ExecutionFailed":
    case "ExecutionWaiting":
    case "SessionCloseFlattened":
      return [event.recorderId];
    case "PositionUnprotected": {
      const id = event.recorderId ?? ofTrader(event.traderId);
      return id ? [id] : ofAccount(event.accountId);
    }
    case "BreachDetected":
    case "BreachFlattened": {
      if (event.recorderIds.length) return event.recorderIds;
      const id = ofTrader(event.traderId);
      return id ? [id] : ofAccount(event.accountId);
    }
    case "ReconciliationDrift":
      return event.recorderIds.length ? event.recorderIds : ofAccount(event.accountId);
    case "SessionLost":
    case "SessionRestored":
      return ofAccount(event.accountId);
    case "DailySummary":
      return event.traders.map((t) => t.recorderId);
    case "KillSwitchUsed":
      return d.allRecorders().map((r) => r.id as string);
  }
}
