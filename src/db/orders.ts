/**
 * Broker orders and fills. An order row is written (status `sending`) before the order leaves, keyed by
 * its deterministic client order id; a fill is applied to the order and to the trader's position in one
 * transaction, once per fill key, however many times it is reported.
 */
import { add, type Dec, dec, div, times, toStr } from "../domain/decimal";
import { applyFill, type BookPosition } from "../domain/position";
import type { Side } from "../domain/venue/types";
import type { Sql } from "./client";

export type OrderStatus =
  | "sending"
  | "accepted"
  | "working"
  | "filled"
  | "cancelled"
  | "rejected"
  | "unknown";

export interface OrderIntent {
  clientOrderId: string;
  executionId: string | null;
  traderId: string | null;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  leg: string;
  side: Side;
  type: "market" | "limit" | "stop";
  qty: number;
  price?: Dec;
  stopPrice?: Dec;
}

export interface OrderRow extends OrderIntent {
  status: OrderStatus;
  brokerOrderId: string | null;
  filledQty: number;
  fillPrice: Dec | null;
  reason: string | null;
}

function toRow(r: Record<string, unknown>): OrderRow {
  return {
    clientOrderId: r.client_order_id as string,
    executionId: r.execution_id as string | null,
    traderId: r.trader_id as string | null,
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    leg: r.leg as string,
    side: r.side as Side,
    type: r.order_type as OrderIntent["type"],
    qty: r.qty as number,
    ...(r.price !== null ? { price: dec(r.price as string) } : {}),
    ...(r.stop_price !== null ? { stopPrice: dec(r.stop_price as string) } : {}),
    status: r.status as OrderStatus,
    brokerOrderId: r.broker_order_id as string | null,
    filledQty: r.filled_qty as number,
    fillPrice: r.fill_price === null ? null : dec(r.fill_price as string),
    reason: r.reason as string | null,
  };
}

/** Records an order about to be sent; returns the existing row instead if this id was sent before. */
export async function insertIntent(sql: Sql, i: OrderIntent): Promise<{ row: OrderRow; existed: boolean }> {
  const inserted = await sql`
    insert into broker_orders (client_order_id, execution_id, trader_id, account_id, broker_account_id, contract, leg,
                               side, order_type, qty, price, stop_price, status)
    values (${i.clientOrderId}, ${i.executionId}, ${i.traderId}, ${i.accountId}, ${i.brokerAccountId}, ${i.contract},
            ${i.leg}, ${i.side}, ${i.type}, ${i.qty}, ${i.price === undefined ? null : toStr(i.price)},
            ${i.stopPrice === undefined ? null : toStr(i.stopPrice)}, 'sending')
    on conflict (client_order_id) do nothing
    returning *`;
  if (inserted[0]) return { row: toRow(inserted[0] as Record<string, unknown>), existed: false };
  const [existing] = await sql`select * from broker_orders where client_order_id = ${i.clientOrderId}`;
  return { row: toRow(existing as Record<string, unknown>), existed: true };
}

export async function markOrder(
  sql: Sql,
  clientOrderId: string,
  m: { status: OrderStatus; brokerOrderId?: string | null; reason?: string | null; raw?: unknown },
): Promise<void> {
  // A fill can land before the acknowledgment is written; never move a filled order back.
  await sql`
    update broker_orders set
           status = case when status = 'filled' and ${m.status} in ('accepted', 'working', 'sending', 'unknown')
                         then status else ${m.status} end,
           broker_order_id = coalesce(${m.brokerOrderId ?? null}, broker_order_id),
           reason = coalesce(${m.reason ?? null}, reason),
           raw = coalesce(${m.raw === undefined ? null : sql.json(m.raw as never)}::jsonb, raw),
           updated_at = clock_timestamp()
     where client_order_id = ${clientOrderId}`;
}

