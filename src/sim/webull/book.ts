/**
 * The simulator's trading desk: apps and their accounts, orders keyed by (account, client_order_id), and
 * the handlers behind every endpoint. The shared `Venue` does the matching, so fills and P&L behave as on
 * every other simulated broker.
 *
 * Place reply (UNCONFIRMED in the reference): `{"client_order_id": "...", "order_id": "..."}`. A request
 * the broker refuses outright (bad contract, price off the tick, duplicate id) is answered 417 and stores
 * nothing; an order the venue refuses after acceptance (no quote for a market order) is answered 200 and
 * is then seen as FAILED, like Webull's asynchronous PLACE_FAILED.
 */
import { randomBytes } from "node:crypto";
import { type Dec, dec, isInteger, roundToStep, toInt, toStr } from "../../domain/decimal";
import { Venue } from "../../domain/venue/engine";
import type { VenueOrder } from "../../domain/venue/types";
import type { ErrorBody } from "./faults";
import { anySpec, instrumentTypeOf, specFor } from "./instruments";
import { cancelBodySchema, issueText, placeBodySchema, replaceBodySchema } from "./schema";
import { balanceView, isOpen, type OrderMeta, orderView, positionView } from "./views";

export interface Reply {
  status: number;
  body: unknown;
}

interface App {
  secret: string;
  accessToken?: string;
  accounts: Set<string>;
}

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PAGE_DEFAULT = 10;
const PAGE_MAX = 100;

const ok = (body: unknown): Reply => ({ status: 200, body });
const err = (status: number, error_code: string, message: string): Reply => ({
  status,
  body: { error_code, message } satisfies ErrorBody,
});

function randomOrderId(): string {
  let out = "";
  for (const b of randomBytes(20)) out += ALNUM[b % ALNUM.length];
  return out;
}

export interface BookOptions {
  /**
   * Order ids from a counter (`SIM00000000000000001`, ...) instead of random: a restarted simulator hands
   * out the same ids again, as a broker whose ids start over would. Default false (random).
   */
  sequentialOrderIds?: boolean;
  /** With sequential ids: the first order number (default 1). */
  firstOrderNumber?: number;
}

export type ManualKind = "market" | "close" | "flatten" | "cancel";

/** One action taken by hand in Webull's own app (tests). */
export interface ManualRecord {
  kind: ManualKind;
  accountId: string;
  symbol: string;
  clientOrderId?: string;
  orderId?: string;
  side?: "BUY" | "SELL";
  qty?: number;
  at: number;
}

export class Book {
  readonly venue: Venue;
  private readonly apps = new Map<string, App>();
  private readonly byClient = new Map<string, OrderMeta>();
  private readonly metas: OrderMeta[] = [];
  private readonly manualLog: ManualRecord[] = [];
  private nextOrderNumber = 1;

  constructor(
    private readonly now: () => number,
    private readonly options: BookOptions = {},
  ) {
    this.venue = new Venue({ spec: (c) => anySpec(c, new Date(this.now())), clock: now });
    this.nextOrderNumber = options.firstOrderNumber ?? 1;
  }

  /** The number the next sequential order id will carry. */
  nextOrderNumberValue(): number {
    return this.nextOrderNumber;
  }

  private newOrderId(): string {
    if (!this.options.sequentialOrderIds) return randomOrderId();
    return `SIM${String(this.nextOrderNumber++).padStart(17, "0")}`;
  }

  manualRecords(): ManualRecord[] {
    return [...this.manualLog];
  }

