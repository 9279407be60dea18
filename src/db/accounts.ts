/** Broker logins. Credentials go in sealed and come out only through `credentialsOf`. */
import type { BrokerKind, Environment } from "../brokers/port";
import type { AccountId } from "../domain/ids";
import type { Sql } from "./client";

export interface BrokerSubAccount {
  id: string;
  name: string;
}

export interface AccountRow {
  id: AccountId;
  name: string;
  broker: BrokerKind;
  environment: Environment;
  brokerAccounts: BrokerSubAccount[];
  status: string;
  statusMessage: string | null;
  /** Daily loss limit of the whole login, in account currency; null = none. */
  maxDailyLoss: string | null;
  tradingDayRoll: string | null;
  tradingDayTimeZone: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS =
  "id, name, broker, environment, broker_accounts, status, status_message, max_daily_loss, trading_day_roll, trading_day_time_zone, created_at, updated_at";

function toRow(r: Record<string, unknown>): AccountRow {
  return {
    id: r.id as AccountId,
    name: r.name as string,
    broker: r.broker as BrokerKind,
    environment: r.environment as Environment,
    brokerAccounts: (r.broker_accounts as BrokerSubAccount[]) ?? [],
    status: r.status as string,
    statusMessage: (r.status_message as string | null) ?? null,
    maxDailyLoss: (r.max_daily_loss as string | null) ?? null,
    tradingDayRoll: (r.trading_day_roll as string | null) ?? null,
    tradingDayTimeZone: (r.trading_day_time_zone as string | null) ?? null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
}

export async function insertAccount(
  sql: Sql,
  a: { id: string; name: string; broker: BrokerKind; environment: Environment; credentials: Buffer },
): Promise<AccountRow> {
  const [row] = await sql.unsafe(
    `insert into accounts (id, name, broker, environment, credentials) values ($1, $2, $3, $4, $5) returning ${COLUMNS}`,
    [a.id, a.name, a.broker, a.environment, a.credentials],
  );
  return toRow(row as Record<string, unknown>);
}

export async function listAccounts(sql: Sql): Promise<AccountRow[]> {
  const rows = await sql.unsafe(
    `select ${COLUMNS} from accounts where deleted_at is null order by created_at`,
  );
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

export async function getAccount(sql: Sql, id: string): Promise<AccountRow | undefined> {
  const rows = await sql.unsafe(`select ${COLUMNS} from accounts where id = $1 and deleted_at is null`, [id]);
  return rows[0] ? toRow(rows[0] as Record<string, unknown>) : undefined;
}

export async function credentialsOf(sql: Sql, id: string): Promise<Buffer | undefined> {
  const [row] = await sql`select credentials from accounts where id = ${id} and deleted_at is null`;
  return row ? (row.credentials as Buffer) : undefined;
}

export async function updateAccount(
  sql: Sql,
  id: string,
  change: { name?: string; environment?: Environment; credentials?: Buffer },
): Promise<AccountRow | undefined> {
  const rows = await sql.unsafe(
    `update accounts set name = coalesce($2, name), environment = coalesce($3, environment),
            credentials = coalesce($4, credentials), updated_at = now()
      where id = $1 and deleted_at is null returning ${COLUMNS}`,
    [id, change.name ?? null, change.environment ?? null, change.credentials ?? null],
  );
  return rows[0] ? toRow(rows[0] as Record<string, unknown>) : undefined;
}

export async function setAccountStatus(
  sql: Sql,
  id: string,
  status: string,
  message: string | null,
  brokerAccounts?: BrokerSubAccount[],
): Promise<void> {
  await sql`
    update accounts set status = ${status}, status_message = ${message},
           broker_accounts = coalesce(${brokerAccounts ? sql.json(brokerAccounts as never) : null}::jsonb, broker_accounts),
           updated_at = now()
     where id = ${id}`;
}

/**
 * Marks a login as being deleted: from now on no trader can be linked to it. False when it does not
 * exist or a delete is already under way.
 */
export async function beginAccountDelete(sql: Sql, id: string): Promise<"begun" | "missing" | "busy"> {
  const [row] = await sql`
    update accounts set deleting_at = case when deleting_at is null then now() else deleting_at end
     where id = ${id} and deleted_at is null
    returning (deleting_at = now()) as mine`;
  if (!row) return "missing";
  return row.mine ? "begun" : "busy";
}

/** A delete that could not finish: the login takes traders again. */
export async function abandonAccountDelete(sql: Sql, id: string): Promise<void> {
  await sql`update accounts set deleting_at = null where id = ${id} and deleted_at is null`;
}

export async function softDeleteAccount(sql: Sql, id: string): Promise<boolean> {
  const rows =
    await sql`update accounts set deleted_at = now() where id = ${id} and deleted_at is null returning id`;
  return rows.length > 0;
}

/** Accounts that at least one enabled trader uses: these sessions are pre-warmed. */
export async function accountsInUse(sql: Sql): Promise<AccountId[]> {
  const rows = await sql`
    select distinct a.id from accounts a join traders t on t.account_id = a.id
     where a.deleted_at is null and t.deleted_at is null and t.enabled`;
  return rows.map((r) => r.id as AccountId);
}
