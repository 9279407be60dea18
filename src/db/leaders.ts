/**
 * Leader copying (issue 14): which sub-account leads which recorder, the leader's own position per
 * contract, and the one transaction that records a leader fill as a signal.
 */
import type { Sql, Tx } from "./client";
import { type AcceptResult, acceptSignal } from "./signals";

export interface LeaderRow {
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
  createdAt: Date;
  updatedAt: Date;
}

const toRow = (r: Record<string, unknown>): LeaderRow => ({
  recorderId: r.recorder_id as string,
  accountId: r.account_id as string,
  brokerAccountId: r.broker_account_id as string,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

/** Leaders of recorders that are not deleted, on logins that are not deleted. */
export async function listLeaders(sql: Sql): Promise<LeaderRow[]> {
  const rows = await sql`
    select l.* from recorder_leaders l
      join recorders r on r.id = l.recorder_id and r.deleted_at is null
      join accounts a on a.id = l.account_id and a.deleted_at is null`;
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

export async function getLeader(sql: Sql, recorderId: string): Promise<LeaderRow | undefined> {
  const [row] = await sql`select * from recorder_leaders where recorder_id = ${recorderId}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

/** Sets (or moves) a recorder's leader. Throws code RL001 when the sub-account follows the recorder. */
export async function setLeader(
  sql: Sql,
  l: { recorderId: string; accountId: string; brokerAccountId: string },
): Promise<LeaderRow> {
  return sql.begin(async (tx) => {
    const [old] =
      await tx`select account_id, broker_account_id from recorder_leaders where recorder_id = ${l.recorderId}`;
    // A new leader starts from its own position, read at its first fill: the old one's is forgotten.
    if (old && (old.account_id !== l.accountId || old.broker_account_id !== l.brokerAccountId))
      await tx`delete from leader_positions where recorder_id = ${l.recorderId}`;
    const [row] = await tx`
      insert into recorder_leaders (recorder_id, account_id, broker_account_id)
      values (${l.recorderId}, ${l.accountId}, ${l.brokerAccountId})
      on conflict (recorder_id) do update
        set account_id = excluded.account_id, broker_account_id = excluded.broker_account_id, updated_at = now()
      returning *`;
    return toRow(row as Record<string, unknown>);
  }) as Promise<LeaderRow>;
}

export async function removeLeader(sql: Sql, recorderId: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`delete from leader_positions where recorder_id = ${recorderId}`;
    const rows =
      await tx`delete from recorder_leaders where recorder_id = ${recorderId} returning recorder_id`;
    return rows.length > 0;
  }) as Promise<boolean>;
}

/** The leader's position last recorded for the contract (undefined before its first copied fill). */
export async function leaderPosition(
  sql: Sql,
  recorderId: string,
  contract: string,
): Promise<number | undefined> {
  const [row] = await sql`
    select net_qty from leader_positions where recorder_id = ${recorderId} and contract = ${contract}`;
  return row ? Number(row.net_qty) : undefined;
}

/** What the relay's own traders hold on a sub-account in a contract (the rest is the leader's own). */
export async function relayHolding(
  sql: Sql,
  accountId: string,
  brokerAccountId: string,
  contract: string,
): Promise<number> {
  const [row] = await sql`
    select coalesce(sum(net_qty), 0)::int as n from positions
     where account_id = ${accountId} and broker_account_id = ${brokerAccountId} and contract = ${contract}`;
  return Number(row?.n ?? 0);
}

/**
 * Whether a market order of ours on the sub-account and contract is still unbooked (sent, or filled at
 * the broker before its fill is booked): the broker's position and our books disagree until it is.
 */
export async function relayOrderInFlight(
  sql: Sql,
  accountId: string,
  brokerAccountId: string,
  contract: string,
): Promise<boolean> {
  const [row] = await sql`
    select 1 from broker_orders
     where account_id = ${accountId} and broker_account_id = ${brokerAccountId} and contract = ${contract}
       and order_type = 'market' and status in ('sending', 'accepted', 'working', 'unknown')
     limit 1`;
  return !!row;
}

/**
 * Records a leader fill as a signal, in one transaction with the leader's new position: a fill seen
 * again (its alert id exists) is a duplicate and moves nothing.
 */
export async function acceptLeaderSignal(
  sql: Sql,
  a: Parameters<typeof acceptSignal>[1] & { contract: string; leaderAfter: number },
): Promise<AcceptResult> {
  return sql.begin(async (tx: Tx) => {
    const result = await acceptSignal(tx as unknown as Sql, a);
    if (result.outcome !== "accepted") return result;
    await tx`update signals set source = 'leader' where id = ${result.signalId}`;
    await tx`
      insert into leader_positions (recorder_id, contract, net_qty)
      values (${a.recorderId}, ${a.contract}, ${a.leaderAfter})
      on conflict (recorder_id, contract) do update set net_qty = excluded.net_qty, updated_at = now()`;
    return result;
  }) as Promise<AcceptResult>;
}
