/**
 * Broker orders and fills. An order row is written (status `sending`) before the order leaves, keyed by
 * its deterministic client order id; a fill is applied to the order and to the trader's position in one
 * transaction, once per fill key, however many times it is reported.
 */
import { add, type Dec, dec, div, sub, times, toStr } from "../domain/decimal";
import { ORDER_STATUSES, ORDER_TRANSITIONS, type OrderStatus } from "../domain/order-status";
import { applyFill, type BookPosition } from "../domain/position";
import type { Side } from "../domain/venue/types";
import { ASYNC_COMMIT, type Sql } from "./client";
import { type PositionRow, type PositionWrite, positionKey, upsertPositions } from "./positions";
import { bookTrades, type TradeGroup } from "./trades";

export type { OrderStatus };

/**
 * The order status table of src/domain/order-status.ts as a SQL expression: `from` is the stored status,
 * `report` the new one; exceptions come from the table, anything else takes the report.
 */
function transitionSql(from: string, report: string): string {
  const cases = ORDER_STATUSES.flatMap((f) =>
    Object.entries(ORDER_TRANSITIONS[f]).map(([r, to]) => `when '${f}>${r}' then '${to}'`),
  );
  return `case ${from} || '>' || ${report} ${cases.join(" ")} else ${report} end`;
}
const MARK_STATUS_MANY = transitionSql("o.status", "v.status");

export interface OrderIntent {
  clientOrderId: string;
  executionId: string | null;
  traderId: string | null;
  accountId: string;
  brokerAccountId: string;
  contract: string;
  leg: string;
  side: Side;
  type: "market" | "limit" | "stop" | "trailing_stop";
  qty: number;
  price?: Dec;
  stopPrice?: Dec;
  /** Where the broker's ids live (BrokerSession.venue); unset for rows never sent to a broker. */
  venue?: string;
}

export interface OrderRow extends OrderIntent {
  status: OrderStatus;
  createdAt?: Date;
  brokerOrderId: string | null;
  filledQty: number;
  fillPrice: Dec | null;
  reason: string | null;
}

export function orderRowOf(r: Record<string, unknown>): OrderRow {
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
    ...(r.created_at ? { createdAt: r.created_at as Date } : {}),
  };
}

/** Records an order about to be sent; returns the existing row instead if this id was sent before. */
export async function insertIntent(sql: Sql, i: OrderIntent): Promise<{ row: OrderRow; existed: boolean }> {
  const inserted = await sql`
    insert into broker_orders (client_order_id, execution_id, trader_id, account_id, broker_account_id, contract, leg,
                               side, order_type, qty, price, stop_price, status, venue)
    select ${i.clientOrderId}, ${i.executionId}, ${i.traderId}, ${i.accountId}, ${i.brokerAccountId}, ${i.contract},
           ${i.leg}, ${i.side}, ${i.type}, ${i.qty}, ${i.price === undefined ? null : toStr(i.price)}::numeric,
           ${i.stopPrice === undefined ? null : toStr(i.stopPrice)}::numeric, 'sending', ${i.venue ?? null}
      from ${sql.unsafe(ASYNC_COMMIT)}
    on conflict (client_order_id) do nothing
    returning *`;
  if (inserted[0]) return { row: orderRowOf(inserted[0] as Record<string, unknown>), existed: false };
  const [existing] = await sql`select * from broker_orders where client_order_id = ${i.clientOrderId}`;
  return { row: orderRowOf(existing as Record<string, unknown>), existed: true };
}

/**
 * An order the broker confirmed it never received goes back to `sending`, with the size and prices it is
 * sent again with (a close is resized to what the broker holds now). Never a filled one.
 */
export async function reopenIntent(sql: Sql, i: OrderIntent): Promise<void> {
  await sql`
    update broker_orders set status = 'sending', qty = ${i.qty},
           price = ${i.price === undefined ? null : toStr(i.price)}::numeric,
           stop_price = ${i.stopPrice === undefined ? null : toStr(i.stopPrice)}::numeric,
           reason = null, updated_at = clock_timestamp()
     where client_order_id = ${i.clientOrderId} and status <> 'filled' and filled_qty = 0`;
}

