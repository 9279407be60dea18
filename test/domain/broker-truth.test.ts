/**
 * The one rule every close, flatten and protect decision goes through (src/domain/broker-truth.ts):
 * never send an order that takes the broker's real position through zero or opens one, unless the plan
 * opens it; exits only for what the broker confirms; the book follows the broker, never the reverse.
 * A table row per case, then properties over every size and sign.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  allowedQuantity,
  bookCorrections,
  closeQuantity,
  protectableQuantity,
  reducible,
} from "../../src/domain/broker-truth";
import type { Side } from "../../src/domain/venue/types";

const signed = (side: Side, qty: number) => (side === "buy" ? qty : -qty);

describe("closeQuantity: the trader's share, capped by what the broker holds", () => {
  const rows: [string, Parameters<typeof closeQuantity>[0], { qty: number; brokerShort: number }][] = [
    [
      "book and broker agree",
      { side: "sell", planned: 2, bookNet: 2, brokerNet: 2 },
      { qty: 2, brokerShort: 0 },
    ],
    [
      "closed by hand at the broker",
      { side: "sell", planned: 2, bookNet: 2, brokerNet: 0 },
      { qty: 0, brokerShort: 2 },
    ],
    [
      "partly closed by hand",
      { side: "sell", planned: 2, bookNet: 2, brokerNet: 1 },
      { qty: 1, brokerShort: 1 },
    ],
    [
      "the broker is short: a sell would add to it",
      { side: "sell", planned: 2, bookNet: 2, brokerNet: -3 },
      { qty: 0, brokerShort: 2 },
    ],
    [
      "others hold more at the broker: only our share",
      { side: "sell", planned: 2, bookNet: 2, brokerNet: 5 },
      { qty: 2, brokerShort: 0 },
    ],
    [
      "a short closes with a buy",
      { side: "buy", planned: 3, bookNet: -3, brokerNet: -3 },
      { qty: 3, brokerShort: 0 },
    ],
    [
      "a short closed by hand",
      { side: "buy", planned: 3, bookNet: -3, brokerNet: 0 },
      { qty: 0, brokerShort: 3 },
    ],
    [
      "partial exit of a larger position",
      { side: "sell", planned: 1, bookNet: 3, brokerNet: 3 },
      { qty: 1, brokerShort: 0 },
    ],
    [
      "the book is flat: nothing to close",
      { side: "sell", planned: 2, bookNet: 0, brokerNet: 2 },
      { qty: 0, brokerShort: 0 },
    ],
    [
      "the book holds the other way",
      { side: "sell", planned: 2, bookNet: -2, brokerNet: 2 },
      { qty: 0, brokerShort: 0 },
    ],
  ];
  it.each(rows)("%s", (_name, input, want) => {
    expect(closeQuantity(input)).toEqual(want);
  });
});

describe("allowedQuantity: only the plan opens", () => {
  it.each([
    ["an entry passes whole", { side: "buy" as Side, qty: 5, opens: true }, 0, 5],
    ["a close of a long", { side: "sell" as Side, qty: 2, opens: false }, 2, 2],
    ["a close on a flat account", { side: "sell" as Side, qty: 2, opens: false }, 0, 0],
    ["a close bigger than the position", { side: "sell" as Side, qty: 5, opens: false }, 2, 2],
    ["a buy to close on a long account", { side: "buy" as Side, qty: 1, opens: false }, 3, 0],
  ])("%s", (_name, order, brokerNet, qty) => {
    const got = allowedQuantity(order, brokerNet);
    expect(got.qty).toBe(qty);
    if (qty < order.qty) expect(got.cut).toMatch(/the broker shows/);
  });
});

describe("protectableQuantity: exits only for what the broker confirms", () => {
  it.each([
    [2, 2, 2],
    [2, 0, 0],
    [2, 1, 1],
    [2, 5, 2],
    [2, -2, 0],
    [-3, -1, -1],
    [0, 4, 0],
  ])("book %i, broker %i -> %i", (book, broker, want) => {
    expect(protectableQuantity(book, broker)).toBe(want);
  });
});

describe("bookCorrections: the book is cut to the broker, newest first", () => {
  const at = (s: number) => new Date(s * 1000);
  it("a flat broker flattens every book", () => {
    expect(
      bookCorrections(
        [
          { traderId: "a", netQty: 2 },
          { traderId: "b", netQty: 1 },
        ],
        0,
      ),
    ).toEqual({
      corrections: [
        { traderId: "a", from: 2, to: 0 },
        { traderId: "b", from: 1, to: 0 },
      ],
      unexplained: 0,
    });
  });
  it("a broker holding less cuts the newest positions first", () => {
    const plan = bookCorrections(
      [
        { traderId: "old", netQty: 2, openedAt: at(1) },
        { traderId: "new", netQty: 2, openedAt: at(2) },
      ],
      1,
    );
    expect(plan.corrections).toEqual([
      { traderId: "new", from: 2, to: 0 },
      { traderId: "old", from: 2, to: 1 },
    ]);
  });
  it("a broker holding more is reported, never attributed", () => {
    expect(bookCorrections([{ traderId: "a", netQty: 2 }], 5)).toEqual({ corrections: [], unexplained: 3 });
    expect(bookCorrections([], -2)).toEqual({ corrections: [], unexplained: -2 });
  });
  it("a broker holding the other way zeroes the books and reports its own position", () => {
    expect(bookCorrections([{ traderId: "a", netQty: 2 }], -1)).toEqual({
      corrections: [{ traderId: "a", from: 2, to: 0 }],
      unexplained: -1,
    });
  });
  it("traders on both sides cannot be corrected with certainty", () => {
    const plan = bookCorrections(
      [
        { traderId: "a", netQty: 2 },
        { traderId: "b", netQty: -1 },
      ],
      3,
    );
    expect(plan.corrections).toEqual([]);
    expect(plan.ambiguous).toMatch(/both long and short/);
  });
});

describe("properties", () => {
  const qty = fc.integer({ min: 0, max: 500 });
  const net = fc.integer({ min: -500, max: 500 });
  const side = fc.constantFrom<Side>("buy", "sell");

  it("a close never takes the broker's position through zero, never exceeds the plan or the book", () => {
    fc.assert(
      fc.property(side, qty, net, net, (s, planned, bookNet, brokerNet) => {
        const { qty: sent } = closeQuantity({ side: s, planned, bookNet, brokerNet });
        const after = brokerNet + signed(s, sent);
        expect(sent).toBeGreaterThanOrEqual(0);
        expect(sent).toBeLessThanOrEqual(planned);
        expect(sent).toBeLessThanOrEqual(reducible(s, bookNet));
        if (sent > 0) expect(Math.sign(after) === 0 || Math.sign(after) === Math.sign(brokerNet)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it("anything the plan does not open only ever reduces the broker's position", () => {
    fc.assert(
      fc.property(side, qty, net, (s, q, brokerNet) => {
        const { qty: sent } = allowedQuantity({ side: s, qty: q, opens: false }, brokerNet);
        expect(Math.abs(brokerNet + signed(s, sent))).toBeLessThanOrEqual(Math.abs(brokerNet));
        expect(Math.sign(brokerNet + signed(s, sent)) * Math.sign(brokerNet)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 5_000 },
    );
  });

  it("exits never cover more than the broker or the book holds, always on the book's side", () => {
    fc.assert(
      fc.property(net, net, (book, broker) => {
        const p = protectableQuantity(book, broker);
        expect(Math.abs(p)).toBeLessThanOrEqual(Math.min(Math.abs(book), Math.abs(broker)));
        if (p !== 0) expect(Math.sign(p)).toBe(Math.sign(book));
      }),
      { numRuns: 5_000 },
    );
  });

  it("corrections only ever shrink books toward zero, and leave them within what the broker holds", () => {
    const holders = fc.array(
      fc.record({ traderId: fc.uuid(), netQty: fc.integer({ min: -50, max: 50 }), openedAt: fc.date() }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(holders, net, (hs, broker) => {
        const unique = [...new Map(hs.map((h) => [h.traderId, h])).values()];
        const plan = bookCorrections(unique, broker);
        for (const c of plan.corrections) {
          expect(Math.abs(c.to)).toBeLessThan(Math.abs(c.from));
          expect(Math.sign(c.to) === 0 || Math.sign(c.to) === Math.sign(c.from)).toBe(true);
        }
        if (plan.ambiguous) return;
        const after = unique.map(
          (h) => plan.corrections.find((c) => c.traderId === h.traderId)?.to ?? h.netQty,
        );
        const sum = after.reduce((s, x) => s + x, 0);
        if (broker === 0) expect(after.every((x) => x === 0)).toBe(true);
        else if (sum !== 0) {
          expect(Math.sign(sum)).toBe(Math.sign(broker));
          expect(Math.abs(sum)).toBeLessThanOrEqual(Math.abs(broker));
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
