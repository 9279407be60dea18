/**
 * The one reconnect schedule of every broker adapter and of the session pool: the configured first steps,
 * then doubling, never more than 30 s between two attempts, and no last attempt: a session that lost its
 * broker keeps trying for as long as the outage lasts.
 *
 * @example
 *   backoffDelay(0, [0, 1_000]) // 0
 *   backoffDelay(3, [0, 1_000]) // 4_000 (1 s doubled twice past the steps)
 *   backoffDelay(50, [0, 1_000]) // 30_000
 */

/** Longest pause between two reconnect attempts, whatever an adapter is configured with. */
export const MAX_BACKOFF_MS = 30_000;

/** Doubling starts from this when the configured steps end in 0 (a hot loop otherwise). */
const MIN_DOUBLING_BASE_MS = 1_000;

/** Pause before retry number `attempt` (0 = the first retry). */
export function backoffDelay(attempt: number, steps: readonly number[], capMs = MAX_BACKOFF_MS): number {
  const cap = Math.min(Math.max(0, capMs), MAX_BACKOFF_MS);
  const n = Math.max(0, Math.floor(attempt));
  const step = steps[n];
  if (step !== undefined) return clamp(step, cap);
  const last = steps.at(-1) ?? MIN_DOUBLING_BASE_MS;
  const base = last > 0 ? last : MIN_DOUBLING_BASE_MS;
  // Past 2^30 the product is long past any cap; stop multiplying before it overflows to Infinity.
  const doublings = Math.min(30, n - steps.length + 1);
  return clamp(base * 2 ** doublings, cap);
}

/** ±20 % so many sessions cut off together do not all come back in the same millisecond; still capped. */
export function jitter(delayMs: number, random: () => number = Math.random): number {
  return clamp(Math.round(delayMs * (0.8 + random() * 0.4)), MAX_BACKOFF_MS);
}

function clamp(ms: number, cap: number): number {
  return Number.isFinite(ms) ? Math.min(cap, Math.max(0, ms)) : cap;
}