export async function markOrder(
  sql: Sql,
  clientOrderId: string,
  m: { status: OrderStatus; brokerOrderId?: string | null; reason?: string | null; raw?: unknown },
): Promise<void> {
  await markOrders(sql, [{ clientOrderId, ...m }]);
}

export async function orderByClientId(sql: Sql, clientOrderId: string): Promise<OrderRow | undefined> {
  const [row] = await sql`select * from broker_orders where client_order_id = ${clientOrderId}`;
  return row ? orderRowOf(row as Record<string, unknown>) : undefined;
}

/**
 * Our order carrying this broker id on the account's current venue. Broker ids repeat (a broker reset,
 * another venue), so a live order wins over an ended one, and the newest over older ones.
 */
/** Many orderByClientId look-ups in one statement, answers in order (undefined when there is none). */
export async function ordersByClientIds(sql: Sql, ids: string[]): Promise<(OrderRow | undefined)[]> {
  const rows = await sql`select * from broker_orders where client_order_id = any(${ids}::text[])`;
  const by = new Map(
    rows.map((r) => [r.client_order_id as string, orderRowOf(r as Record<string, unknown>)]),
  );
  return ids.map((id) => by.get(id));
}

export async function orderByBrokerId(
  sql: Sql,
  accountId: string,
  brokerOrderId: string,
  venue?: string,
): Promise<OrderRow | undefined> {
  const [row] = await sql`
    select * from broker_orders
     where account_id = ${accountId} and broker_order_id = ${brokerOrderId}
       and (venue is null or ${venue ?? null}::text is null or venue = ${venue ?? null})
     order by (status in ('sending', 'accepted', 'working', 'unknown')) desc, id desc
     limit 1`;
  return row ? orderRowOf(row as Record<string, unknown>) : undefined;
}

/**
 * The other half of an exit pair (tp<n> with sl<n>): placed by the same execution (or, both without one,
 * by the same reconciliation) for the same trader, account and contract. Every candidate still open, so
 * the caller can refuse to guess when there is more than one; with the signal it belongs to, for logs.
 */
export async function exitPartners(
  sql: Sql,
  exit: Pick<OrderRow, "traderId" | "accountId" | "brokerAccountId" | "contract" | "executionId">,
  partnerLeg: string,
): Promise<(OrderRow & { signalId: string | null })[]> {
  const rows = await sql`
    select o.*, e.signal_id from broker_orders o left join executions e on e.id = o.execution_id
     where o.trader_id = ${exit.traderId} and o.account_id = ${exit.accountId}
       and o.broker_account_id = ${exit.brokerAccountId} and o.contract = ${exit.contract}
       and o.leg = ${partnerLeg} and o.execution_id is not distinct from ${exit.executionId}::uuid
       and o.status in ('sending', 'accepted', 'working', 'unknown')
     order by o.id`;
  return rows.map((r) => ({
    ...orderRowOf(r as Record<string, unknown>),
    signalId: (r.signal_id as string | null) ?? null,
  }));
}

/** The trader's live exit orders (take-profits and stops) in a contract: only ones the relay placed. */
export async function liveOrders(
  sql: Sql,
  key: { traderId: string; brokerAccountId: string; contract: string },
  kind: "exits" | "entries",
): Promise<OrderRow[]> {
  const [rows = []] = await liveOrdersMany(sql, [{ ...key, kind }]);
  return rows;
}

export interface LiveOrdersQuery {
  traderId: string;
  brokerAccountId: string;
  contract: string;
  kind: "exits" | "entries";
}

