/**
 * The broker is the truth. Every close, flatten and protect decision goes through this one rule:
 *
 *   never send an order that would take the broker's real position through zero, or open one, unless the
 *   plan opens it.
 *
 * A close sends at most what the broker shows open in the direction it closes (and never more than the
 * trader's own share); exits are placed only for a position the broker confirms; when the relay's book
 * and the broker disagree, the book is corrected to the broker, never the broker to the book.
 *
 * Quantities are signed contracts (positive long, negative short). Pure: callers read the broker.
 *
 * @example
 *   closeQuantity({ side: "sell", planned: 2, bookNet: 2, brokerNet: 0 })
 *   // { qty: 0, brokerShort: 2 }: closed by hand at the broker; sending would open a short
 */
import type { Side } from "./venue/types";

const describe = (n: number) => (n === 0 ? "flat" : `${n > 0 ? "long" : "short"} ${Math.abs(n)}`);

/** Contracts the broker holds that an order of `side` would reduce (a sell reduces a long). */
export function reducible(side: Side, brokerNet: number): number {
  return side === "sell" ? Math.max(brokerNet, 0) : Math.max(-brokerNet, 0);
}

/**
 * How much of an order may go to the broker. An order the plan opens with (an entry, an add) passes
 * whole; anything else may only reduce what the broker really holds.
 */
export function allowedQuantity(
  order: { side: Side; qty: number; opens: boolean },
  brokerNet: number,
): { qty: number; cut?: string } {
  if (order.opens) return { qty: order.qty };
  const room = reducible(order.side, brokerNet);
  if (order.qty <= room) return { qty: order.qty };
  return {
    qty: room,
    cut: `the broker shows ${describe(brokerNet)}: a ${order.side} of ${order.qty} would ${
      room === 0 ? "open a position" : "go through zero"
    }, so at most ${room} may be sent`,
  };
}

export interface CloseInput {
  /** Side of the closing order: "sell" closes a long. */
  side: Side;
  /** What the plan asked to close. */
  planned: number;
  /** The trader's booked position (signed). */
  bookNet: number;
  /** The broker's net position in the contract on the sub-account, all traders together (signed). */
  brokerNet: number;
}

export interface CloseDecision {
  /** Contracts to send now (0: nothing). */
  qty: number;
  /**
   * Contracts the book holds in the closing direction that the broker does not (closed outside the
   * relay, or never opened there): the book must be corrected by this much, it must never be "closed".
   */
  brokerShort: number;
}

/** A close of the trader's position: the trader's own share, capped by what the broker holds. */
export function closeQuantity(c: CloseInput): CloseDecision {
  const book = reducible(c.side, c.bookNet);
  const broker = reducible(c.side, c.brokerNet);
  const qty = Math.max(0, Math.min(c.planned, book, broker));
  return { qty, brokerShort: Math.max(0, book - broker) };
}

/**
 * Contracts of the trader's position that exits may cover: what the book holds and the broker confirms
 * in the same direction (signed like the position). Zero when the broker shows flat or the other way.
 */
export function protectableQuantity(bookNet: number, brokerNet: number): number {
  if (bookNet === 0 || Math.sign(bookNet) !== Math.sign(brokerNet)) return 0;
  return Math.sign(bookNet) * Math.min(Math.abs(bookNet), Math.abs(brokerNet));
}

export interface Holder {
  traderId: string;
  netQty: number;
  /** When the position opened; the newest is corrected first. */
  openedAt?: Date | null;
}

export interface BookCorrection {
  traderId: string;
  from: number;
  to: number;
}

export interface CorrectionPlan {
  corrections: BookCorrection[];
  /** Broker contracts no trader's book explains (left untouched, reported). */
  unexplained: number;
  /** Set when the book cannot be corrected with certainty (traders on both sides); report only. */
  ambiguous?: string;
}

/**
 * How the traders' books of one contract on one sub-account follow the broker's net position. The
 * books are cut, never grown: a book holding more (in its direction) than the broker has is reduced,
 * newest position first; a broker holding more than the books explain is reported, never attributed.
 */
export function bookCorrections(holders: Holder[], brokerNet: number): CorrectionPlan {
  const open = holders.filter((h) => h.netQty !== 0);
  const sum = open.reduce((s, h) => s + h.netQty, 0);
  const longs = open.some((h) => h.netQty > 0);
  const shorts = open.some((h) => h.netQty < 0);
  if (brokerNet === 0)
    return {
      corrections: open.map((h) => ({ traderId: h.traderId, from: h.netQty, to: 0 })),
      unexplained: 0,
    };
  if (longs && shorts) {
    return {
      corrections: [],
      unexplained: 0,
      ambiguous: `traders hold both long and short (book net ${describe(sum)}, broker ${describe(brokerNet)}); not corrected`,
    };
  }
  const direction = Math.sign(brokerNet);
  if (open.length === 0) return { corrections: [], unexplained: brokerNet };
  if (Math.sign(sum) !== direction) {
    // The broker holds the other way: every book in this contract is wrong, the broker's is unexplained.
    return {
      corrections: open.map((h) => ({ traderId: h.traderId, from: h.netQty, to: 0 })),
      unexplained: brokerNet,
    };
  }
  const excess = Math.abs(sum) - Math.abs(brokerNet);
  if (excess <= 0) return { corrections: [], unexplained: brokerNet - sum };
  const newestFirst = [...open].sort(
    (a, b) =>
      (b.openedAt?.getTime() ?? 0) - (a.openedAt?.getTime() ?? 0) || a.traderId.localeCompare(b.traderId),
  );
  let left = excess;
  const corrections: BookCorrection[] = [];
  for (const h of newestFirst) {
    if (left === 0) break;
    const cut = Math.min(left, Math.abs(h.netQty));
    corrections.push({ traderId: h.traderId, from: h.netQty, to: h.netQty - direction * cut });
    left -= cut;
  }
  return { corrections, unexplained: 0 };
}
