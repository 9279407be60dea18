/**
 * Account ownership across relays (issue 16): one relay holds an account's broker session, through a lease
 * in `account_owners`, so a login never has more sessions than its broker allows however many relays run.
 * Live relays share the accounts: each claims lapsed or released ones up to its fair share.
 */
import type { Sql } from "./client";

export interface OwnershipTick {
  /** Accounts this relay holds after the tick (renewed and newly claimed). */
  owned: string[];
  /** ceil(accounts / live relays): what each relay should hold. */
  share: number;
  liveRelays: number;
}

const lease = (ms: number) => `clock_timestamp() + make_interval(secs => ${Math.floor(ms)} / 1000.0)`;

/**
 * One beat: the relay's heartbeat, its leases renewed, and accounts nobody holds claimed up to its fair
 * share (`skip locked`: two relays claiming at once take different rows).
 */
export async function ownershipTick(
  sql: Sql,
  relay: string,
  leaseMs: number,
  claim = true,
): Promise<OwnershipTick> {
  return sql.begin(async (tx) => {
    await tx.unsafe(
      `insert into relays (id, seen_at, lease_until) values ($1, clock_timestamp(), ${lease(leaseMs)})
       on conflict (id) do update set seen_at = excluded.seen_at, lease_until = excluded.lease_until`,
      [relay],
    );
    // Every live account gets a row, so it can be claimed like a released one; a new account is left a
    // moment to the relay that created it (its first use claims it and logs in).
    await tx`
      insert into account_owners (account_id)
      select a.id from accounts a where a.deleted_at is null and a.created_at < now() - interval '10 seconds'
         and not exists (select 1 from account_owners o where o.account_id = a.id)
      on conflict do nothing`;
    // In account order, as every multi-row lock of account_owners is taken: no deadlocks.
    const renewed = await tx.unsafe(
      `update account_owners o set lease_until = ${lease(leaseMs)}
         from (select account_id from account_owners where relay = $1 order by account_id for update) l
        where o.account_id = l.account_id
       returning o.account_id`,
      [relay],
    );
    const [counts] = await tx`
      select (select count(*) from relays where lease_until > clock_timestamp())::int as live,
             (select count(*) from accounts where deleted_at is null)::int as accounts`;
    const live = Math.max(1, (counts?.live as number) ?? 1);
    const share = Math.ceil(((counts?.accounts as number) ?? 0) / live);
    const room = claim ? Math.max(0, share - renewed.length) : 0;
    const claimed =
      room === 0
        ? []
        : await tx.unsafe(
            `update account_owners o set relay = $1, lease_until = ${lease(leaseMs)}, since = clock_timestamp()
               from (select x.account_id from account_owners x join accounts a on a.id = x.account_id
                      where a.deleted_at is null and (x.relay is null or x.lease_until < clock_timestamp())
                      order by x.account_id for update of x skip locked limit $2) c
              where o.account_id = c.account_id
             returning o.account_id`,
            [relay, room],
          );
    return {
      owned: [...renewed, ...claimed].map((r) => r.account_id as string),
      share,
      liveRelays: live,
    };
  });
}

/**
 * Claims one account for this relay now (a first use: a trader just created, an execution to run), unless
 * another live relay holds it. Returns the holder: this relay, or the other one.
 */
export async function claimAccount(
  sql: Sql,
  relay: string,
  accountId: string,
  leaseMs: number,
): Promise<string> {
  const [row] = await sql.unsafe(
    `insert into account_owners as o (account_id, relay, lease_until, since)
     values ($2, $1, ${lease(leaseMs)}, clock_timestamp())
     on conflict (account_id) do update set relay = excluded.relay, lease_until = excluded.lease_until,
            since = case when o.relay = excluded.relay then o.since else excluded.since end
      where o.relay is null or o.relay = excluded.relay or o.lease_until < clock_timestamp()
     returning o.relay`,
    [relay, accountId],
  );
  if (row) return row.relay as string;
  const [holder] = await sql`select relay from account_owners where account_id = ${accountId}`;
  return (holder?.relay as string | undefined) ?? relay;
}

/** Gives accounts up (an idle relay over its share, or a relay stopping): another relay claims them. */
export async function releaseAccounts(sql: Sql, relay: string, accountIds: string[]): Promise<void> {
  if (accountIds.length === 0) return;
  await sql.begin(async (tx) => {
    await tx`
      update account_owners o set relay = null, lease_until = null, since = null
        from (select account_id from account_owners
               where account_id = any(${accountIds}::uuid[]) and relay = ${relay}
               order by account_id for update) l
       where o.account_id = l.account_id`;
    // Work already assigned here for them is the next owner's to claim at once, not after a lease.
    await tx`
      update executions set lease_until = null
       where account_id = any(${accountIds}::uuid[]) and claimed_by = ${relay}
         and status in ('pending', 'running', 'waiting_for_broker')`;
  });
}

/**
 * An admin action on `toRelay` needs the account's session there (a delete that flattens): its holder
 * hands it over once nothing of it is running (src/sessions/ownership.ts handOver).
 */
export async function askHandover(sql: Sql, accountId: string, toRelay: string): Promise<void> {
  await sql`select pg_notify('relay_handover', ${`${toRelay} ${accountId}`})`;
}

/** An account's credentials or environment changed, or it was deleted: its holder logs in again (or out). */
export async function announceSessionReset(sql: Sql, accountId: string, fromRelay: string): Promise<void> {
  await sql`select pg_notify('relay_session_reset', ${`${fromRelay} ${accountId}`})`;
}

/**
 * A `relay_handover` or `relay_session_reset` payload: the relay it names (the one asking for the account,
 * or the one that reset its own session already) and the account.
 */
export function parseRelayNotice(payload: string): { relay: string; accountId: string } {
  const at = payload.lastIndexOf(" ");
  return { relay: payload.slice(0, at), accountId: payload.slice(at + 1) };
}

/** A relay stopping: its heartbeat ends now, so the others' shares grow at once. */
export async function leaveRelays(sql: Sql, relay: string): Promise<void> {
  await sql`delete from relays where id = ${relay}`;
}

export interface OwnerRow {
  accountId: string;
  relay: string | null;
  leaseUntil: Date | null;
  live: boolean;
}

export async function listOwners(sql: Sql): Promise<OwnerRow[]> {
  const rows = await sql`
    select account_id, relay, lease_until, coalesce(lease_until > clock_timestamp(), false) as live
      from account_owners order by account_id`;
  return rows.map((r) => ({
    accountId: r.account_id as string,
    relay: (r.relay as string | null) ?? null,
    leaseUntil: (r.lease_until as Date | null) ?? null,
    live: r.live as boolean,
  }));
}

export interface RelayRow {
  id: string;
  startedAt: Date;
  seenAt: Date;
  live: boolean;
  accounts: number;
}

export async function listRelays(sql: Sql): Promise<RelayRow[]> {
  const rows = await sql`
    select r.id, r.started_at, r.seen_at, r.lease_until > clock_timestamp() as live,
           (select count(*) from account_owners o where o.relay = r.id and o.lease_until > clock_timestamp())::int
             as accounts
      from relays r order by r.id`;
  return rows.map((r) => ({
    id: r.id as string,
    startedAt: r.started_at as Date,
    seenAt: r.seen_at as Date,
    live: r.live as boolean,
    accounts: r.accounts as number,
  }));
}
