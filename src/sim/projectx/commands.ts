/**
 * Order and position commands with the gateway's per-endpoint error codes (reference section A9):
 * cancel, modify, closeContract and partialCloseContract; place lives in place.ts.
 */
import { abs, type Dec, dec, sub } from "../../domain/decimal";
import type { Book } from "./book";
import type { SimContract } from "./contracts";
import { OrderStatus, OrderType, type PxOrder } from "./models";
import type { SimAccount } from "./options";

export interface Result {
  errorCode: number;
  errorMessage: string | null;
  payload?: Record<string, unknown>;
}

export const ok = (payload?: Record<string, unknown>): Result => ({
  errorCode: 0,
  errorMessage: null,
  payload,
});
export const fail = (errorCode: number, errorMessage: string, payload?: Record<string, unknown>): Result => ({
  errorCode,
  errorMessage,
  payload,
});

export function onTick(price: Dec, contract: SimContract): boolean {
  return price > 0n && price % contract.tickSize === 0n;
}

export function priceOf(value: number | null | undefined): Dec | undefined {
  return value === null || value === undefined ? undefined : dec(value);
}

function findOrder(book: Book, account: SimAccount | undefined, orderId: number): PxOrder | Result {
  if (!account) return fail(1, "Account not found.");
  const order = book.orders.get(orderId);
  if (!order || order.accountId !== account.id) return fail(2, "Order not found.");
  return order;
}

const FINAL = new Set<number>([
  OrderStatus.Filled,
  OrderStatus.Cancelled,
  OrderStatus.Expired,
  OrderStatus.Rejected,
]);
const STATUS_WORDS: Record<number, string> = { 2: "filled", 3: "cancelled", 4: "expired", 5: "rejected" };

export function cancelOrder(book: Book, account: SimAccount | undefined, orderId: number): Result {
  const order = findOrder(book, account, orderId);
  if (!("id" in order)) return order;
  const status = book.status(order);
  if (FINAL.has(status) || order.venueId === undefined)
    return fail(3, `Order is already ${STATUS_WORDS[status] ?? "closed"}.`);
  const result = book.venue.cancel(order.venueId);
  return typeof result === "string" ? fail(3, result) : ok();
}

export interface ModifyInput {
  size?: number | null;
  limitPrice?: number | null;
  stopPrice?: number | null;
  trailPrice?: number | null;
}

export function modifyOrder(
  book: Book,
  account: SimAccount | undefined,
  orderId: number,
  input: ModifyInput,
): Result {
  const order = findOrder(book, account, orderId);
  if (!("id" in order)) return order;
  const status = book.status(order);
  if (FINAL.has(status) || order.venueId === undefined)
    return fail(3, `Order is already ${STATUS_WORDS[status] ?? "closed"}.`);
  if (status === OrderStatus.Suspended) return fail(3, "Order is suspended until its parent fills.");
  const contract = book.contracts.get(order.contractId);
  if (!contract) return fail(7, "Contract not found.");
  const change: { qty?: number; price?: Dec; stopPrice?: Dec } = {};
  if (input.size !== undefined && input.size !== null) {
    if (!Number.isInteger(input.size) || input.size <= 0) return fail(3, "Invalid order size.");
    change.qty = input.size;
  }
  const limit = priceOf(input.limitPrice);
  const stop = priceOf(input.stopPrice);
  const trail = priceOf(input.trailPrice);
  if (limit !== undefined) {
    if (order.type !== OrderType.Limit || !onTick(limit, contract)) return fail(3, "Invalid limit price.");
    change.price = limit;
  }
  if (stop !== undefined) {
    if (order.type !== OrderType.Stop || !onTick(stop, contract)) return fail(3, "Invalid stop price.");
    change.stopPrice = stop;
  }
  if (trail !== undefined) {
    const last = book.venue.lastPrice(order.contractId);
    if (order.type !== OrderType.TrailingStop || last === undefined || !onTick(trail, contract))
      return fail(3, "Invalid trail price.");
    order.trailDistance = abs(sub(last, trail));
    change.stopPrice = trail;
  }
  const result = book.venue.modify(order.venueId, change);
  return typeof result === "string" ? fail(3, result) : ok();
}

/** closeContract (size undefined) or partialCloseContract; partial inserts InvalidCloseSize at 5. */
export function closeContract(
  book: Book,
  account: SimAccount | undefined,
  contractId: string,
  size?: number,
): Result {
  const partial = size !== undefined;
  if (!account) return fail(1, "Account not found.");
  const contract = book.contracts.get(contractId);
  if (!contract) return fail(3, "Contract not found.");
  const position = book.venue.position(String(account.id), contract.id);
  if (!position || position.netPos === 0) return fail(2, "Position not found.");
  const open = Math.abs(position.netPos);
  if (partial && (!Number.isInteger(size) || size <= 0 || size > open)) return fail(5, "Invalid close size.");
  const qty = partial ? size : open;
  const exitSide = position.netPos > 0 ? "sell" : "buy";
  return book.batch(() => {
    const id = book.newOrderId();
    const now = book.now();
    const placed = book.venue.place({
      account: String(account.id),
      contract: contract.id,
      side: exitSide,
      type: "market",
      qty,
      text: "close",
    });
    book.register({
      id,
      venueId: placed.id,
      accountId: account.id,
      contractId: contract.id,
      type: OrderType.Market,
      side: exitSide === "sell" ? 1 : 0,
      size: qty,
      customTag: null,
      createdAt: now,
      updatedAt: now,
    });
    if (placed.status === "rejected") return fail(partial ? 6 : 5, `Close rejected: ${placed.rejectReason}.`);
    return ok();
  });
}
