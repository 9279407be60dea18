/**
 * Order endpoints: placeorder, placeoso, placeoco, modifyorder, cancelorder, liquidateposition.
 * Validation failures are HTTP 200 `{failureReason, failureText}` and create no order; schema violations
 * are HTTP 400. Orders go to the Venue; the EntityStore turns its events into entities and props.
 */
import { type Dec, dec, roundToStep } from "../../domain/decimal";
import type { VenueOrderRequest, VenueOrderType } from "../../domain/venue/types";
import type { SimAccount, SimUser } from "./auth";
import type { CatalogEntry } from "./catalog";
import {
  accessDenied,
  badRequest,
  type CallContext,
  failure,
  ok,
  type Reply,
  type SimWorld,
} from "./context";
import { type NewOrderContext, TERMINAL } from "./entities";
import {
  CancelOrder,
  issueText,
  LiquidatePosition,
  ModifyOrder,
  PlaceOco,
  PlaceOrder,
  type PlaceOrderBody,
  PlaceOso,
  type RestrainedBody,
} from "./requests";
import type { OrderRole } from "./types";

const TYPES: Record<string, VenueOrderType> = {
  Market: "market",
  Limit: "limit",
  Stop: "stop",
  // Rests as a stop; trails.ts moves its stopPrice with the market.
  TrailingStop: "stop",
};

interface Leg {
  action: "Buy" | "Sell";
  orderType: string;
  price?: number;
  stopPrice?: number;
  clOrdId?: string;
  timeInForce?: string;
  text?: string;
}

interface Prepared {
  account: SimAccount;
  entry: CatalogEntry;
}

function userOf(ctx: CallContext): SimUser {
  if (!ctx.user) throw new Error("order endpoint called without a user");
  return ctx.user;
}

function resolveAccount(user: SimUser, body: { accountId?: number; accountSpec?: string }) {
  if (body.accountId !== undefined) return user.accountById.get(body.accountId);
  if (body.accountSpec !== undefined) return user.accountByName.get(body.accountSpec);
  return undefined;
}

function prepare(world: SimWorld, ctx: CallContext, body: PlaceOrderBody): Prepared | Reply {
  const account = resolveAccount(userOf(ctx), body);
  const entry = world.catalog.contractByName(body.symbol);
  if (!account || !entry) return accessDenied();
  if (!Number.isInteger(body.orderQty) || body.orderQty <= 0)
    return failure("UnknownReason", "Invalid order quantity");
  return { account, entry };
}

const onTick = (price: Dec, tick: Dec) => roundToStep(price, tick) === price;

/** Checks one leg's type and prices; returns the Venue request or a failure reply. */
function leg(world: SimWorld, p: Prepared, l: Leg, qty: number): VenueOrderRequest | Reply {
  const type = TYPES[l.orderType];
  if (!type) return failure("Unsupported", `Order type ${l.orderType} is not supported`);
  const tick = p.entry.spec.tickSize;
  const name = p.entry.contract.name;
  const request: VenueOrderRequest = {
    account: String(p.account.id),
    contract: name,
    side: l.action === "Buy" ? "buy" : "sell",
    type,
    qty,
    ...(l.clOrdId !== undefined ? { clientOrderId: l.clOrdId } : {}),
  };
  if (type === "limit") {
    if (l.price === undefined || l.price <= 0) return failure("InvalidPrice", "Limit order requires a price");
    const price = dec(l.price);
    if (!onTick(price, tick))
      return failure("InvalidPrice", `Price ${l.price} is not a multiple of the tick size`);
    request.price = price;
  } else if (type === "stop") {
    if (l.stopPrice === undefined || l.stopPrice <= 0)
      return failure("InvalidPrice", "Stop order requires a stopPrice");
    const stop = dec(l.stopPrice);
    if (!onTick(stop, tick))
      return failure("InvalidPrice", `Stop price ${l.stopPrice} is not a multiple of the tick size`);
    request.stopPrice = stop;
  } else if (world.venue.lastPrice(name) === undefined) {
    return failure("NoQuote", `No quote available for ${name}`);
  }
  return request;
}

const isReply = (v: Reply | Prepared | VenueOrderRequest): v is Reply => "status" in v;

function context(ctx: CallContext, l: Leg, isAutomated: boolean | undefined): NewOrderContext {
  return {
    userId: userOf(ctx).id,
    orderType: l.orderType,
    isAutomated: isAutomated === true,
    ...(l.clOrdId !== undefined ? { clOrdId: l.clOrdId } : {}),
    timeInForce: l.timeInForce ?? "Day",
    ...(l.text !== undefined ? { text: l.text } : {}),
  };
}

