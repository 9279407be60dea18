/**
 * The postgres.js connection used everywhere. Numeric columns stay strings (parsed into exact decimals by
 * the repositories); bigint ids come back as strings too, so nothing is silently rounded.
 */
import postgres from "postgres";
import type { Logger } from "../log";

export type Sql = postgres.Sql<Record<string, unknown>>;
export type Tx = postgres.TransactionSql<Record<string, unknown>>;

export function connect(url: string, logger: Logger, options: { max?: number; appName?: string } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 20,
    idle_timeout: 60,
    connect_timeout: 5,
    // The driver's default back-off grows to 20 s per connection after an outage; a relay must be back
    // within TradingView's 3 s window, so reconnects are tried again after at most half a second.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5),
    prepare: true,
    transform: { undefined: null },
    connection: { application_name: options.appName ?? "relay" },
    onnotice: (notice) => logger.debug({ event: "PostgresNotice", notice: notice.message }),
  });
}

/**
 * FROM clause that makes the statement's own transaction commit without waiting for the WAL flush.
 *
 * Used only for the executor's bookkeeping (stored plan, order intents, order states, execution result),
 * never for the intake commit or for fills. It is safe because WAL is written in order: any later durable
 * commit makes these durable too, and if a crash loses them, the execution is resumed in
 * ask-the-broker-first mode with the same deterministic client order ids, so nothing is sent twice.
 */
export const ASYNC_COMMIT = "(select set_config('synchronous_commit', 'off', true)) as async_commit";
