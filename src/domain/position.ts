/**
 * A trader's own position in one contract, as the relay books it from real fills: signed quantity,
 * average price and realized dollars. Exact arithmetic; the average is rounded to nine places only for
 * display and exit placement.
 */
import { add, type Dec, dec, div, mul, sub, times, ZERO } from "./decimal";
import type { Side } from "./venue/types";

export interface BookPosition {
  netQty: number;
  avgPrice?: Dec;
  realized: Dec;
}

export const FLAT: BookPosition = { netQty: 0, realized: ZERO };

/** Applies one fill; returns the new position and the dollars this fill realized. */
export function applyFill(
  p: BookPosition,
  side: Side,
  qty: number,
  price: Dec,
  valuePerPoint: Dec,
): { position: BookPosition; realized: Dec } {
  const signed = side === "buy" ? qty : -qty;
  const net = p.netQty;
  if (net === 0 || Math.sign(net) === Math.sign(signed)) {
    const total = Math.abs(net) + qty;
    const cost = add(times(p.avgPrice ?? ZERO, Math.abs(net)), times(price, qty));
    return {
      position: { netQty: net + signed, avgPrice: div(cost, dec(total)), realized: p.realized },
      realized: ZERO,
    };
  }
  const closing = Math.min(Math.abs(net), qty);
  const direction = net > 0 ? 1 : -1;
  const realized = times(mul(sub(price, p.avgPrice ?? price), valuePerPoint), closing * direction);
  const after = net + signed;
  let avgPrice: Dec | undefined;
  if (after === 0) avgPrice = undefined;
  else if (Math.sign(after) === Math.sign(net)) avgPrice = p.avgPrice;
  else avgPrice = price; // flipped through zero: the remainder opened at this fill
  const position: BookPosition = { netQty: after, realized: add(p.realized, realized) };
  if (avgPrice !== undefined) position.avgPrice = avgPrice;
  return { position, realized };
}
