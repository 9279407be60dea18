/**
 * "The broker cannot be reached right now" as opposed to "the broker said no". An exit, close or flatten
 * that meets the first waits for the broker and goes out when it is back; only the second ends it.
 */
import type { OrderOutcome } from "../brokers/port";

/** The broker could not be asked, or could not be sent to: nothing was decided, try again later. */
export class BrokerUnreachable extends Error {}

/**
 * A rejection that only says the order was never placed because the broker could not take it now (a
 * socket down, rate limits that never cleared, penalty tickets), not because the broker judged it.
 */
export function notPlaced(outcome: OrderOutcome): boolean {
  if (outcome.kind !== "rejected") return false;
  if (outcome.code && TRANSIENT_CODES.has(outcome.code)) return true;
  return /^not sent\b/i.test(outcome.reason);
}

const TRANSIENT_CODES = new Set(["NotSent", "RateLimited", "Throttled", "HTTP 429", "HTTP429", "429"]);

export const why = (error: unknown): string => (error instanceof Error ? error.message : String(error));