  /**
   * A market order typed in by hand in Webull's app: it gets an app-made client_order_id and shows in
   * open/history/detail and positions like any order, but never passed through the OpenAPI.
   */
  manualOrder(
    accountId: string,
    symbol: string,
    side: "BUY" | "SELL",
    qty: number,
    kind: ManualKind = "market",
  ): OrderMeta {
    const appKey = [...this.apps].find(([, app]) => app.accounts.has(accountId))?.[0];
    if (appKey === undefined) throw new RangeError(`no simulator account ${accountId}`);
    if (!Number.isInteger(qty) || qty <= 0) throw new RangeError(`bad quantity ${qty}`);
    const at = new Date(this.now());
    const clientOrderId = randomBytes(16).toString("hex");
    const order = this.venue.place({
      account: accountId,
      contract: symbol,
      side: side === "BUY" ? "buy" : "sell",
      type: "market",
      qty,
      clientOrderId,
    });
    const meta: OrderMeta = {
      appKey,
      accountId,
      clientOrderId,
      orderId: this.newOrderId(),
      venueId: order.id,
      instrumentType: instrumentTypeOf(symbol, at),
      orderType: "MARKET",
      timeInForce: "DAY",
      comboType: "NORMAL",
      placedAt: at.getTime(),
      manual: true,
    };
    this.byClient.set(`${accountId}\u0000${clientOrderId}`, meta);
    this.metas.push(meta);
    this.manualLog.push({
      kind,
      accountId,
      symbol,
      clientOrderId,
      orderId: meta.orderId,
      side,
      qty,
      at: at.getTime(),
    });
    return meta;
  }

  /** Cancels, by hand, every open order of the account (one symbol or all); returns how many. */
  manualCancelAll(accountId: string, symbol?: string): number {
    let n = 0;
    for (const meta of this.metas) {
      if (meta.accountId !== accountId) continue;
      const order = this.orderOf(meta);
      if (!isOpen(order) || (symbol !== undefined && order.contract !== symbol)) continue;
      if (typeof this.venue.cancel(meta.venueId) === "string") continue;
      n++;
      this.manualLog.push({
        kind: "cancel",
        accountId,
        symbol: order.contract,
        clientOrderId: meta.clientOrderId,
        orderId: meta.orderId,
        at: this.now(),
      });
    }
    return n;
  }

  /** Closes, by hand, the position (or `qty` of it) at market; undefined when flat. */
  manualClose(
    accountId: string,
    symbol: string,
    qty?: number,
    kind: ManualKind = "close",
  ): OrderMeta | undefined {
    const net = this.venue.position(accountId, symbol)?.netPos ?? 0;
    if (net === 0) return undefined;
    const size = Math.min(Math.abs(net), qty ?? Math.abs(net));
    return this.manualOrder(accountId, symbol, net > 0 ? "SELL" : "BUY", size, kind);
  }

  addApp(appKey: string, secret: string, accounts: { accountId: string; balance: Dec }[], token?: string) {
    const app: App = { secret, accounts: new Set(), ...(token !== undefined ? { accessToken: token } : {}) };
    for (const a of accounts) {
      this.venue.addAccount(a.accountId, a.balance);
      app.accounts.add(a.accountId);
    }
    this.apps.set(appKey, app);
  }

  secret(appKey: string): string | undefined {
    return this.apps.get(appKey)?.secret;
  }

  accessToken(appKey: string): string | undefined {
    return this.apps.get(appKey)?.accessToken;
  }

  allOrders(): { meta: OrderMeta; order: VenueOrder }[] {
    return this.metas.map((meta) => ({ meta, order: this.orderOf(meta) }));
  }

  private orderOf(meta: OrderMeta): VenueOrder {
    const order = this.venue.order(meta.venueId);
    if (!order) throw new Error(`venue lost order ${meta.venueId}`);
    return order;
  }

  private owns(appKey: string, accountId: string): boolean {
    return this.apps.get(appKey)?.accounts.has(accountId) ?? false;
  }

