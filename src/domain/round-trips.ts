/**
 * Round-trip trades from a trader's fills in one contract, in time order. A trade opens when the position
 * leaves flat and closes when it returns to flat; adds and partial exits stay inside it, and a fill that
 * goes through zero (a reverse) closes one trade and opens the next with the excess.
 *
 * P&L is exactly what the relay books as realized P&L (`applyFill`, average cost): the sum of a trade's
 * P&L over its fills. Entry and exit averages are volume-weighted over the fills (or the parts of a
 * reversing fill) on each side. Nothing here is a second P&L formula.
 *
 * @example
 *   const { trades } = roundTrips([
 *     { side: "buy", qty: 1, price: dec("100"), at: t0, fillId: "a" },
 *     { side: "sell", qty: 1, price: dec("102"), at: t1, fillId: "b" },
 *   ], dec(2));
 *   toStr(trades[0].realized) // "4"
 */

import { add, type Dec, dec, div, times, ZERO } from "./decimal";
import { widen } from "./excursion";
import { applyFill, type BookPosition, FLAT } from "./position";
import type { Side } from "./venue/types";

export interface TradeFill {
  side: Side;
  qty: number;
  price: Dec;
  at: Date;
  fillId: string;
}

export interface RoundTrip {
  direction: "long" | "short";
  /** Contracts bought (long) or sold (short) to open and add. */
  entryQty: number;
  /** Sum of price x qty of the entries. */
  entryValue: Dec;
  exitQty: number;
  exitValue: Dec;
  /** Largest absolute position during the trade. */
  maxSize: number;
  /**
   * Highest and lowest price seen while the trade was open: its fill prices here; the loss monitor widens
   * them with the quotes it receives (src/monitor/excursions.ts). For MFE / MAE (src/domain/excursion.ts).
   */
  high: Dec;
  low: Dec;
  /** Signed position still open (0 once closed). */
  netQty: number;
  realized: Dec;
  openedAt: Date;
  closedAt?: Date;
  /** Fills that touched the trade (a reversing fill counts in both trades). */
  fills: number;
  openFillId: string;
  closeFillId?: string;
}

export const entryAvg = (t: RoundTrip): Dec => div(t.entryValue, dec(t.entryQty));
export const exitAvg = (t: RoundTrip): Dec | undefined =>
  t.exitQty > 0 ? div(t.exitValue, dec(t.exitQty)) : undefined;

function opened(f: TradeFill, qty: number): RoundTrip {
  return {
    direction: f.side === "buy" ? "long" : "short",
    entryQty: qty,
    entryValue: times(f.price, qty),
    exitQty: 0,
    exitValue: ZERO,
    maxSize: qty,
    high: f.price,
    low: f.price,
    netQty: f.side === "buy" ? qty : -qty,
    realized: ZERO,
    openedAt: f.at,
    fills: 1,
    openFillId: f.fillId,
  };
}

/**
 * Folds fills into round trips. `start` continues from a position and the trade it is in (the stored
 * open trade); every trade that the fills touch comes back, closed ones with `closedAt`, the open
 * remainder (if any) last without it. `position` is the book after the fills.
 */
export function roundTrips(
  fills: readonly TradeFill[],
  valuePerPoint: Dec,
  start: { position: BookPosition; open?: RoundTrip } = { position: FLAT },
): { trades: RoundTrip[]; position: BookPosition } {
  let position = start.position;
  let current = start.open ? { ...start.open } : undefined;
  const trades: RoundTrip[] = [];
  for (const f of fills) {
    const prior = position;
    const before = prior.netQty;
    const applied = applyFill(position, f.side, f.qty, f.price, valuePerPoint);
    position = applied.position;
    const after = position.netQty;
    if (before === 0) {
      current = opened(f, f.qty);
      trades.push(current);
      continue;
    }
    if (!current) {
      // A position the book holds without a trade for it (booked before trades were kept, or corrected
      // to the broker's position): a trade opens from the book at its average.
      current = { ...opened(f, Math.abs(before)), fills: 0 };
      current.direction = before > 0 ? "long" : "short";
      current.netQty = before;
      current.entryValue = times(prior.avgPrice ?? f.price, Math.abs(before));
      if (prior.avgPrice !== undefined) Object.assign(current, widen(current, prior.avgPrice));
      trades.push(current);
    }
    Object.assign(current, widen(current, f.price));
    const signed = f.side === "buy" ? f.qty : -f.qty;
    if (Math.sign(signed) === Math.sign(before)) {
      current.entryQty += f.qty;
      current.entryValue = add(current.entryValue, times(f.price, f.qty));
      current.netQty = after;
      current.maxSize = Math.max(current.maxSize, Math.abs(after));
      current.fills += 1;
      if (!trades.includes(current)) trades.push(current);
      continue;
    }
    const closing = Math.min(Math.abs(before), f.qty);
    current.exitQty += closing;
    current.exitValue = add(current.exitValue, times(f.price, closing));
    current.realized = add(current.realized, applied.realized);
    current.netQty = Math.sign(after) === Math.sign(before) ? after : 0;
    current.fills += 1;
    if (!trades.includes(current)) trades.push(current);
    if (current.netQty === 0) {
      current.closedAt = f.at;
      current.closeFillId = f.fillId;
      current = after !== 0 ? opened(f, Math.abs(after)) : undefined;
      if (current) trades.push(current);
    }
  }
  return { trades, position };
}
