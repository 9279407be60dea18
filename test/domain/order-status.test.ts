/**
 * The order status table (src/domain/order-status.ts): every (status, report) pair, and what it must
 * never do: reopen a fill, undo a rejection, or let a vague report overwrite a definite one. The same
 * table is applied by the database when orders are marked (checked on a real PostgreSQL in test/db).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextStatus, ORDER_STATUSES, type OrderStatus } from "../../src/domain/order-status";

const table: [OrderStatus, OrderStatus, OrderStatus][] = [
  ["sending", "accepted", "accepted"],
  ["sending", "working", "working"],
  ["sending", "unknown", "unknown"],
  ["sending", "rejected", "rejected"],
  ["accepted", "working", "working"],
  ["accepted", "sending", "accepted"],
  ["working", "accepted", "working"],
  ["working", "cancelled", "cancelled"],
  ["working", "unknown", "unknown"],
  ["unknown", "working", "working"],
  ["unknown", "cancelled", "cancelled"],
  ["unknown", "filled", "filled"],
  ["filled", "working", "filled"],
  ["filled", "cancelled", "filled"],
  ["filled", "unknown", "filled"],
  ["cancelled", "accepted", "cancelled"],
  ["cancelled", "unknown", "cancelled"],
  ["cancelled", "working", "working"],
  ["cancelled", "filled", "filled"],
  ["cancelled", "sending", "cancelled"],
  ["rejected", "working", "rejected"],
  ["rejected", "cancelled", "rejected"],
  ["rejected", "filled", "filled"],
];

describe("order status transitions", () => {
  it.each(table)("%s + %s -> %s", (from, report, to) => {
    expect(nextStatus(from, report)).toBe(to);
  });

  it("a filled order stays filled whatever is reported after", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ORDER_STATUSES), { maxLength: 20 }), (reports) => {
        expect(reports.reduce(nextStatus, "filled" as OrderStatus)).toBe("filled");
      }),
    );
  });

  it("a report never turns a definite outcome into 'unknown' or back into 'sending' by acknowledgment", () => {
    for (const from of ["filled", "cancelled", "rejected"] as OrderStatus[]) {
      expect(nextStatus(from, "unknown")).toBe(from);
      expect(nextStatus(from, "accepted")).toBe(from);
    }
  });

  it("a fill is the only report that ends a rejection", () => {
    for (const report of ORDER_STATUSES) {
      const to = nextStatus("rejected", report);
      expect(to === "rejected" || (report === "filled" && to === "filled")).toBe(true);
    }
  });
});
