/** Round-trip trades from fills: table cases and properties against the relay's own realized P&L. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Dec, dec, sum, toStr, ZERO } from "../../src/domain/decimal";
import { applyFill, type BookPosition, FLAT } from "../../src/domain/position";
import { entryAvg, exitAvg, roundTrips, type TradeFill } from "../../src/domain/round-trips";

function must<T>(x: T | undefined): T {
  if (x === undefined) throw new Error("missing");
  return x;
}
const t = (m: number) => new Date(Date.UTC(2026, 2, 10, 14, m));
let n = 0;
const fill = (side: "buy" | "sell", qty: number, price: string, m = n): TradeFill => ({
  side,
  qty,
  price: dec(price),
  at: t(m),
  fillId: `f${n++}`,
});

describe("round trips", () => {
  it("RT01 buy, add, partial exit, exit: one trade with volume-weighted averages and booked P&L", () => {
    const { trades, position } = roundTrips(
      [fill("buy", 1, "100"), fill("buy", 1, "102"), fill("sell", 1, "104"), fill("sell", 1, "105")],
      dec(2),
    );
    expect(trades).toHaveLength(1);
    const [tr] = trades;
    expect(tr?.direction).toBe("long");
    expect(toStr(entryAvg(must(tr)))).toBe("101");
    expect(toStr(must(exitAvg(must(tr))))).toBe("104.5");
    expect(tr?.maxSize).toBe(2);
    expect(tr?.fills).toBe(4);
    expect(toStr(must(tr).realized)).toBe("14"); // (104-101)*2 + (105-101)*2
    expect(tr?.closedAt).toBeDefined();
    expect(position.netQty).toBe(0);
  });

  it("RT02 a reverse closes one trade and opens the next with the excess", () => {
    const { trades } = roundTrips([fill("sell", 2, "50.25"), fill("buy", 5, "50")], dec(50));
    expect(trades).toHaveLength(2);
    const [a, b] = trades;
    expect(a?.direction).toBe("short");
    expect(a?.exitQty).toBe(2);
    expect(toStr(must(a).realized)).toBe("25");
    expect(a?.closeFillId).toBe(b?.openFillId);
    expect(b?.direction).toBe("long");
    expect(b?.entryQty).toBe(3);
    expect(b?.netQty).toBe(3);
    expect(b?.closedAt).toBeUndefined();
    expect(toStr(must(b).realized)).toBe("0");
  });

  it("RT03 continuing a stored open trade and a book without a trade", () => {
    const first = roundTrips([fill("buy", 2, "10")], dec(1));
    const open = must(first.trades[0]);
    const more = roundTrips([fill("sell", 2, "11")], dec(1), { position: first.position, open });
    expect(more.trades).toHaveLength(1);
    expect(more.trades[0]?.fills).toBe(2);
    expect(toStr(must(more.trades[0]).realized)).toBe("2");
    const book: BookPosition = { netQty: -3, avgPrice: dec("20"), realized: ZERO };
    const fromBook = roundTrips([fill("buy", 3, "19")], dec(1), { position: book });
    expect(fromBook.trades[0]?.direction).toBe("short");
    expect(toStr(entryAvg(must(fromBook.trades[0])))).toBe("20");
    expect(toStr(must(fromBook.trades[0]).realized)).toBe("3");
  });
});

const fillArb = fc.record({
  side: fc.constantFrom("buy" as const, "sell" as const),
  qty: fc.integer({ min: 1, max: 7 }),
  ticks: fc.integer({ min: 0, max: 4000 }),
});
const tickArb = fc.constantFrom("0.25", "0.01", "0.0078125", "1").map(dec);
const vppArb = fc.constantFrom("2", "50", "15.625", "1000", "0.5").map(dec);

function fillsOf(raw: { side: "buy" | "sell"; qty: number; ticks: number }[], tick: Dec): TradeFill[] {
  return raw.map((r, i) => ({
    side: r.side,
    qty: r.qty,
    price: (tick * BigInt(r.ticks)) as Dec,
    at: t(i),
    fillId: `p${i}`,
  }));
}

describe("round trip properties", () => {
  it("RT04 the trades' P&L sums to the realized P&L applyFill books for the same fills", () => {
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 40 }), tickArb, vppArb, (raw, tick, vpp) => {
        const fills = fillsOf(raw, tick);
        let p = FLAT;
        for (const f of fills) p = applyFill(p, f.side, f.qty, f.price, vpp).position;
        const { trades, position } = roundTrips(fills, vpp);
        expect(sum(trades.map((x) => x.realized))).toBe(p.realized);
        expect(position).toEqual(p);
      }),
      { numRuns: 500 },
    );
  });

  it("RT05 trades partition the fills: one open remainder at most, entries = exits + open size", () => {
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 40 }), tickArb, (raw, tick) => {
        const fills = fillsOf(raw, tick);
        const { trades, position } = roundTrips(fills, dec(1));
        const open = trades.filter((x) => !x.closedAt);
        expect(open.length).toBeLessThanOrEqual(1);
        if (position.netQty !== 0) {
          expect(trades.at(-1)?.closedAt).toBeUndefined();
          expect(trades.at(-1)?.netQty).toBe(position.netQty);
        } else expect(open).toHaveLength(0);
        for (const x of trades) {
          expect(x.entryQty).toBe(x.exitQty + Math.abs(x.netQty));
          expect(x.maxSize).toBeGreaterThanOrEqual(Math.abs(x.netQty));
        }
        // Every contract traded is an entry or an exit of exactly one trade (a reverse splits exactly).
        const traded = fills.reduce((s, f) => s + f.qty, 0);
        expect(trades.reduce((s, x) => s + x.entryQty + x.exitQty, 0)).toBe(traded);
        // Fills counted: each fill once, a reversing fill twice.
        const reversals = trades.filter((x, i) => i > 0 && trades[i - 1]?.closeFillId === x.openFillId);
        expect(trades.reduce((s, x) => s + x.fills, 0)).toBe(fills.length + reversals.length);
      }),
      { numRuns: 500 },
    );
  });

  it("RT06 splitting the fills anywhere and continuing from the open trade gives the same trades", () => {
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 30 }), fc.nat(), tickArb, vppArb, (raw, cut, tick, vpp) => {
        const fills = fillsOf(raw, tick);
        const k = fills.length ? cut % (fills.length + 1) : 0;
        const whole = roundTrips(fills, vpp);
        const head = roundTrips(fills.slice(0, k), vpp);
        const open = head.trades.find((x) => !x.closedAt);
        const tail = roundTrips(fills.slice(k), vpp, { position: head.position, ...(open ? { open } : {}) });
        const closedHead = head.trades.filter((x) => x.closedAt);
        // A trade the tail's fills do not touch (no tail) is the head's open trade as it was.
        const touched = k < fills.length ? tail.trades : open ? [open] : [];
        expect([...closedHead, ...touched]).toEqual(whole.trades);
      }),
      { numRuns: 500 },
    );
  });
});
