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
    prepare: true,
    transform: { undefined: null },
    connection: { application_name: options.appName ?? "relay" },
    onnotice: (notice) => logger.debug({ event: "PostgresNotice", notice: notice.message }),
  });
}
