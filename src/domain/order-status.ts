/**
 * The life of one of our broker orders, as an explicit (status, report) -> status table.
 *
 * A report is what we just learned about the order: the broker acknowledged it, says it is working,
 * filled it, cancelled or rejected it, or we lost track of it (no answer: `unknown`). Most reports simply
 * become the new status; the table lists the exceptions, which all say one thing: a definite fact is not
 * undone by a vaguer or older one. A filled order stays filled; a rejection stays a rejection; a cancel
 * is undone only by the broker saying the order is still working (it wins over our assumption, because
 * an exit we wrongly think cancelled is a stop left working on a flat account).
 *
 * The database applies the same table when it marks orders (src/db/orders.ts builds its CASE from it), so
 * concurrent marks can never move an order backwards.
 *
 * @example nextStatus("filled", "working") // "filled": a late 'working' update never reopens a fill
 */

export type OrderStatus =
  | "sending"
  | "accepted"
  | "working"
  | "filled"
  | "cancelled"
  | "rejected"
  | "unknown";

export const ORDER_STATUSES: readonly OrderStatus[] = [
  "sending",
  "accepted",
  "working",
  "filled",
  "cancelled",
  "rejected",
  "unknown",
];

/** Statuses of an order that may still be (or become) live at the broker. */
export const LIVE_STATUSES: readonly OrderStatus[] = ["sending", "accepted", "working", "unknown"];

/** Exceptions to "the report becomes the status": from -> report -> status. */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, Partial<Record<OrderStatus, OrderStatus>>>> = {
  // Written before the order leaves: any report about it moves it on.
  sending: {},
  // An acknowledgment arriving after the order is known working says nothing new.
  accepted: { sending: "accepted" },
  working: { sending: "working", accepted: "working" },
  // Filled is final: only the broker's fills make it, and nothing reopens it.
  filled: {
    sending: "filled",
    accepted: "filled",
    working: "filled",
    cancelled: "filled",
    rejected: "filled",
    unknown: "filled",
  },
  // Cancelled on the broker's word or our assumption; a late acknowledgment or a lost answer does not
  // reopen it, but the broker reporting it working (or filled) does.
  cancelled: { sending: "cancelled", accepted: "cancelled", unknown: "cancelled", rejected: "cancelled" },
  // The broker's refusal is definite.
  rejected: {
    sending: "rejected",
    accepted: "rejected",
    working: "rejected",
    cancelled: "rejected",
    unknown: "rejected",
  },
  // We lost track: anything we learn next is better than what we have.
  unknown: {},
};

/** The status after `report`; see the table above. */
export function nextStatus(from: OrderStatus, report: OrderStatus): OrderStatus {
  return ORDER_TRANSITIONS[from][report] ?? report;
}

export const isOrderStatus = (s: string): s is OrderStatus => (ORDER_STATUSES as string[]).includes(s);
export const isLive = (s: string): boolean => (LIVE_STATUSES as string[]).includes(s);
