/** Links recorder -> account (+ broker sub-account) with multiplier, limits and overrides. */
import { type Dec, dec, toStr } from "../domain/decimal";
import type { AccountId, BrokerAccountId, RecorderId, TraderId } from "../domain/ids";
import { type TraderOverrides, traderOverridesSchema } from "../domain/settings";
import type { Sql } from "./client";

export interface TraderRow {
  id: TraderId;
  recorderId: RecorderId;
  accountId: AccountId;
  brokerAccountId: BrokerAccountId;
  multiplier: Dec;
  enabled: boolean;
  maxDailyLoss: Dec | null;
  overrides: TraderOverrides;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS =
  "id, recorder_id, account_id, broker_account_id, multiplier, enabled, max_daily_loss, overrides, created_at, updated_at";

function toRow(r: Record<string, unknown>): TraderRow {
  return {
    id: r.id as TraderId,
    recorderId: r.recorder_id as RecorderId,
    accountId: r.account_id as AccountId,
    brokerAccountId: r.broker_account_id as BrokerAccountId,
    multiplier: dec(r.multiplier as string),
    enabled: r.enabled as boolean,
    maxDailyLoss: r.max_daily_loss === null ? null : dec(r.max_daily_loss as string),
    overrides: traderOverridesSchema.parse(r.overrides ?? {}),
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
}

export interface TraderInput {
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
  multiplier: Dec;
  enabled: boolean;
  maxDailyLoss: Dec | null;
  overrides: TraderOverrides;
}

/**
 * Links a recorder to an account; undefined when the account is gone or being deleted (its row is read
 * `for share`, so a delete that has begun is seen, and one that begins later sees this trader).
 */
export async function insertTrader(sql: Sql, t: TraderInput): Promise<TraderRow | undefined> {
  const [row] = await sql`
    insert into traders (recorder_id, account_id, broker_account_id, multiplier, enabled, max_daily_loss, overrides)
    select ${t.recorderId}, a.id, ${t.brokerAccountId}, ${toStr(t.multiplier)}, ${t.enabled},
           ${t.maxDailyLoss === null ? null : toStr(t.maxDailyLoss)}, ${sql.json(t.overrides as never)}
      from (select id from accounts where id = ${t.accountId} and deleted_at is null and deleting_at is null
              for share) a
    returning ${sql.unsafe(COLUMNS)}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

export async function listTraders(
  sql: Sql,
  filter: { recorderId?: string; accountId?: string } = {},
): Promise<TraderRow[]> {
  const rows = await sql`
    select ${sql.unsafe(COLUMNS)} from traders
     where deleted_at is null
       and (${filter.recorderId ?? null}::uuid is null or recorder_id = ${filter.recorderId ?? null})
       and (${filter.accountId ?? null}::uuid is null or account_id = ${filter.accountId ?? null})
     order by created_at, id`;
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

export async function getTrader(sql: Sql, id: string): Promise<TraderRow | undefined> {
  const [row] = await sql`select ${sql.unsafe(COLUMNS)} from traders where id = ${id} and deleted_at is null`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

/** Every trader ever linked, deleted ones included, for resuming and reporting old executions. */
export async function getTraderAnyState(sql: Sql, id: string): Promise<TraderRow | undefined> {
  const [row] = await sql`select ${sql.unsafe(COLUMNS)} from traders where id = ${id}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

export async function updateTrader(
  sql: Sql,
  id: string,
  change: {
    multiplier?: Dec;
    enabled?: boolean;
    maxDailyLoss?: Dec | null;
    overrides?: TraderOverrides;
    brokerAccountId?: string;
  },
): Promise<TraderRow | undefined> {
  const clearLoss = change.maxDailyLoss === null;
  const [row] = await sql`
    update traders set
           multiplier = coalesce(${change.multiplier === undefined ? null : toStr(change.multiplier)}::numeric, multiplier),
           enabled = coalesce(${change.enabled ?? null}, enabled),
           max_daily_loss = case when ${clearLoss} then null
                                 else coalesce(${change.maxDailyLoss ? toStr(change.maxDailyLoss) : null}::numeric, max_daily_loss) end,
           overrides = coalesce(${change.overrides ? sql.json(change.overrides as never) : null}::jsonb, overrides),
           broker_account_id = coalesce(${change.brokerAccountId ?? null}, broker_account_id),
           updated_at = now()
     where id = ${id} and deleted_at is null
    returning ${sql.unsafe(COLUMNS)}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

export async function softDeleteTrader(sql: Sql, id: string): Promise<boolean> {
  const rows =
    await sql`update traders set deleted_at = now(), enabled = false where id = ${id} and deleted_at is null returning id`;
  return rows.length > 0;
}

export async function countActiveTraders(
  sql: Sql,
  by: { recorderId?: string; accountId?: string },
): Promise<number> {
  const [row] = await sql`
    select count(*)::int as n from traders
     where deleted_at is null
       and (${by.recorderId ?? null}::uuid is null or recorder_id = ${by.recorderId ?? null})
       and (${by.accountId ?? null}::uuid is null or account_id = ${by.accountId ?? null})`;
  return (row?.n as number) ?? 0;
}

/** What a trader still has at the broker or in flight: a delete must not leave any of it unmanaged. */
export interface Holdings {
  positions: { contract: string; netQty: number }[];
  /** Our working orders (exits, resting entries) and orders whose fate is open. */
  orders: number;
  /** Executions pending, running or waiting for the broker. */
  executions: number;
}

export async function traderHoldings(sql: Sql, traderId: string): Promise<Holdings> {
  const [row] = await sql`
    select coalesce((select json_agg(json_build_object('contract', contract, 'netQty', net_qty) order by contract)
                       from positions where trader_id = ${traderId} and net_qty <> 0), '[]') as positions,
           (select count(*)::int from broker_orders
             where trader_id = ${traderId} and status in ('sending', 'accepted', 'working', 'unknown')) as orders,
           (select count(*)::int from executions
             where trader_id = ${traderId} and status in ('pending', 'running', 'waiting_for_broker')) as executions`;
  return {
    positions: (row?.positions as Holdings["positions"]) ?? [],
    orders: (row?.orders as number) ?? 0,
    executions: (row?.executions as number) ?? 0,
  };
}

export const holdsAnything = (h: Holdings) => h.positions.length > 0 || h.orders > 0;