/** Many liveOrders look-ups in one statement (an exit fan-out asks once per trader), answers in order. */
export async function liveOrdersMany(sql: Sql, queries: LiveOrdersQuery[]): Promise<OrderRow[][]> {
  const rows = await sql`
    select v.i, o.* from jsonb_to_recordset(${sql.json(queries.map((q, i) => ({ i, ...q })) as never)}::jsonb)
           as v(i int, "traderId" uuid, "brokerAccountId" text, contract text, kind text)
      join broker_orders o
        on o.trader_id = v."traderId" and o.broker_account_id = v."brokerAccountId" and o.contract = v.contract
       and o.status in ('sending', 'accepted', 'working', 'unknown')
       and (case when v.kind = 'exits' then o.leg ~ '^(tp|sl)[0-9]+$' else o.leg in ('entry', 'add') and o.order_type <> 'market' end)
     order by v.i, o.id`;
  const out: OrderRow[][] = queries.map(() => []);
  for (const r of rows) out[r.i as number]?.push(orderRowOf(r as Record<string, unknown>));
  return out;
}

export interface FillReport {
  accountId: string;
  /** Unique per fill at this account (broker fill id, or order id + cumulative quantity). */
  fillKey: string;
  clientOrderId: string;
  qty: number;
  /** Average price of the `qty` contracts this report covers. */
  price: Dec;
  /** The order's filled quantity through this report, when the broker says it. */
  cumQty?: number;
  at: Date;
  valuePerPoint: Dec;
}

/**
 * The part of a fill report not booked yet, and its exact price. With a cumulative quantity the report
 * covers the order's fills (cumQty - qty, cumQty]; only what lies beyond what is already booked counts, and
 * when the report starts at zero (a reply summing every fill so far) the new part's price follows from the
 * averages exactly. Without one, the report is taken as a new fill, capped at the order's size.
 */
export function newPart(
  order: { qty: number; filledQty: number; fillPrice: Dec | null },
  f: { qty: number; price: Dec; cumQty?: number },
): { qty: number; price: Dec } | undefined {
  if (f.cumQty === undefined) {
    const qty = Math.min(order.qty, order.filledQty + f.qty) - order.filledQty;
    return qty > 0 ? { qty, price: f.price } : undefined;
  }
  const upTo = Math.min(order.qty, f.cumQty);
  const start = f.cumQty - f.qty;
  const qty = upTo - Math.max(order.filledQty, start);
  if (qty <= 0) return undefined;
  if (start >= order.filledQty || order.fillPrice === null) return { qty, price: f.price };
  if (start === 0) {
    // (average of the whole report x its size - what is already booked) / the new part.
    const value = sub(times(f.price, f.cumQty), times(order.fillPrice, order.filledQty));
    return { qty, price: div(sub(value, times(f.price, f.cumQty - upTo)), dec(qty)) };
  }
  return { qty, price: f.price };
}

export interface AppliedFill {
  order: OrderRow;
  position: BookPosition;
  realized: Dec;
  /** The trader's position row as the booking's transaction wrote it (after every fill of the batch). */
  row?: PositionRow;
}

/**
 * What became of one fill report: booked (`applied`), already booked (nothing), or not ours to book:
 * `conflict` when its fill key was seen before with other contents, `stale` when it names an order of
 * ours that had already filled completely (a broker reusing order ids: the report belongs to a newer
 * order, or to none of ours).
 */
export interface FillResult {
  applied?: AppliedFill;
  conflict?: string;
  stale?: boolean;
  /** No order row under the report's client order id: nothing booked, the report must wait for it. */
  missing?: boolean;
}

type PositionState = BookPosition & { opened: boolean };

interface SeenFill {
  clientOrderId: string;
  qty: number;
  price: Dec;
  at: Date;
}

const SAME_FILL_MS = 2_000;

/** Whether a stored fill and a report under the same key are the same fill. */
function sameFill(seen: SeenFill, f: FillReport): boolean {
  if (seen.clientOrderId !== f.clientOrderId || seen.qty !== f.qty || seen.price !== f.price) return false;
  // A broker's own fill id carries the fill's time (a reply and an event may stamp it a moment apart);
  // keys we derive (cumulative quantity) carry none.
  return !f.fillKey.includes("id:") || Math.abs(seen.at.getTime() - f.at.getTime()) <= SAME_FILL_MS;
}

