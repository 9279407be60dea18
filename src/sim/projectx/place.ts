/**
 * Order/place with the gateway's rules: types 1 Limit, 2 Market, 4 Stop, 5 TrailingStop; side 0 buy,
 * 1 sell; customTag unique per account; brackets `{ticks,type}` only in Auto OCO Brackets mode (signed:
 * for a long the stop is negative and the target positive), refused with code 2 yet with an order id in
 * Position Brackets mode. Bracket children wait suspended and are priced from the entry's real fill.
 */
import { abs, type Dec, isZero, sub } from "../../domain/decimal";
import type { VenueOrderRequest } from "../../domain/venue/types";
import type { Book } from "./book";
import { fail, ok, onTick, priceOf, type Result } from "./commands";
import { OrderType, type PxOrder } from "./models";
import type { SimAccount } from "./options";

export interface Bracket {
  ticks: number;
  type: number;
}

export interface PlaceInput {
  accountId: number;
  contractId: string;
  type: number;
  side: number;
  size: number;
  limitPrice?: number | null;
  stopPrice?: number | null;
  trailPrice?: number | null;
  customTag?: string | null;
  stopLossBracket?: Bracket | null;
  takeProfitBracket?: Bracket | null;
}

export const POSITION_BRACKETS_MESSAGE =
  "Brackets cannot be used with Position Brackets. You must enable Auto OCO Brackets.";
/** [UNCONFIRMED] wording: the gateway's text for a reused customTag is not in any source. */
export const DUPLICATE_TAG_MESSAGE = "An order with this custom tag already exists for this account.";

/** Checks a bracket's signed ticks: for a long the stop is below (negative) and the target above. */
function bracketError(b: Bracket | null | undefined, kind: "sl" | "tp", side: 0 | 1): string | undefined {
  if (!b) return undefined;
  if (!Number.isInteger(b.ticks) || b.ticks === 0)
    return `Invalid ${kind === "sl" ? "stop loss" : "take profit"} ticks.`;
  const wantPositive = (kind === "tp") === (side === 0);
  if (wantPositive !== b.ticks > 0)
    return `${kind === "sl" ? "Stop loss" : "Take profit"} ticks have the wrong sign for this side.`;
  if (kind === "sl" && b.type !== OrderType.Stop) return "Stop loss bracket type must be Stop.";
  if (kind === "tp" && b.type !== OrderType.Limit) return "Take profit bracket type must be Limit.";
  return undefined;
}

