/**
 * Reads of the relay's order and position book that the flatten needs: who holds what in a contract on a
 * broker sub-account, and which working orders belong to whom. Writes go through src/db/orders.ts.
 */
import type { Sql } from "../db/client";
import { type Dec, dec } from "../domain/decimal";

const LIVE = ["sending", "accepted", "working", "unknown"];

export interface BookedHolding {
  traderId: string;
  netQty: number;
  avgPrice?: Dec;
}

export interface ContractKey {
  accountId: string;
  brokerAccountId: string;
  contract: string;
}

/** Every trader's open booked position in one contract of one sub-account. */
export async function bookedInContract(sql: Sql, k: ContractKey): Promise<BookedHolding[]> {
  const rows = await sql`
    select trader_id, net_qty, avg_price from positions
     where account_id = ${k.accountId} and broker_account_id = ${k.brokerAccountId} and contract = ${k.contract}
       and net_qty <> 0`;
  return rows.map((r) => ({
    traderId: r.trader_id as string,
    netQty: r.net_qty as number,
    ...(r.avg_price !== null ? { avgPrice: dec(r.avg_price as string) } : {}),
  }));
}

export interface LiveOrder {
  clientOrderId: string;
  brokerOrderId: string | null;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  leg: string;
  status: string;
  /** Entry orders add exposure and go first; everything else protects a position and goes last. */
  kind: "entry" | "exit";
}

/** The trader's working (non-market) orders the relay placed, in any contract or in one. */
export async function liveOrdersOf(
  sql: Sql,
  traderId: string,
  only?: { brokerAccountId: string; contract: string },
): Promise<LiveOrder[]> {
  const rows = await sql`
    select client_order_id, broker_order_id, account_id, broker_account_id, contract, leg, status from broker_orders
     where trader_id = ${traderId} and status = any(${LIVE}) and order_type <> 'market'
       and (${only?.contract ?? null}::text is null or (contract = ${only?.contract ?? null} and broker_account_id = ${only?.brokerAccountId ?? null}))
     order by id`;
  return rows.map((r) => ({
    clientOrderId: r.client_order_id as string,
    brokerOrderId: (r.broker_order_id as string | null) ?? null,
    accountId: r.account_id as string,
    brokerAccountId: r.broker_account_id as string,
    contract: r.contract as string,
    leg: r.leg as string,
    status: r.status as string,
    kind: r.leg === "entry" || r.leg === "add" ? "entry" : "exit",
  }));
}

export interface TraderContract extends ContractKey {
  /** The trader's booked quantity (0 when it only has working orders there). */
  netQty: number;
  /** Other traders' open positions and working orders in the same contract and sub-account. */
  othersHolding: number;
  othersOrders: number;
  /** The trader's own working orders there. */
  live: LiveOrder[];
}

/**
 * Everything a trader's flatten must know, in one round trip: each contract where the trader holds a
 * position or has working orders, its quantity, its own orders, and whether anyone else is in it.
 */
export async function traderContracts(sql: Sql, traderId: string): Promise<TraderContract[]> {
  const rows = await sql`
    with mine as (
      select account_id, broker_account_id, contract from positions where trader_id = ${traderId} and net_qty <> 0
      union
      select account_id, broker_account_id, contract from broker_orders
       where trader_id = ${traderId} and status = any(${LIVE}) and order_type <> 'market'
    )
    select m.account_id, m.broker_account_id, m.contract,
           coalesce((select p.net_qty from positions p
                      where p.trader_id = ${traderId} and p.broker_account_id = m.broker_account_id
                        and p.contract = m.contract), 0) as net_qty,
           (select count(*)::int from positions p
             where p.account_id = m.account_id and p.broker_account_id = m.broker_account_id and p.contract = m.contract
               and p.net_qty <> 0 and p.trader_id <> ${traderId}) as others_holding,
           (select count(*)::int from broker_orders o
             where o.account_id = m.account_id and o.broker_account_id = m.broker_account_id and o.contract = m.contract
               and o.status = any(${LIVE}) and o.order_type <> 'market'
               and (o.trader_id is null or o.trader_id <> ${traderId})) as others_orders,
           coalesce((select json_agg(json_build_object('clientOrderId', o.client_order_id, 'brokerOrderId', o.broker_order_id,
                                                       'leg', o.leg, 'status', o.status) order by o.id)
                       from broker_orders o
                      where o.trader_id = ${traderId} and o.broker_account_id = m.broker_account_id
                        and o.contract = m.contract and o.status = any(${LIVE}) and o.order_type <> 'market'), '[]') as live
      from mine m
     order by m.contract`;
  return rows.map((r) => {
    const key = {
      accountId: r.account_id as string,
      brokerAccountId: r.broker_account_id as string,
      contract: r.contract as string,
    };
    const live = (
      r.live as { clientOrderId: string; brokerOrderId: string | null; leg: string; status: string }[]
    ).map(
      (o): LiveOrder => ({ ...key, ...o, kind: o.leg === "entry" || o.leg === "add" ? "entry" : "exit" }),
    );
    return {
      ...key,
      netQty: r.net_qty as number,
      othersHolding: r.others_holding as number,
      othersOrders: r.others_orders as number,
      live,
    };
  });
}

export interface AttemptRow {
  clientOrderId: string;
  status: string;
  brokerOrderId: string | null;
  filledQty: number;
  fillPrice: Dec | null;
}

/** Rows of earlier flatten attempts by client order id (attempts never sent have no row). */
export async function attemptRows(sql: Sql, ids: string[]): Promise<Map<string, AttemptRow>> {
  if (ids.length === 0) return new Map();
  const rows = await sql`
    select client_order_id, status, broker_order_id, filled_qty, fill_price from broker_orders
     where client_order_id = any(${ids})`;
  return new Map(
    rows.map((r) => [
      r.client_order_id as string,
      {
        clientOrderId: r.client_order_id as string,
        status: r.status as string,
        brokerOrderId: (r.broker_order_id as string | null) ?? null,
        filledQty: r.filled_qty as number,
        fillPrice: r.fill_price === null ? null : dec(r.fill_price as string),
      },
    ]),
  );
}
