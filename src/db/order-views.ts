/**
 * Read-only views of orders and fills for the API (issue 15's console): the working orders beside each
 * open position, and each order's fills on a signal's page. Nothing here writes.
 */
import { toStr } from "../domain/decimal";
import type { Sql } from "./client";
import { type OrderRow, orderRowOf } from "./orders";

/** Statuses of an order that may still fill at the broker (the partial index broker_orders_working). */
const LIVE = ["sending", "accepted", "working", "unknown"];

/**
 * Our orders still working at the broker, of one trader or of every trader, oldest first: a position's
 * take-profits and stops, and resting entries.
 *
 * @example
 *   const working = await workingOrdersOf(sql, traderId);
 */
export async function workingOrdersOf(sql: Sql, traderId?: string): Promise<OrderRow[]> {
  const rows = await sql`
    select * from broker_orders
     where trader_id is not null and status = any(${LIVE}::text[])
       and (${traderId ?? null}::uuid is null or trader_id = ${traderId ?? null})
     order by id`;
  return rows.map((r) => orderRowOf(r as Record<string, unknown>));
}

/** The JSON shape of a working order beside its position. */
export function presentWorkingOrder(o: OrderRow) {
  return {
    clientOrderId: o.clientOrderId,
    leg: o.leg,
    side: o.side,
    type: o.type,
    qty: o.qty,
    filledQty: o.filledQty,
    price: o.price === undefined ? null : toStr(o.price),
    stopPrice: o.stopPrice === undefined ? null : toStr(o.stopPrice),
    status: o.status,
  };
}

export interface OrderFill {
  clientOrderId: string;
  qty: number;
  price: string;
  at: Date;
}

/** Every fill booked for the orders of these executions, in time order. */
export async function fillsOfExecutions(sql: Sql, executionIds: string[]): Promise<OrderFill[]> {
  if (executionIds.length === 0) return [];
  const rows = await sql`
    select f.client_order_id, f.qty, f.price::text as price, f.at
      from broker_orders o
      join broker_fills f on f.account_id = o.account_id and f.client_order_id = o.client_order_id
     where o.execution_id = any(${executionIds}::uuid[])
     order by f.at, f.fill_key`;
  return rows.map((r) => ({
    clientOrderId: r.client_order_id as string,
    qty: r.qty as number,
    price: r.price as string,
    at: r.at as Date,
  }));
}