export async function orderByClientId(sql: Sql, clientOrderId: string): Promise<OrderRow | undefined> {
  const [row] = await sql`select * from broker_orders where client_order_id = ${clientOrderId}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

export async function orderByBrokerId(
  sql: Sql,
  accountId: string,
  brokerOrderId: string,
): Promise<OrderRow | undefined> {
  const [row] = await sql`
    select * from broker_orders where account_id = ${accountId} and broker_order_id = ${brokerOrderId}`;
  return row ? toRow(row as Record<string, unknown>) : undefined;
}

/** The trader's live exit orders (take-profits and stops) in a contract: only ones the relay placed. */
export async function liveOrders(
  sql: Sql,
  key: { traderId: string; brokerAccountId: string; contract: string },
  kind: "exits" | "entries",
): Promise<OrderRow[]> {
  const rows = await sql`
    select * from broker_orders
     where trader_id = ${key.traderId} and broker_account_id = ${key.brokerAccountId} and contract = ${key.contract}
       and status in ('sending', 'accepted', 'working', 'unknown')
       and (case when ${kind} = 'exits' then leg ~ '^(tp|sl)[0-9]+$' else leg in ('entry', 'add') and order_type <> 'market' end)
     order by id`;
  return rows.map((r) => toRow(r as Record<string, unknown>));
}

export interface FillReport {
  accountId: string;
  /** Unique per fill at this account (broker fill id, or order id + cumulative quantity). */
  fillKey: string;
  clientOrderId: string;
  qty: number;
  price: Dec;
  at: Date;
  valuePerPoint: Dec;
}

export interface AppliedFill {
  order: OrderRow;
  position: BookPosition;
  realized: Dec;
}

/**
 * Applies one fill to its order and to the trader's position, exactly once. Returns undefined when the
 * fill was already counted or the order is not one of ours.
 */
export async function applyOrderFill(sql: Sql, f: FillReport): Promise<AppliedFill | undefined> {
  return sql.begin(async (tx) => {
    const fresh = await tx`
      insert into broker_fills (account_id, fill_key, client_order_id, qty, price, at)
      values (${f.accountId}, ${f.fillKey}, ${f.clientOrderId}, ${f.qty}, ${toStr(f.price)}, ${f.at})
      on conflict do nothing returning fill_key`;
    if (fresh.length === 0) return undefined;
    const [o] = await tx`select * from broker_orders where client_order_id = ${f.clientOrderId} for update`;
    if (!o) return undefined;
    const order = toRow(o as Record<string, unknown>);
    const filled = Math.min(order.qty, order.filledQty + f.qty);
    const counted = filled - order.filledQty;
    if (counted <= 0) return undefined;
    const avg =
      order.fillPrice === null
        ? f.price
        : div(add(times(order.fillPrice, order.filledQty), times(f.price, counted)), dec(filled));
    await tx`
      update broker_orders set filled_qty = ${filled}, fill_price = ${toStr(avg)},
             status = case when ${filled} >= qty then 'filled' else status end, updated_at = clock_timestamp()
       where client_order_id = ${f.clientOrderId}`;
    order.filledQty = filled;
    order.fillPrice = avg;
    if (filled >= order.qty) order.status = "filled";
    if (!order.traderId) return { order, position: { netQty: 0, realized: dec(0) }, realized: dec(0) };
    const [p] = await tx`
      select net_qty, avg_price, realized_pnl from positions
       where trader_id = ${order.traderId} and broker_account_id = ${order.brokerAccountId} and contract = ${order.contract}
       for update`;
    const before: BookPosition = p
      ? {
          netQty: p.net_qty as number,
          realized: dec(p.realized_pnl as string),
          ...(p.avg_price !== null ? { avgPrice: dec(p.avg_price as string) } : {}),
        }
      : { netQty: 0, realized: dec(0) };
    const { position, realized } = applyFill(before, order.side, counted, f.price, f.valuePerPoint);
    await tx`
      insert into positions (trader_id, account_id, broker_account_id, contract, net_qty, avg_price, realized_pnl, opened_at, updated_at)
      values (${order.traderId}, ${order.accountId}, ${order.brokerAccountId}, ${order.contract}, ${position.netQty},
              ${position.avgPrice === undefined ? null : toStr(position.avgPrice)}, ${toStr(position.realized)},
              ${position.netQty === 0 ? null : f.at}, clock_timestamp())
      on conflict (trader_id, broker_account_id, contract) do update set
        net_qty = excluded.net_qty, avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl,
        opened_at = case when excluded.net_qty = 0 then null
                         when positions.net_qty = 0 or sign(positions.net_qty) <> sign(excluded.net_qty) then excluded.opened_at
                         else positions.opened_at end,
        updated_at = excluded.updated_at`;
    return { order, position, realized };
  }) as Promise<AppliedFill | undefined>;
}
