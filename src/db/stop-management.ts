/**
 * Positions whose stop the relay manages (break-even, trailing): one row per (trader, sub-account,
 * contract) while managed, read back at start so management survives a restart. See sql/000009.sql.
 */
import { type Dec, dec, toStr } from "../domain/decimal";
import type { TakeProfitTarget } from "../domain/settings";
import type { StopRules, StopState } from "../domain/stop-rules";
import type { Side } from "../domain/venue/types";
import type { Sql } from "./client";

export interface ManagedRow extends StopState {
  traderId: string;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  side: Side;
  entry: Dec;
  tickSize: Dec;
  stopLossTicks: number;
  rules: StopRules;
  /** The exits, in ticks, the position was protected with. */
  exits: { targets: TakeProfitTarget[]; stopLossTicks: number };
  reprotects: number;
  /** When the managed position opened (positions.opened_at). */
  openedAt: Date | null;
  armedAt: Date;
}

export type ManagedKey = Pick<ManagedRow, "traderId" | "brokerAccountId" | "contract">;

function rowOf(r: Record<string, unknown>): ManagedRow {
  return {
    traderId: r.trader_id as string,
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    side: r.side as Side,
    entry: dec(r.entry_price as string),
    tickSize: dec(r.tick_size as string),
    stopLossTicks: r.stop_loss_ticks as number,
    rules: r.rules as StopRules,
    exits: r.exits as ManagedRow["exits"],
    best: dec(r.best_price as string),
    stop: dec(r.stop_price as string),
    breakEvenDone: r.break_even_done as boolean,
    reprotects: r.reprotects as number,
    openedAt: (r.position_opened_at as Date | null) ?? null,
    armedAt: r.armed_at as Date,
  };
}

export async function managedStop(sql: Sql, k: ManagedKey): Promise<ManagedRow | undefined> {
  const [row] = await sql`
    select * from stop_management
     where trader_id = ${k.traderId} and broker_account_id = ${k.brokerAccountId} and contract = ${k.contract}`;
  return row ? rowOf(row as Record<string, unknown>) : undefined;
}

export async function allManagedStops(sql: Sql): Promise<ManagedRow[]> {
  const rows = await sql`select * from stop_management order by armed_at`;
  return rows.map((r) => rowOf(r as Record<string, unknown>));
}

/** Writes a whole row (arming, re-arming after an add). */
export async function saveManagedStop(sql: Sql, m: ManagedRow): Promise<void> {
  await sql`
    insert into stop_management (trader_id, account_id, broker_account_id, contract, side, entry_price, tick_size,
                                 stop_loss_ticks, rules, exits, best_price, stop_price, break_even_done, reprotects, position_opened_at, armed_at)
    values (${m.traderId}, ${m.accountId}, ${m.brokerAccountId}, ${m.contract}, ${m.side}, ${toStr(m.entry)}::numeric,
            ${toStr(m.tickSize)}::numeric, ${m.stopLossTicks}, ${sql.json(m.rules as never)},
            ${sql.json(m.exits as never)}, ${toStr(m.best)}::numeric, ${toStr(m.stop)}::numeric, ${m.breakEvenDone}, ${m.reprotects}, ${m.openedAt}, ${m.armedAt})
    on conflict (trader_id, broker_account_id, contract) do update set
      account_id = excluded.account_id, side = excluded.side, entry_price = excluded.entry_price,
      tick_size = excluded.tick_size, stop_loss_ticks = excluded.stop_loss_ticks, rules = excluded.rules, exits = excluded.exits,
      best_price = excluded.best_price, stop_price = excluded.stop_price,
      break_even_done = excluded.break_even_done, reprotects = excluded.reprotects, armed_at = excluded.armed_at, position_opened_at = excluded.position_opened_at,
      updated_at = now()`;
}

/** The quote-driven part: best price, stop and break-even, after a move (or a new best worth keeping). */
export async function saveStopState(
  sql: Sql,
  k: ManagedKey,
  s: StopState & { reprotects?: number },
): Promise<void> {
  await sql`
    update stop_management set best_price = ${toStr(s.best)}::numeric, stop_price = ${toStr(s.stop)}::numeric,
           break_even_done = ${s.breakEvenDone}, reprotects = coalesce(${s.reprotects ?? null}::int, reprotects),
           updated_at = now()
     where trader_id = ${k.traderId} and broker_account_id = ${k.brokerAccountId} and contract = ${k.contract}`;
}

export async function dropManagedStop(sql: Sql, k: ManagedKey): Promise<void> {
  await sql`
    delete from stop_management
     where trader_id = ${k.traderId} and broker_account_id = ${k.brokerAccountId} and contract = ${k.contract}`;
}

/** Our stop order's row follows a modify the broker accepted (its new trigger price). */
export async function setOrderStopPrice(sql: Sql, clientOrderId: string, stopPrice: Dec): Promise<void> {
  await sql`
    update broker_orders set stop_price = ${toStr(stopPrice)}::numeric, updated_at = clock_timestamp()
     where client_order_id = ${clientOrderId}`;
}
