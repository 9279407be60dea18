/**
 * SQL of the prop-firm rules (sql/000010.sql): the rules lists, the trailing floors, the rule breaches,
 * and disabling a failed sub-account's traders.
 */
import type { Sql } from "../db/client";
import { type Dec, dec, toStr } from "../domain/decimal";
import type { TrailState } from "../domain/prop-rules";
import type { PropRulesInput } from "../domain/prop-settings";

export type PropRuleName = "trailingDrawdown" | "dailyProfitTarget" | "dailyLossLimit";

/** Every login's `propRules` list, in the order given. */
export async function loadPropRules(sql: Sql): Promise<Map<string, PropRulesInput[]>> {
  const rows = await sql`
    select p.account_id, p.rules from prop_rules p join accounts a on a.id = p.account_id
     where a.deleted_at is null order by p.account_id, p.position`;
  const out = new Map<string, PropRulesInput[]>();
  for (const r of rows) {
    const list = out.get(r.account_id as string) ?? [];
    list.push(r.rules as PropRulesInput);
    out.set(r.account_id as string, list);
  }
  return out;
}

/** Replaces a login's list (validated by `propRulesSchema` first); the trigger wakes every relay. */
export async function savePropRules(sql: Sql, accountId: string, list: PropRulesInput[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`delete from prop_rules where account_id = ${accountId}`;
    for (const [i, e] of list.entries())
      await tx`
        insert into prop_rules (account_id, broker_account_id, position, rules)
        values (${accountId}, ${e.brokerAccountId ?? ""}, ${i}, ${tx.json(e as never)})`;
  });
}

export interface TrailRow extends TrailState {
  accountId: string;
  brokerAccountId: string;
  basis: string;
  /** The last trading day the trail saw. */
  tradingDay: string | null;
}

export async function loadTrails(sql: Sql): Promise<TrailRow[]> {
  const rows = await sql`
    select account_id, broker_account_id, basis, high_water, floor, to_char(trading_day, 'YYYY-MM-DD') as day
      from prop_trail`;
  return rows.map((r) => ({
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    basis: r.basis as string,
    highWater: dec(r.high_water as string),
    floor: dec(r.floor as string),
    tradingDay: (r.day as string | null) ?? null,
  }));
}

/**
 * Stores the floor. A row of the same basis only ever moves up (two relays, or a late write, can never
 * lower a floor); a new basis replaces the row.
 */
export async function saveTrail(sql: Sql, t: TrailRow): Promise<void> {
  await sql`
    insert into prop_trail (account_id, broker_account_id, basis, high_water, floor, trading_day)
    values (${t.accountId}, ${t.brokerAccountId}, ${t.basis}, ${toStr(t.highWater)}::numeric,
            ${toStr(t.floor)}::numeric, ${t.tradingDay}::date)
    on conflict (account_id, broker_account_id) do update set
      high_water = case when prop_trail.basis = excluded.basis
                        then greatest(prop_trail.high_water, excluded.high_water) else excluded.high_water end,
      floor = case when prop_trail.basis = excluded.basis
                   then greatest(prop_trail.floor, excluded.floor) else excluded.floor end,
      trading_day = case when prop_trail.basis = excluded.basis
                         then greatest(prop_trail.trading_day, excluded.trading_day) else excluded.trading_day end,
      basis = excluded.basis, updated_at = now()`;
}

export interface PropBreachRow {
  id: string;
  accountId: string;
  brokerAccountId: string;
  rule: PropRuleName;
  action: "pause" | "flatten" | "fail";
  tradingDay: string;
  message: string;
  equity: Dec;
  threshold: Dec;
  breachedAt: Date;
  status: string;
  attempts: number;
  flattenedAt: Date | null;
  tradersDisabledAt: Date | null;
}

const COLUMNS =
  "id, account_id, broker_account_id, rule, action, to_char(trading_day, 'YYYY-MM-DD') as day, message, equity, threshold, breached_at, status, attempts, flattened_at, traders_disabled_at";

function toRow(r: Record<string, unknown>): PropBreachRow {
  return {
    id: String(r.id),
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    rule: r.rule as PropRuleName,
    action: r.action as PropBreachRow["action"],
    tradingDay: r.day as string,
    message: r.message as string,
    equity: dec(r.equity as string),
    threshold: dec(r.threshold as string),
    breachedAt: r.breached_at as Date,
    status: r.status as string,
    attempts: r.attempts as number,
    flattenedAt: (r.flattened_at as Date | null) ?? null,
    tradersDisabledAt: (r.traders_disabled_at as Date | null) ?? null,
  };
}

/** Records the breach once per sub-account, rule and day; a second detection returns the first row. */
export async function insertPropBreach(
  sql: Sql,
  b: Omit<PropBreachRow, "id" | "status" | "attempts" | "flattenedAt" | "tradersDisabledAt">,
): Promise<PropBreachRow> {
  const [inserted] = await sql`
    insert into prop_breaches (account_id, broker_account_id, rule, action, trading_day, message, equity,
                               threshold, breached_at, status)
    values (${b.accountId}, ${b.brokerAccountId}, ${b.rule}, ${b.action}, ${b.tradingDay}::date, ${b.message},
            ${toStr(b.equity)}::numeric, ${toStr(b.threshold)}::numeric, ${b.breachedAt},
            ${b.action === "pause" ? "paused" : "detected"})
    on conflict do nothing
    returning ${sql.unsafe(COLUMNS)}`;
  if (inserted) return toRow(inserted as Record<string, unknown>);
  const [existing] = await sql`
    select ${sql.unsafe(COLUMNS)} from prop_breaches
     where account_id = ${b.accountId} and broker_account_id = ${b.brokerAccountId} and rule = ${b.rule}
       and trading_day = ${b.tradingDay}::date`;
  if (!existing) throw new Error("prop breach neither inserted nor found");
  return toRow(existing as Record<string, unknown>);
}

export async function updatePropBreach(
  sql: Sql,
  id: string,
  u: {
    status?: string;
    attempts?: number;
    lastError?: string | null;
    flattenedAt?: Date;
    tradersDisabledAt?: Date;
  },
): Promise<void> {
  await sql`
    update prop_breaches set status = coalesce(${u.status ?? null}, status),
           attempts = coalesce(${u.attempts ?? null}, attempts),
           last_error = coalesce(${u.lastError ?? null}, last_error),
           flattened_at = coalesce(${u.flattenedAt ?? null}, flattened_at),
           traders_disabled_at = coalesce(${u.tradersDisabledAt ?? null}, traders_disabled_at),
           updated_at = now()
     where id = ${id}`;
}

export async function loadPropBreaches(sql: Sql, sinceDay: string): Promise<PropBreachRow[]> {
  const rows = await sql`
    select ${sql.unsafe(COLUMNS)} from prop_breaches where trading_day >= ${sinceDay}::date order by id`;
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

/** Disables every trader on the sub-account (a failed plan); they stay off until re-enabled by hand. */
export async function disableTraders(
  sql: Sql,
  accountId: string,
  brokerAccountId: string,
): Promise<string[]> {
  const rows = await sql`
    update traders set enabled = false, updated_at = now()
     where account_id = ${accountId} and broker_account_id = ${brokerAccountId} and deleted_at is null
       and enabled
    returning id`;
  return rows.map((r) => r.id as string);
}
