/**
 * Database errors that say "try again", not "this is wrong": a lost connection, a deadlock, a
 * serialization failure, a server restarting or out of connections.
 */
const CODES = new Set([
  "40P01", // deadlock detected
  "40001", // serialization failure
  "57P01", // admin shutdown
  "57P02", // crash shutdown
  "57P03", // cannot connect now
  "53300", // too many connections
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
]);

export function isTransientDbError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && (CODES.has(code) || code.startsWith("08"));
}

/** Runs database work again after a short pause when it failed for a transient reason. */
export async function retryTransient<T>(work: () => Promise<T>, delaysMs = [20, 100, 400]): Promise<T> {
  for (const delay of delaysMs) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientDbError(error)) throw error;
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    }
  }
  return work();
}
