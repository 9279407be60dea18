/**
 * What an outbox item stores: the event as JSON (dates as ISO strings), already narrowed to what its
 * target may see, plus names resolved at enqueue time. Decoding revives the dates; anything unreadable
 * is reported as undefined and rendered as a short fallback instead of blocking the outbox.
 */
import type { RelayEvent, RelayEventType } from "../events";

export interface ItemPayload {
  event: RelayEvent;
  /** The recorder the event belongs to, when the event itself does not name it. */
  recorderName?: string;
}

export const EVENT_TYPES: ReadonlySet<RelayEventType> = new Set<RelayEventType>([
  "SignalExecuted",
  "ExecutionFailed",
  "ExecutionWaiting",
  "PositionUnprotected",
  "SessionLost",
  "SessionRestored",
  "BreachDetected",
  "BreachFlattened",
  "ReconciliationDrift",
  "DailySummary",
  "KillSwitchUsed",
  "SessionCloseFlattened",
]);

/** Sent at once in their own message, ahead of anything queued, never merged or held for batching. */
export const URGENT: ReadonlySet<RelayEventType> = new Set<RelayEventType>([
  "ExecutionWaiting",
  "PositionUnprotected",
  "BreachDetected",
  "BreachFlattened",
  "SessionLost",
  "KillSwitchUsed",
]);

/** The stored form: JSON, written by the driver (dates become ISO strings then); no copy on the event path. */
export function encodePayload(p: ItemPayload): Record<string, unknown> {
  return p as unknown as Record<string, unknown>;
}

const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

export function decodePayload(raw: unknown): ItemPayload | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const p = raw as { event?: unknown; recorderName?: unknown };
  const e = p.event as Record<string, unknown> | undefined;
  if (!e || typeof e.type !== "string" || !EVENT_TYPES.has(e.type as RelayEventType)) return undefined;
  const event: Record<string, unknown> = { ...e, at: toDate(e.at) };
  if (e.receivedAt !== undefined) event.receivedAt = toDate(e.receivedAt);
  if (e.close !== undefined) event.close = toDate(e.close);
  return {
    event: event as unknown as RelayEvent,
    ...(typeof p.recorderName === "string" ? { recorderName: p.recorderName } : {}),
  };
}