  place(appKey: string, raw: unknown): Reply {
    const parsed = placeBodySchema.safeParse(raw);
    if (!parsed.success) return err(400, "INVALID_PARAMETER", issueText(parsed.error));
    const { account_id: accountId, new_orders: orders } = parsed.data;
    if (!this.owns(appKey, accountId)) return err(417, "ACCOUNT_NOT_FOUND", "account not found");
    const [o] = orders;
    if (!o || orders.length !== 1) {
      return err(400, "INVALID_PARAMETER", "the simulator takes exactly one NORMAL order per request");
    }
    if (o.combo_type !== "NORMAL") {
      return err(417, "COMBO_TYPE_NOT_SUPPORTED", `combo_type ${o.combo_type} is not simulated`);
    }
    const key = `${accountId}\u0000${o.client_order_id}`;
    if (this.byClient.has(key)) {
      return err(417, "DUPLICATE_CLIENT_ORDER_ID", "client_order_id already exists");
    }
    const at = new Date(this.now());
    const spec = specFor(o.instrument_type, o.symbol, at);
    if (!spec) {
      return err(417, "INVALID_SYMBOL", `${o.symbol} is not a tradable ${o.instrument_type} instrument`);
    }
    const qty = dec(o.quantity);
    if (!isInteger(qty) || toInt(qty) <= 0) return err(417, "INVALID_QUANTITY", "quantity must be whole");
    const price = o.limit_price !== undefined ? dec(o.limit_price) : undefined;
    const stop = o.stop_price !== undefined ? dec(o.stop_price) : undefined;
    if (o.order_type === "LIMIT" && price === undefined) {
      return err(417, "INVALID_PRICE", "limit_price is required for LIMIT");
    }
    if (o.order_type === "STOP_LOSS" && stop === undefined) {
      return err(417, "INVALID_PRICE", "stop_price is required for STOP_LOSS");
    }
    for (const p of [price, stop]) {
      if (p !== undefined && (p <= 0n || roundToStep(p, spec.tickSize) !== p)) {
        return err(417, "INVALID_PRICE", `price must be a positive multiple of ${toStr(spec.tickSize)}`);
      }
    }
    const order = this.venue.place({
      account: accountId,
      contract: o.symbol,
      side: o.side === "BUY" ? "buy" : "sell",
      type: o.order_type === "MARKET" ? "market" : o.order_type === "LIMIT" ? "limit" : "stop",
      qty: toInt(qty),
      ...(o.order_type === "LIMIT" && price !== undefined ? { price } : {}),
      ...(o.order_type === "STOP_LOSS" && stop !== undefined ? { stopPrice: stop } : {}),
      clientOrderId: o.client_order_id,
    });
    const meta: OrderMeta = {
      appKey,
      accountId,
      clientOrderId: o.client_order_id,
      orderId: this.newOrderId(),
      venueId: order.id,
      instrumentType: o.instrument_type,
      orderType: o.order_type,
      timeInForce: o.time_in_force,
      comboType: o.combo_type,
      placedAt: at.getTime(),
    };
    this.byClient.set(key, meta);
    this.metas.push(meta);
    return ok({ client_order_id: meta.clientOrderId, order_id: meta.orderId });
  }

  replace(appKey: string, raw: unknown): Reply {
    const parsed = replaceBodySchema.safeParse(raw);
    if (!parsed.success) return err(400, "INVALID_PARAMETER", issueText(parsed.error));
    const { account_id: accountId, modify_orders: changes } = parsed.data;
    if (!this.owns(appKey, accountId)) return err(417, "ACCOUNT_NOT_FOUND", "account not found");
    const results: { client_order_id: string; order_id: string }[] = [];
    for (const c of changes) {
      const meta = this.byClient.get(`${accountId}\u0000${c.client_order_id}`);
      if (!meta) return err(404, "ORDER_NOT_FOUND", `order ${c.client_order_id} not found`);
      const order = this.orderOf(meta);
      if (!isOpen(order)) {
        return err(417, "ORDER_NOT_MODIFIABLE", `order is ${order.status}, it cannot be modified`);
      }
      const qty = c.quantity !== undefined ? dec(c.quantity) : undefined;
      if (qty !== undefined && (!isInteger(qty) || toInt(qty) <= order.filledQty)) {
        return err(417, "INVALID_QUANTITY", "quantity must be whole and above the filled quantity");
      }
      const spec = this.venue.spec(order.contract);
      for (const text of [c.limit_price, c.stop_price]) {
        const p = text !== undefined ? dec(text) : undefined;
        if (p !== undefined && spec && roundToStep(p, spec.tickSize) !== p) {
          return err(417, "INVALID_PRICE", "price is not a multiple of the tick size");
        }
      }
      const change = {
        ...(qty !== undefined ? { qty: toInt(qty) } : {}),
        ...(c.limit_price !== undefined && order.type === "limit" ? { price: dec(c.limit_price) } : {}),
        ...(c.stop_price !== undefined && order.type === "stop" ? { stopPrice: dec(c.stop_price) } : {}),
      };
      const result = this.venue.modify(meta.venueId, change);
      if (typeof result === "string") return err(417, "ORDER_NOT_MODIFIABLE", result);
      results.push({ client_order_id: meta.clientOrderId, order_id: meta.orderId });
    }
    const [first] = results;
    return ok(results.length === 1 ? first : { orders: results });
  }