function record(
  world: SimWorld,
  ctx: CallContext,
  orderId: number,
  p: Prepared,
  l: Leg,
  qty: number,
  role: OrderRole,
  isAutomated: boolean | undefined,
) {
  world.recorder.order({
    orderId,
    accountId: p.account.id,
    user: userOf(ctx).name,
    contract: p.entry.contract.name,
    role,
    endpoint: ctx.endpoint,
    transport: ctx.transport,
    ...(l.clOrdId !== undefined ? { clOrdId: l.clOrdId } : {}),
    isAutomated: isAutomated === true,
    action: l.action,
    orderType: l.orderType,
    qty,
    ...(l.price !== undefined ? { price: l.price } : {}),
    ...(l.stopPrice !== undefined ? { stopPrice: l.stopPrice } : {}),
    at: world.now(),
  });
}

const withoutQty = (r: RestrainedBody): Leg => r;

/** A TrailingStop needs a quote to know its distance, and a stopPrice away from the market. */
function trailProblem(world: SimWorld, l: Leg, r: VenueOrderRequest): Reply | undefined {
  if (l.orderType !== "TrailingStop" || r.stopPrice === undefined) return undefined;
  const last = world.venue.lastPrice(r.contract);
  if (last === undefined) return failure("NoQuote", `No quote available for ${r.contract}`);
  if (last === r.stopPrice)
    return failure("InvalidPrice", "A trailing stop needs a stopPrice away from the market");
  return undefined;
}

function armTrail(world: SimWorld, l: Leg, orderId: number, r: VenueOrderRequest): void {
  if (l.orderType === "TrailingStop" && r.stopPrice !== undefined)
    world.trails.arm(orderId, r.contract, r.stopPrice);
}

export function placeOrder(world: SimWorld, ctx: CallContext, raw: unknown): Reply {
  const parsed = PlaceOrder.safeParse(raw);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const body = parsed.data;
  const p = prepare(world, ctx, body);
  if (isReply(p)) return p;
  const request = leg(world, p, body, body.orderQty);
  if (isReply(request)) return request;
  const noTrail = trailProblem(world, body, request);
  if (noTrail) return noTrail;
  const order = world.store.withNewOrders([context(ctx, body, body.isAutomated)], () =>
    world.venue.place(request),
  );
  armTrail(world, body, order.id, request);
  record(world, ctx, order.id, p, body, body.orderQty, "order", body.isAutomated);
  return ok({ orderId: order.id });
}

export function placeOso(world: SimWorld, ctx: CallContext, raw: unknown): Reply {
  const parsed = PlaceOso.safeParse(raw);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const body = parsed.data;
  const p = prepare(world, ctx, body);
  if (isReply(p)) return p;
  const entry = leg(world, p, body, body.orderQty);
  if (isReply(entry)) return entry;
  const brackets = [body.bracket1, ...(body.bracket2 ? [body.bracket2] : [])].map(withoutQty);
  const children: VenueOrderRequest[] = [];
  for (const b of brackets) {
    const child = leg(world, p, b, body.orderQty);
    if (isReply(child)) return child;
    children.push(child);
  }
  const contexts = [body, ...brackets].map((l) => context(ctx, l, body.isAutomated));
  const placed = world.store.withNewOrders(contexts, () => world.venue.placeOso(entry, children));
  record(world, ctx, placed.entry.id, p, body, body.orderQty, "order", body.isAutomated);
  placed.children.forEach((c, i) => {
    const b = brackets[i];
    if (b) record(world, ctx, c.id, p, b, body.orderQty, "bracket", body.isAutomated);
  });
  return ok({
    orderId: placed.entry.id,
    ...(placed.children[0] ? { oso1Id: placed.children[0].id } : {}),
    ...(placed.children[1] ? { oso2Id: placed.children[1].id } : {}),
  });
}

export function placeOco(world: SimWorld, ctx: CallContext, raw: unknown): Reply {
  const parsed = PlaceOco.safeParse(raw);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const body = parsed.data;
  const p = prepare(world, ctx, body);
  if (isReply(p)) return p;
  const first = leg(world, p, body, body.orderQty);
  if (isReply(first)) return first;
  const other = withoutQty(body.other);
  const second = leg(world, p, other, body.orderQty);
  if (isReply(second)) return second;
  const noTrail = trailProblem(world, body, first) ?? trailProblem(world, other, second);
  if (noTrail) return noTrail;
  const contexts = [context(ctx, body, body.isAutomated), context(ctx, other, body.isAutomated)];
  const [a, b] = world.store.withNewOrders(contexts, () => world.venue.placeOco(first, second));
  armTrail(world, body, a.id, first);
  armTrail(world, other, b.id, second);
  record(world, ctx, a.id, p, body, body.orderQty, "oco", body.isAutomated);
  record(world, ctx, b.id, p, other, body.orderQty, "oco", body.isAutomated);
  return ok({ orderId: a.id, ocoId: b.id });
}

