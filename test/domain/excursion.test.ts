/** MFE / MAE of round-trip trades (src/domain/excursion.ts): table cases and properties. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { abs, type Dec, dec, sub, toStr } from "../../src/domain/decimal";
import { excursion, isNewExtreme, widen } from "../../src/domain/excursion";
import { roundTrips, type TradeFill } from "../../src/domain/round-trips";

const t = (m: number) => new Date(Date.UTC(2026, 2, 10, 14, m));
const d = (s: string | number) => dec(s);

describe("excursion", () => {
  it("ME01 table: long and short, signs, exact dollars with fractional values per point", () => {
    const cases: [string, "long" | "short", number, string, string, string, string, string, string][] = [
      // name, direction, qty, entry value, high, low, value per point, mfe, mae
      ["long MNQ", "long", 2, "42000", "21010.25", "20990.5", "2", "41", "-38"],
      ["short MNQ", "short", 2, "42000", "21010.25", "20990.5", "2", "38", "-41"],
      ["long never moved", "long", 1, "100", "100", "100", "50", "0", "0"],
      [
        "short ZN, 1/64 and $15.625",
        "short",
        3,
        "330.140625",
        "110.09375",
        "109.984375",
        "1000",
        "187.5",
        "-140.625",
      ], // entry 110.046875,
      ["long averaged in", "long", 3, "302", "104", "99", "5", "50", "-25"],
    ];
    for (const [name, direction, entryQty, ev, hi, lo, vpp, mfe, mae] of cases) {
      const x = excursion({ direction, entryQty, entryValue: d(ev), high: d(hi), low: d(lo) }, d(vpp));
      expect([toStr(x.mfe), toStr(x.mae)], name).toEqual([mfe, mae]);
    }
  });

  it("ME02 extremes only widen; a price inside them is no news", () => {
    let e = widen(undefined, d("10"));
    expect(isNewExtreme(e, d("10"))).toBe(false);
    expect(isNewExtreme(e, d("10.25"))).toBe(true);
    e = widen(e, d("10.25"));
    e = widen(e, d("9.5"));
    e = widen(e, d("10"));
    expect([toStr(e.high), toStr(e.low)]).toEqual(["10.25", "9.5"]);
    expect(isNewExtreme(undefined, d("1"))).toBe(true);
  });

  it("ME03 round trips carry their fills' extremes; a book without a trade counts its average", () => {
    const f = (side: "buy" | "sell", qty: number, price: string, i: number): TradeFill => ({
      side,
      qty,
      price: d(price),
      at: t(i),
      fillId: `m${i}`,
    });
    const { trades } = roundTrips(
      [f("buy", 1, "100", 0), f("buy", 1, "97", 1), f("sell", 1, "103", 2), f("sell", 3, "101", 3)],
      d(1),
    );
    const [a, b] = trades;
    expect([toStr(a?.high ?? d("0")), toStr(a?.low ?? d("0"))]).toEqual(["103", "97"]);
    // The reversing fill opens the short at its price.
    expect([toStr(b?.high ?? d("0")), toStr(b?.low ?? d("0"))]).toEqual(["101", "101"]);
    const fromBook = roundTrips([f("sell", 1, "50", 4)], d(1), {
      position: { netQty: 1, avgPrice: d("45"), realized: d("0") },
    });
    expect([toStr(fromBook.trades[0]?.high ?? d("0")), toStr(fromBook.trades[0]?.low ?? d("0"))]).toEqual([
      "50",
      "45",
    ]);
  });
});

const fillArb = fc.record({
  side: fc.constantFrom("buy" as const, "sell" as const),
  qty: fc.integer({ min: 1, max: 7 }),
  ticks: fc.integer({ min: 1, max: 4000 }),
});
const tickArb = fc.constantFrom("0.25", "0.01", "0.0078125", "1").map(dec);
const vppArb = fc.constantFrom("2", "50", "15.625", "1000", "0.5").map(dec);

describe("excursion properties", () => {
  it("ME04 every trade: MAE <= 0 <= MFE, also with quotes beyond its fills; a closed trade's realized P&L per contract lies within [MAE, MFE] per contract", () => {
    fc.assert(
      fc.property(
        fc.array(fillArb, { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 5 }),
        tickArb,
        vppArb,
        (raw, quotes, tick, vpp) => {
          const fills: TradeFill[] = raw.map((r, i) => ({
            side: r.side,
            qty: r.qty,
            price: (tick * BigInt(r.ticks)) as Dec,
            at: t(i),
            fillId: `p${i}`,
          }));
          for (const trade of roundTrips(fills, vpp).trades) {
            let seen = { high: trade.high, low: trade.low };
            for (const q of quotes) seen = widen(seen, (tick * BigInt(q)) as Dec);
            for (const extremes of [trade, { ...trade, ...seen }]) {
              const { mfe, mae } = excursion(extremes, vpp);
              expect(mae <= 0n && mfe >= 0n, `${toStr(mae)} ${toStr(mfe)}`).toBe(true);
              if (!trade.closedAt) continue;
              // Per contract: realized / qty within [mae / qty, mfe / qty], the same qty (> 0) on all three.
              // The booked realized P&L uses the position's average rounded to nine places: allow that
              // rounding (a billionth per contract per fill, times the value per point).
              const slack = (BigInt(trade.fills * trade.entryQty) * (vpp / 1_000_000_000n + 1n)) as Dec;
              expect(trade.realized <= mfe + slack, `${toStr(trade.realized)} > ${toStr(mfe)}`).toBe(true);
              expect(trade.realized >= mae - slack, `${toStr(trade.realized)} < ${toStr(mae)}`).toBe(true);
              // Exactly (no rounding) the realized P&L is (exit value - entry value) x value per point.
              const exact = excursion(
                { ...extremes, high: trade.exitValue, low: trade.exitValue, entryQty: 1 },
                vpp,
              );
              expect(
                abs(sub(trade.direction === "long" ? exact.mfe : exact.mae, trade.realized)) <= slack,
              ).toBe(true);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