export function placeOrder(book: Book, account: SimAccount | undefined, input: PlaceInput): Result {
  if (!account) return fail(1, "Account not found.");
  if (!account.canTrade) return fail(4, "Account is not allowed to trade.");
  const contract = book.contracts.get(input.contractId);
  if (!contract) return fail(8, "Contract not found.");
  if (input.side !== 0 && input.side !== 1) return fail(2, "Invalid order side.");
  const side: 0 | 1 = input.side;
  if (!Number.isInteger(input.size) || input.size <= 0) return fail(2, "Invalid order size.");
  const tag = input.customTag ?? null;
  if (tag !== null && book.tags.get(account.id)?.has(tag)) return fail(2, DUPLICATE_TAG_MESSAGE);
  const limitPrice = priceOf(input.limitPrice);
  const stopPrice = priceOf(input.stopPrice);
  const trailPrice = priceOf(input.trailPrice);
  const base = { accountId: account.id, contractId: contract.id, side, size: input.size, customTag: tag };
  const now = book.now();
  const request: VenueOrderRequest = {
    account: String(account.id),
    contract: contract.id,
    side: side === 0 ? "buy" : "sell",
    type: "market",
    qty: input.size,
    ...(tag !== null ? { clientOrderId: tag } : {}),
  };
  let trailDistance: Dec | undefined;
  switch (input.type) {
    case OrderType.Limit:
      if (!limitPrice || !onTick(limitPrice, contract)) return fail(2, "Invalid limit price.");
      Object.assign(request, { type: "limit", price: limitPrice });
      break;
    case OrderType.Market:
      break;
    case OrderType.Stop:
      if (!stopPrice || !onTick(stopPrice, contract)) return fail(2, "Invalid stop price.");
      Object.assign(request, { type: "stop", stopPrice });
      break;
    case OrderType.TrailingStop: {
      const last = book.venue.lastPrice(contract.id);
      if (!trailPrice || !onTick(trailPrice, contract) || last === undefined)
        return fail(2, "Invalid trail price.");
      trailDistance = abs(sub(last, trailPrice));
      if (isZero(trailDistance) || trailDistance / contract.tickSize > 1000n)
        return fail(2, "Trail distance must be between 1 and 1000 ticks.");
      Object.assign(request, { type: "stop", stopPrice: trailPrice });
      break;
    }
    default:
      return fail(2, "Unsupported order type.");
  }
  const sl = input.stopLossBracket ?? null;
  const tp = input.takeProfitBracket ?? null;
  if (sl || tp) {
    if (!account.autoOco) {
      // The gateway refuses the order yet still hands out an order id.
      const id = book.newOrderId();
      book.register(
        {
          ...base,
          id,
          type: input.type,
          limitPrice,
          stopPrice,
          createdAt: now,
          updatedAt: now,
        },
        false,
      );
      return fail(2, POSITION_BRACKETS_MESSAGE, { orderId: id });
    }
    const reason = bracketError(sl, "sl", side) ?? bracketError(tp, "tp", side);
    if (reason) return fail(2, reason);
  }
  return book.batch(() => {
    const id = book.newOrderId();
    let entryVenueId: number;
    if (sl || tp) {
      const placeholder = limitPrice ?? stopPrice ?? book.venue.lastPrice(contract.id) ?? contract.tickSize;
      const exitSide = side === 0 ? "sell" : "buy";
      const children: { kind: "SL" | "TP"; request: VenueOrderRequest }[] = [];
      for (const [kind, b] of [
        ["SL", sl],
        ["TP", tp],
      ] as const) {
        if (!b) continue;
        children.push({
          kind,
          request: {
            account: String(account.id),
            contract: contract.id,
            side: exitSide,
            qty: input.size,
            text: `bracket:${b.ticks}`,
            ...(kind === "SL"
              ? { type: "stop", stopPrice: placeholder }
              : { type: "limit", price: placeholder }),
            ...(tag !== null ? { clientOrderId: `${tag}-${kind}` } : {}),
          },
        });
      }
      const placed = book.venue.placeOso(
        request,
        children.map((c) => c.request),
      );
      entryVenueId = placed.entry.id;
      const accepted = placed.entry.status !== "rejected";
      book.register(
        { ...base, id, type: input.type, venueId: entryVenueId, createdAt: now, updatedAt: now },
        accepted,
      );
      const ids: Record<string, number> = {};
      children.forEach((c, i) => {
        const venueChild = placed.children[i];
        if (!venueChild) return;
        const childId = book.newOrderId();
        ids[c.kind] = childId;
        const child: PxOrder = {
          accountId: account.id,
          contractId: contract.id,
          side: side === 0 ? 1 : 0,
          size: input.size,
          customTag: tag === null ? null : `${tag}-${c.kind}`,
          id: childId,
          type: c.kind === "SL" ? OrderType.Stop : OrderType.Limit,
          venueId: venueChild.id,
          parentOrderId: id,
          createdAt: now,
          updatedAt: now,
        };
        // Live traffic: only the take-profit carries a link, pointing at the stop.
        if (c.kind === "TP" && ids.SL !== undefined) child.linkedOrderId = ids.SL;
        book.register(child, accepted);
      });
    } else {
      const placed = book.venue.place(request);
      entryVenueId = placed.id;
      book.register(
        {
          ...base,
          id,
          type: input.type,
          venueId: entryVenueId,
          ...(trailDistance !== undefined ? { trailDistance } : {}),
          createdAt: now,
          updatedAt: now,
        },
        placed.status !== "rejected",
      );
    }
    const venueOrder = book.venue.order(entryVenueId);
    if (venueOrder?.status === "rejected")
      return fail(2, `Order rejected: ${venueOrder.rejectReason ?? "unknown reason"}.`, { orderId: id });
    return ok({ orderId: id });
  });
}