function ownedOrder(world: SimWorld, ctx: CallContext, orderId: number) {
  const order = world.store.orders.get(orderId);
  if (!order || !userOf(ctx).accountById.has(order.accountId)) return undefined;
  return order;
}

export function modifyOrder(world: SimWorld, ctx: CallContext, raw: unknown): Reply {
  const parsed = ModifyOrder.safeParse(raw);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const body = parsed.data;
  const order = ownedOrder(world, ctx, body.orderId);
  if (!order) return accessDenied();
  if (TERMINAL.has(order.ordStatus)) return failure("TooLate", `Order is already ${order.ordStatus}`);
  const current = world.store.latestVersion(order.id);
  if (current && current.orderType !== body.orderType)
    return failure("Unsupported", "Changing the order type is not supported");
  if (!Number.isInteger(body.orderQty) || body.orderQty <= 0)
    return failure("UnknownReason", "Invalid order quantity");
  const entry = world.catalog.contractById(order.contractId);
  if (!entry) return accessDenied();
  const change: { qty: number; price?: Dec; stopPrice?: Dec } = { qty: body.orderQty };
  for (const field of ["price", "stopPrice"] as const) {
    const value = body[field];
    if (value === undefined) continue;
    if (value <= 0 || !onTick(dec(value), entry.spec.tickSize))
      return failure("InvalidPrice", `${field} ${value} is not a valid price`);
    change[field] = dec(value);
  }
  const command = world.store.newCommand(order, "Modify", {
    ...(body.clOrdId !== undefined ? { clOrdId: body.clOrdId } : {}),
    isAutomated: body.isAutomated === true,
    userId: userOf(ctx).id,
  });
  const result = world.store.withCommand(command, () => world.venue.modify(order.id, change));
  if (typeof result === "string") return failure("UnknownReason", result);
  // A trailing stop given a new stopPrice trails from there, at its new distance from the market.
  if (current?.orderType === "TrailingStop" && change.stopPrice !== undefined)
    world.trails.arm(order.id, entry.contract.name, change.stopPrice);
  return ok({ commandId: command.id });
}

export function cancelOrder(world: SimWorld, ctx: CallContext, raw: unknown): Reply {
  const parsed = CancelOrder.safeParse(raw);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const body = parsed.data;
  const order = ownedOrder(world, ctx, body.orderId);
  if (!order) return accessDenied();
  if (TERMINAL.has(order.ordStatus)) return failure("TooLate", `Order is already ${order.ordStatus}`);
  const command = world.store.newCommand(order, "Cancel", {
    ...(body.clOrdId !== undefined ? { clOrdId: body.clOrdId } : {}),
    isAutomated: body.isAutomated === true,
    userId: userOf(ctx).id,
  });
  const result = world.store.withCommand(command, () => world.venue.cancel(order.id));
  if (typeof result === "string") return failure("UnknownReason", result);
  return ok({ commandId: command.id });
}

export function liquidatePosition(world: SimWorld, ctx: CallContext, raw: unknown): Reply {
  const parsed = LiquidatePosition.safeParse(raw);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const body = parsed.data;
  const user = userOf(ctx);
  const account = user.accountById.get(body.accountId);
  const entry = world.catalog.contractById(body.contractId);
  if (!account || !entry) return accessDenied();
  const name = entry.contract.name;
  const position = world.venue.position(String(account.id), name);
  if (position && position.netPos !== 0 && world.venue.lastPrice(name) === undefined)
    return failure("NoQuote", `No quote available for ${name}`);
  const l: Leg = {
    action: position && position.netPos > 0 ? "Sell" : "Buy",
    orderType: "Market",
    text: "liquidate",
  };
  const order = world.store.withNewOrders([context(ctx, l, false)], () =>
    world.venue.liquidate(String(account.id), name),
  );
  if (!order) return ok({});
  record(world, ctx, order.id, { account, entry }, l, order.qty, "liquidation", false);
  return ok({ orderId: order.id });
}
