/** Booking a fill report exactly once, whichever way and in whatever order its parts are reported. */
import { describe, expect, it } from "vitest";
import { newPart } from "../../src/db/orders";
import { type Dec, dec, toStr } from "../../src/domain/decimal";

type Order = { qty: number; filledQty: number; fillPrice: Dec | null };
const book = (o: Order, r: { qty: number; price: string; cumQty?: number }): Order => {
  const p = newPart(o, {
    qty: r.qty,
    price: dec(r.price),
    ...(r.cumQty !== undefined ? { cumQty: r.cumQty } : {}),
  });
  if (!p) return o;
  const filled = o.filledQty + p.qty;
  const value = (o.fillPrice ?? dec(0)) * BigInt(o.filledQty) + p.price * BigInt(p.qty);
  return { qty: o.qty, filledQty: filled, fillPrice: (value / BigInt(filled)) as Dec };
};
const fresh: Order = { qty: 2, filledQty: 0, fillPrice: null };
const show = (o: Order) => [o.filledQty, o.fillPrice === null ? null : toStr(o.fillPrice)];

describe("fill parts", () => {
  const fill1 = { qty: 1, price: "100", cumQty: 1 };
  const fill2 = { qty: 1, price: "102", cumQty: 2 };
  const reply = { qty: 2, price: "101", cumQty: 2 }; // the order reply's sum of both fills

  it("reply first, then each fill event: the events add nothing", () => {
    expect(show(book(book(book(fresh, reply), fill1), fill2))).toEqual([2, "101"]);
  });
  it("events first, then the reply: the reply adds nothing", () => {
    expect(show(book(book(book(fresh, fill1), fill2), reply))).toEqual([2, "101"]);
  });
  it("one event, then the reply: the reply's new part is priced exactly (102, not 101)", () => {
    const o = book(book(fresh, fill1), reply);
    expect(show(o)).toEqual([2, "101"]);
    expect(show(book(o, fill2))).toEqual([2, "101"]);
  });
  it("a partial reply, then the later fill", () => {
    const partial = { qty: 1, price: "100", cumQty: 1 };
    expect(show(book(book(fresh, partial), fill2))).toEqual([2, "101"]);
  });
  it("without cumulative quantities a report is a new fill, never beyond the order's size", () => {
    expect(
      show(
        book(book(book(fresh, { qty: 2, price: "101" }), { qty: 1, price: "100" }), { qty: 1, price: "102" }),
      ),
    ).toEqual([2, "101"]);
  });
});