  cancel(appKey: string, raw: unknown): Reply {
    const parsed = cancelBodySchema.safeParse(raw);
    if (!parsed.success) return err(400, "INVALID_PARAMETER", issueText(parsed.error));
    const { account_id: accountId, client_order_id: clientOrderId } = parsed.data;
    if (!this.owns(appKey, accountId)) return err(417, "ACCOUNT_NOT_FOUND", "account not found");
    const meta = this.byClient.get(`${accountId}\u0000${clientOrderId}`);
    if (!meta) return err(404, "ORDER_NOT_FOUND", `order ${clientOrderId} not found`);
    const result = this.venue.cancel(meta.venueId);
    if (typeof result === "string") {
      return err(417, "ORDER_NOT_CANCELLABLE", `${result}, it cannot be cancelled`);
    }
    return ok({ client_order_id: meta.clientOrderId, order_id: meta.orderId });
  }

  /** open (working orders, oldest first) and history (all orders, newest first), paged by client id. */
  list(appKey: string, query: URLSearchParams, which: "open" | "history"): Reply {
    const accountId = query.get("account_id") ?? "";
    if (!this.owns(appKey, accountId)) return err(417, "ACCOUNT_NOT_FOUND", "account not found");
    const size = Math.min(PAGE_MAX, Math.max(1, Number(query.get("page_size") ?? PAGE_DEFAULT) || 1));
    let rows = this.allOrders().filter((r) => r.meta.accountId === accountId);
    rows = which === "open" ? rows.filter((r) => isOpen(r.order)) : rows.reverse();
    const after = query.get("last_client_order_id");
    if (after) {
      const index = rows.findIndex((r) => r.meta.clientOrderId === after);
      rows = index >= 0 ? rows.slice(index + 1) : [];
    }
    const page = rows.slice(0, size);
    return ok({ has_next: rows.length > size, orders: page.map((r) => orderView(r.meta, r.order)) });
  }

  detail(appKey: string, query: URLSearchParams): Reply {
    const accountId = query.get("account_id") ?? "";
    if (!this.owns(appKey, accountId)) return err(417, "ACCOUNT_NOT_FOUND", "account not found");
    const clientOrderId = query.get("client_order_id") ?? "";
    const meta = this.byClient.get(`${accountId}\u0000${clientOrderId}`);
    if (!meta) return err(404, "ORDER_NOT_FOUND", `order ${clientOrderId} not found`);
    return ok({
      account_id: accountId,
      client_order_id: meta.clientOrderId,
      order_id: meta.orderId,
      combo_type: meta.comboType,
      orders: [orderView(meta, this.orderOf(meta))],
    });
  }

  accountList(appKey: string): Reply {
    const accounts = [...(this.apps.get(appKey)?.accounts ?? [])];
    return ok(
      accounts.map((id) => ({
        account_id: id,
        account_number: `SIM${id.slice(-6)}`,
        account_type: "MARGIN",
        account_class: "INDIVIDUAL",
        account_label: `Simulated ${id}`,
      })),
    );
  }

  balance(appKey: string, query: URLSearchParams): Reply {
    const accountId = query.get("account_id") ?? "";
    const view = this.owns(appKey, accountId) ? balanceView(this.venue, accountId) : undefined;
    return view ? ok(view) : err(417, "ACCOUNT_NOT_FOUND", "account not found");
  }

  positions(appKey: string, query: URLSearchParams): Reply {
    const accountId = query.get("account_id") ?? "";
    if (!this.owns(appKey, accountId)) return err(417, "ACCOUNT_NOT_FOUND", "account not found");
    const now = new Date(this.now());
    const open = this.venue.listPositions(accountId).filter((p) => p.netPos !== 0);
    return ok({
      has_next: false,
      positions: open.map((p) => positionView(this.venue, p, instrumentTypeOf(p.contract, now))),
    });
  }
}
