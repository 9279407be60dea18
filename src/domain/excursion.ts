/**
 * Maximum favourable and adverse excursion (MFE / MAE) of a round-trip trade: how far the market went for
 * and against it while it was open, in dollars. The extremes are the highest and lowest prices seen while
 * the trade was open: its own fill prices and the quotes the loss monitor received.
 *
 * Quantity is the trade's entered quantity at its average entry price (a trade that adds is measured as
 * if all of it had been on at its average), so for a closed trade the realized P&L is always between the
 * two: realized = (exit average - entry average) x qty x value per point, and every exit price lies in
 * [low, high]. MFE >= 0 >= MAE because every entry price lies in [low, high] too.
 *
 * @example
 *   const x = excursion({ direction: "long", entryQty: 2, entryValue: dec("200"), high: dec("103"), low: dec("99") }, dec(2));
 *   toStr(x.mfe) // "12"   ((103 - 100) x 2 x $2)
 *   toStr(x.mae) // "-4"   ((99 - 100) x 2 x $2)
 */
import { type Dec, max, min, mul, neg, sub, times } from "./decimal";

export interface Extremes {
  high: Dec;
  low: Dec;
}

/** The extremes with one more price seen. */
export function widen(e: Extremes | undefined, price: Dec): Extremes {
  return e ? { high: max(e.high, price), low: min(e.low, price) } : { high: price, low: price };
}

/** True when `price` lies outside the extremes (a new high or low). */
export function isNewExtreme(e: Extremes | undefined, price: Dec): boolean {
  return !e || price > e.high || price < e.low;
}

export interface ExcursionInput extends Extremes {
  direction: "long" | "short";
  entryQty: number;
  /** Sum of price x qty of the entries. */
  entryValue: Dec;
}

/**
 * MFE (>= 0) and MAE (<= 0) in dollars: (best - entry average) x qty x value per point and
 * (worst - entry average) x qty x value per point, best and worst in the trade's direction. Exact: the
 * entry average is never formed, (high x qty - entry value) needs no division.
 */
export function excursion(t: ExcursionInput, valuePerPoint: Dec): { mfe: Dec; mae: Dec } {
  const up = mul(sub(times(t.high, t.entryQty), t.entryValue), valuePerPoint);
  const down = mul(sub(times(t.low, t.entryQty), t.entryValue), valuePerPoint);
  return t.direction === "long" ? { mfe: up, mae: down } : { mfe: neg(down), mae: neg(up) };
}
