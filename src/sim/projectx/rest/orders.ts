/** Order routes: place, cancel, modify, searchOpen, search, searchById, v2/query. */
import { z } from "zod";
import { cancelOrder, modifyOrder } from "../commands";
import { OrderStatus } from "../models";
import { placeOrder } from "../place";
import { okResult, type Route, route, type SimState } from "../state";

const price = z.number().finite().nullish();
const bracket = z.object({ ticks: z.number(), type: z.number().int() }).nullish();
const accountOnly = z.object({ accountId: z.number().int() }).loose();
const timestamp = z.string().nullish();

export function inRange(
  ms: number,
  start: string | null | undefined,
  end: string | null | undefined,
): boolean {
  const from = start ? Date.parse(start) : Number.NEGATIVE_INFINITY;
  const to = end ? Date.parse(end) : Number.POSITIVE_INFINITY;
  return ms >= from && ms <= to;
}

function notFound(state: SimState, user: string | undefined, accountId: number) {
  return state.account(user, accountId) ? undefined : { errorCode: 1, errorMessage: "Account not found." };
}

export const orderRoutes: Record<string, Route> = {
  "/api/Order/place": route(
    z
      .object({
        accountId: z.number().int(),
        contractId: z.string(),
        type: z.number().int(),
        side: z.number().int(),
        size: z.number(),
        limitPrice: price,
        stopPrice: price,
        trailPrice: price,
        customTag: z.string().nullish(),
        stopLossBracket: bracket,
        takeProfitBracket: bracket,
      })
      .loose(),
    (state, user, body) => {
      const account = state.account(user, body.accountId);
      const tag = body.customTag ?? null;
      const duplicateTag =
        tag !== null && account !== undefined && !!state.book.tags.get(account.id)?.has(tag);
      const result = placeOrder(state.book, account, body);
      const orderId = result.payload?.orderId;
      state.recorder.placements.push({
        accountId: body.accountId,
        customTag: tag,
        ...(typeof orderId === "number" ? { orderId } : {}),
        success: result.errorCode === 0,
        errorCode: result.errorCode,
        duplicateTag,
        at: state.now(),
      });
      return result;
    },
  ),
  "/api/Order/cancel": route(
    z.object({ accountId: z.number().int(), orderId: z.number().int() }).loose(),
    (state, user, body) => cancelOrder(state.book, state.account(user, body.accountId), body.orderId),
  ),
  "/api/Order/modify": route(
    z
      .object({
        accountId: z.number().int(),
        orderId: z.number().int(),
        size: z.number().nullish(),
        limitPrice: price,
        stopPrice: price,
        trailPrice: price,
      })
      .loose(),
    (state, user, body) => modifyOrder(state.book, state.account(user, body.accountId), body.orderId, body),
  ),
  "/api/Order/searchOpen": route(accountOnly, (state, user, body) => {
    const missing = notFound(state, user, body.accountId);
    if (missing) return missing;
    const orders = state.book
      .ordersOf(body.accountId)
      .filter((o) => state.book.status(o) === OrderStatus.Open)
      .map((o) => state.book.model(o));
    return okResult({ orders });
  }),
  "/api/Order/search": route(
    z.object({ accountId: z.number().int(), startTimestamp: timestamp, endTimestamp: timestamp }).loose(),
    (state, user, body) => {
      const missing = notFound(state, user, body.accountId);
      if (missing) return missing;
      const orders = state.book
        .ordersOf(body.accountId)
        .filter((o) => inRange(o.createdAt, body.startTimestamp, body.endTimestamp))
        .map((o) => state.book.model(o));
      return okResult({ orders });
    },
  ),
  "/api/Order/searchById": route(
    z.object({ accountId: z.number().int(), orderId: z.number().int() }).loose(),
    (state, user, body) => {
      const missing = notFound(state, user, body.accountId);
      if (missing) return missing;
      const order = state.book.orders.get(body.orderId);
      return okResult({
        order: order && order.accountId === body.accountId ? state.book.model(order) : null,
      });
    },
  ),
  "/api/Order/v2/query": route(
    z
      .object({
        filter: z
          .object({
            accountId: z.number().int(),
            statuses: z.array(z.number().int()).nullish(),
            contractId: z.string().nullish(),
          })
          .loose(),
        pageSize: z.number().int().positive().max(1000).optional(),
        pageOffset: z.number().int().min(0).optional(),
        sortDirection: z.number().int().optional(),
        includeTotalCount: z.boolean().optional(),
      })
      .loose(),
    (state, user, body) => {
      const { filter } = body;
      const missing = notFound(state, user, filter.accountId);
      if (missing) return missing;
      const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
      const all = state.book
        .ordersOf(filter.accountId)
        .filter((o) => !statuses || statuses.has(state.book.status(o)))
        .filter((o) => !filter.contractId || o.contractId === filter.contractId)
        .sort((a, b) => (body.sortDirection === 0 ? a.id - b.id : b.id - a.id));
      const offset = body.pageOffset ?? 0;
      const page = all.slice(offset, offset + (body.pageSize ?? 50)).map((o) => state.book.model(o));
      return okResult({ orders: page, ...(body.includeTotalCount ? { totalCount: all.length } : {}) });
    },
  ),
};