/**
 * Applies fills to their orders and to the traders' positions, each fill exactly once, all in one
 * transaction. A fill key is unique per account (its venue is part of it, src/orders/fills.ts): a report
 * under a key already stored is the same fill told again, unless its contents differ, which is a
 * conflict: a report for another of our orders is booked under its own key (the broker reused an id),
 * anything else is reported and left to reconciliation. Orders and positions are locked in a fixed order
 * (positions through an advisory lock on their key, which also covers positions that do not exist yet),
 * so concurrent bookings never lose an update or deadlock. `source` names the writer in the positions'
 * change notice (src/db/positions.ts), so a relay's in-memory book can tell its own writes from others'.
 */
export async function applyOrderFills(sql: Sql, fills: FillReport[], source = ""): Promise<FillResult[]> {
  if (fills.length === 0) return [];
  return sql.begin(async (tx) => {
    const ids = [...new Set(fills.map((f) => f.clientOrderId))].sort();
    const orderRows = await tx`
      select * from broker_orders where client_order_id = any(${ids}::text[]) order by client_order_id for update`;
    const orders = new Map(
      orderRows.map((r) => [r.client_order_id as string, orderRowOf(r as Record<string, unknown>)]),
    );
    const results = new Map<FillReport, FillResult>(fills.map((f) => [f, {}]));

    // 1. Which keys are new; a repeated key with other contents is a conflict.
    const keyOf = (f: FillReport) => `${f.accountId}|${f.fillKey}`;
    const seen = await storedFills(tx as unknown as Sql, fills);
    const keys = new Map<FillReport, string>();
    const retry: FillReport[] = [];
    for (const f of fills) {
      const stored = seen.get(keyOf(f));
      if (!stored) keys.set(f, f.fillKey);
      else if (sameFill(stored, f)) continue;
      else if (stored.clientOrderId !== f.clientOrderId) retry.push(f);
      else
        (results.get(f) as FillResult).conflict =
          `fill ${f.fillKey} was reported again with other contents (${f.qty} @ ${toStr(f.price)}, booked as ${stored.qty} @ ${toStr(stored.price)}); not booked twice`;
    }
    if (retry.length) {
      // Another of our orders under a repeated broker id: its own fill, under a key of its own.
      const own = retry.map((f) => ({ ...f, fillKey: `${f.fillKey}#${f.clientOrderId}` }));
      const seenOwn = await storedFills(tx as unknown as Sql, own);
      retry.forEach((f, i) => {
        const mine = own[i] as FillReport;
        if (seenOwn.has(keyOf(mine))) return;
        keys.set(f, mine.fillKey);
        (results.get(f) as FillResult).conflict =
          `fill ${f.fillKey} was seen before for another order: the broker reuses its ids; booked as a new fill of ${f.clientOrderId}`;
      });
    }

    // 2. The part of each new fill not booked yet; a fill naming an order already wholly filled is stale.
    const parts = new Map<FillReport, { qty: number; price: Dec }>();
    const probe = new Map<string, { filledQty: number; fillPrice: Dec | null; qty: number }>();
    for (const f of keys.keys()) {
      const order = orders.get(f.clientOrderId);
      if (!order) {
        // No row under this id (yet): the order went out before its row was written (write-behind).
        (results.get(f) as FillResult).missing = true;
        continue;
      }
      const state = probe.get(order.clientOrderId) ?? { ...order };
      const part = newPart(state, f);
      if (!part) {
        // A fill id never seen, for an order already wholly filled: not that order's fill.
        if (state.filledQty >= state.qty && f.fillKey.includes("id:"))
          (results.get(f) as FillResult).stale = true;
        continue;
      }
      parts.set(f, part);
      const filled = state.filledQty + part.qty;
      state.fillPrice =
        state.fillPrice === null
          ? part.price
          : div(add(times(state.fillPrice, state.filledQty), times(part.price, part.qty)), dec(filled));
      state.filledQty = filled;
      probe.set(order.clientOrderId, state);
    }
    const todo = fills.filter((f) => parts.has(f));
    if (todo.length === 0) return fills.map((f) => results.get(f) as FillResult);

    // 3. Claim the keys; a concurrent booking that got there first wins.
    const keyed = todo.map((f) => ({
      account_id: f.accountId,
      fill_key: keys.get(f),
      client_order_id: f.clientOrderId,
      qty: f.qty,
      price: toStr(f.price),
      at: f.at.toISOString(),
    }));
    const freshRows = await tx`
      insert into broker_fills (account_id, fill_key, client_order_id, qty, price, at)
      select v.account_id, v.fill_key, v.client_order_id, v.qty, v.price, v.at
        from jsonb_to_recordset(${sql.json(keyed as never)}::jsonb)
               as v(account_id uuid, fill_key text, client_order_id text, qty integer, price numeric, at timestamptz)
      on conflict do nothing
      returning account_id, fill_key`;
    const fresh = new Set(freshRows.map((r) => `${r.account_id}|${r.fill_key}`));
    const booked = todo.filter((f) => fresh.has(`${f.accountId}|${keys.get(f)}`));

    const posKey = (o: OrderRow) => `${o.traderId}|${o.brokerAccountId}|${o.contract}`;
    const positionKeys = [
      ...new Set(
        booked
          .map((f) => orders.get(f.clientOrderId))
          .filter((o): o is OrderRow => !!o?.traderId)
          .map(posKey),
      ),
    ].sort();
    const positions = new Map<string, PositionState>();
    if (positionKeys.length) {
      await tx`select pg_advisory_xact_lock(hashtextextended(k, 7316)) from unnest(${positionKeys}::text[]) as k order by k`;
      const wanted = positionKeys.map((k) => {
        const [trader_id, broker_account_id, contract] = k.split("|");
        return { trader_id, broker_account_id, contract };
      });
      const rows = await tx`
        select p.* from positions p
          join jsonb_to_recordset(${sql.json(wanted as never)}::jsonb) as v(trader_id uuid, broker_account_id text, contract text)
            on p.trader_id = v.trader_id and p.broker_account_id = v.broker_account_id and p.contract = v.contract`;
      for (const r of rows) {
        positions.set(`${r.trader_id}|${r.broker_account_id}|${r.contract}`, {
          netQty: r.net_qty as number,
          realized: dec(r.realized_pnl as string),
          ...(r.avg_price !== null ? { avgPrice: dec(r.avg_price as string) } : {}),
          opened: (r.net_qty as number) !== 0,
        });
      }
    }

    // 4. Fills of one order and one position are applied in the order they were reported.
    const touchedOrders = new Set<OrderRow>();
    const touchedPositions = new Map<string, { order: OrderRow; at: Date }>();
    const tradeGroups = new Map<string, TradeGroup>(); // issue 15: round-trip trades, src/db/trades.ts
    for (const f of booked) {
      const order = orders.get(f.clientOrderId);
      if (!order) continue;
      const part = newPart(order, f);
      if (!part) continue;
      const counted = part.qty;
      const filled = order.filledQty + counted;
      order.fillPrice =
        order.fillPrice === null
          ? part.price
          : div(add(times(order.fillPrice, order.filledQty), times(part.price, counted)), dec(filled));
      order.filledQty = filled;
      if (filled >= order.qty) order.status = "filled";
      touchedOrders.add(order);
      const result = results.get(f) as FillResult;
      if (!order.traderId) {
        result.applied = { order: { ...order }, position: { netQty: 0, realized: dec(0) }, realized: dec(0) };
        continue;
      }
      const key = posKey(order);
      const before = positions.get(key) ?? { netQty: 0, realized: dec(0), opened: false };
      const { position, realized } = applyFill(before, order.side, counted, part.price, f.valuePerPoint);
      positions.set(key, { ...position, opened: before.opened });
      touchedPositions.set(key, { order, at: f.at });
      const group = tradeGroups.get(key) ?? {
        traderId: order.traderId,
        accountId: order.accountId,
        brokerAccountId: order.brokerAccountId,
        contract: order.contract,
        before: {
          netQty: before.netQty,
          realized: before.realized,
          ...(before.avgPrice ? { avgPrice: before.avgPrice } : {}),
        },
        valuePerPoint: f.valuePerPoint,
        fills: [],
      };
      group.fills.push({
        side: order.side,
        qty: counted,
        price: part.price,
        at: f.at,
        fillId: keys.get(f) ?? f.fillKey,
      });
      tradeGroups.set(key, group);
      result.applied = { order: { ...order }, position, realized };
    }

    if (touchedOrders.size) {
      const rows = [...touchedOrders].map((o) => ({
        client_order_id: o.clientOrderId,
        filled_qty: o.filledQty,
        fill_price: o.fillPrice === null ? null : toStr(o.fillPrice),
      }));
      await tx`
        update broker_orders o set filled_qty = v.filled_qty, fill_price = v.fill_price,
               status = case when v.filled_qty >= o.qty then 'filled' else o.status end, updated_at = clock_timestamp()
          from jsonb_to_recordset(${sql.json(rows as never)}::jsonb) as v(client_order_id text, filled_qty integer, fill_price numeric)
         where o.client_order_id = v.client_order_id`;
    }
    if (touchedPositions.size) {
      const rows = [...touchedPositions.entries()].map(([key, { order, at }]): PositionWrite => {
        const p = positions.get(key) as PositionState;
        return {
          trader_id: order.traderId as string,
          account_id: order.accountId,
          broker_account_id: order.brokerAccountId,
          contract: order.contract,
          net_qty: p.netQty,
          avg_price: p.avgPrice === undefined ? null : toStr(p.avgPrice),
          realized_pnl: toStr(p.realized),
          opened_at: p.netQty === 0 ? null : at.toISOString(),
        };
      });
      const written = new Map(
        (await upsertPositions(tx as unknown as Sql, rows, source)).map((r) => [positionKey(r), r]),
      );
      // Each booked fill carries its position as this transaction leaves it (the in-memory book's copy).
      for (const f of booked) {
        const applied = results.get(f)?.applied;
        const order = orders.get(f.clientOrderId);
        if (applied && order?.traderId) {
          const row = written.get(posKey(order));
          if (row) applied.row = row;
        }
      }
    }
    await bookTrades(tx as unknown as Sql, [...tradeGroups.values()]);
    return fills.map((f) => results.get(f) as FillResult);
  }) as Promise<FillResult[]>;
}

