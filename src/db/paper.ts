/** Persisted book of each paper account's venue, versioned so two relays never silently overwrite each other. */
import type { Sql } from "./client";

export interface SavedPaperBook {
  state: string;
  version: number;
  /** The trading day whose realized P&L the book holds. */
  tradingDay: string | null;
}

export async function loadPaperState(sql: Sql, accountId: string): Promise<SavedPaperBook | undefined> {
  const [row] = await sql`
    select state::text as state, version, trading_day from paper_state where account_id = ${accountId}`;
  return row
    ? {
        state: row.state as string,
        version: Number(row.version),
        tradingDay: (row.trading_day as string | null) ?? null,
      }
    : undefined;
}

export async function paperVersion(sql: Sql, accountId: string): Promise<number> {
  const [row] = await sql`select version from paper_state where account_id = ${accountId}`;
  return row ? Number(row.version) : 0;
}

/** Saves if the stored version is still `expected`; returns the new version, or undefined on a conflict. */
export async function savePaperState(
  sql: Sql,
  accountId: string,
  stateJson: string,
  expected: number,
  tradingDay: string,
): Promise<number | undefined> {
  const rows = await sql`
    insert into paper_state (account_id, state, version, trading_day)
    values (${accountId}, ${stateJson}::text::jsonb, 1, ${tradingDay})
    on conflict (account_id) do update set state = excluded.state, version = paper_state.version + 1,
           trading_day = excluded.trading_day, updated_at = now()
      where paper_state.version = ${expected}
    returning version`;
  return rows[0] ? Number(rows[0].version) : undefined;
}