/** Stored fills under the reports' keys, by `account|key`. */
async function storedFills(sql: Sql, fills: FillReport[]): Promise<Map<string, SeenFill>> {
  const wanted = fills.map((f) => ({ account_id: f.accountId, fill_key: f.fillKey }));
  const rows = await sql`
    select b.account_id, b.fill_key, b.client_order_id, b.qty, b.price::text as price, b.at from broker_fills b
      join jsonb_to_recordset(${sql.json(wanted as never)}::jsonb) as v(account_id uuid, fill_key text)
        on b.account_id = v.account_id and b.fill_key = v.fill_key`;
  return new Map(
    rows.map((r) => [
      `${r.account_id}|${r.fill_key}`,
      {
        clientOrderId: r.client_order_id as string,
        qty: r.qty as number,
        price: dec(r.price as string),
        at: r.at as Date,
      },
    ]),
  );
}

/** Many insertIntent calls in one statement; rows already present come back with existed = true. */
export async function insertIntents(
  sql: Sql,
  items: OrderIntent[],
): Promise<{ row: OrderRow; existed: boolean }[]> {
  const rows = items.map((i) => ({
    client_order_id: i.clientOrderId,
    execution_id: i.executionId,
    trader_id: i.traderId,
    account_id: i.accountId,
    broker_account_id: i.brokerAccountId,
    contract: i.contract,
    leg: i.leg,
    side: i.side,
    order_type: i.type,
    qty: i.qty,
    price: i.price === undefined ? null : toStr(i.price),
    stop_price: i.stopPrice === undefined ? null : toStr(i.stopPrice),
    venue: i.venue ?? null,
  }));
  const inserted = await sql`
    insert into broker_orders (client_order_id, execution_id, trader_id, account_id, broker_account_id, contract, leg,
                               side, order_type, qty, price, stop_price, status, venue)
    select v.client_order_id, v.execution_id, v.trader_id, v.account_id, v.broker_account_id, v.contract, v.leg,
           v.side, v.order_type, v.qty, v.price, v.stop_price, 'sending', v.venue
      from jsonb_to_recordset(${sql.json(rows as never)}::jsonb)
             as v(client_order_id text, execution_id uuid, trader_id uuid, account_id uuid, broker_account_id text,
                  contract text, leg text, side text, order_type text, qty integer, price numeric, stop_price numeric,
                  venue text),
           ${sql.unsafe(ASYNC_COMMIT)}
    on conflict (client_order_id) do nothing
    returning client_order_id`;
  // A new row is the intent as written (a fan-out inserts hundreds: no need to read them all back).
  const byId = new Map(items.map((i) => [i.clientOrderId, i]));
  const fresh = new Map<string, OrderRow>();
  for (const r of inserted) {
    const i = byId.get(r.client_order_id as string);
    if (i)
      fresh.set(i.clientOrderId, {
        ...i,
        status: "sending",
        brokerOrderId: null,
        filledQty: 0,
        fillPrice: null,
        reason: null,
      });
  }
  const missing = items.map((i) => i.clientOrderId).filter((id) => !fresh.has(id));
  const existing = new Map<string, OrderRow>();
  if (missing.length) {
    const found = await sql`select * from broker_orders where client_order_id = any(${missing}::text[])`;
    for (const r of found)
      existing.set(r.client_order_id as string, orderRowOf(r as Record<string, unknown>));
  }
  return items.map((i) => {
    const row = fresh.get(i.clientOrderId);
    if (row) return { row, existed: false };
    const old = existing.get(i.clientOrderId);
    if (!old) throw new Error(`order ${i.clientOrderId} neither inserted nor found`);
    return { row: old, existed: true };
  });
}

export interface OrderMark {
  clientOrderId: string;
  status: OrderStatus;
  brokerOrderId?: string | null;
  reason?: string | null;
  raw?: unknown;
}

/** Many markOrder calls in one statement; for one order only its last mark of the batch counts. */
export async function markOrders(sql: Sql, items: OrderMark[]): Promise<void> {
  const last = new Map<string, OrderMark>();
  for (const m of items) last.set(m.clientOrderId, m);
  const rows = [...last.values()].map((m) => ({
    client_order_id: m.clientOrderId,
    status: m.status,
    broker_order_id: m.brokerOrderId ?? null,
    reason: m.reason ?? null,
    raw: m.raw === undefined ? null : m.raw,
  }));
  await sql`
    update broker_orders o set
           status = ${sql.unsafe(MARK_STATUS_MANY)},
           broker_order_id = coalesce(v.broker_order_id, o.broker_order_id),
           reason = coalesce(v.reason, o.reason),
           raw = coalesce(v.raw, o.raw),
           updated_at = clock_timestamp()
      from jsonb_to_recordset(${sql.json(rows as never)}::jsonb)
             as v(client_order_id text, status text, broker_order_id text, reason text, raw jsonb),
           (select client_order_id from broker_orders where client_order_id = any(${rows.map((r) => r.client_order_id)}::text[])
             order by client_order_id for update) l,
           ${sql.unsafe(ASYNC_COMMIT)}
     where o.client_order_id = v.client_order_id and l.client_order_id = v.client_order_id`;
}

/** Whether an execution's entry or add may be at the broker (sent, or known there). */
export async function entryPlaced(sql: Sql, executionId: string): Promise<boolean> {
  const rows = await sql`
    select 1 from broker_orders
     where execution_id = ${executionId} and leg in ('entry', 'add')
       and (status not in ('cancelled', 'rejected') or filled_qty > 0)
     limit 1`;
  return rows.length > 0;
}
