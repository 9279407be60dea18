import { describe, expect, it } from "vitest";
import { specFromTable } from "../../src/domain/contract";
import { dec, toStr } from "../../src/domain/decimal";
import { decodeSnapshot, encodeSnapshot } from "../../src/domain/venue/codec";
import { Venue } from "../../src/domain/venue/engine";
import type { VenueEvent } from "../../src/domain/venue/types";

const now = new Date("2026-11-21T15:00:00Z");
const C = "MNQZ6";

function venue() {
  const v = new Venue({ spec: (c) => specFromTable(c, now), clock: () => now.getTime() });
  v.addAccount("A", dec(50000));
  v.setPrice(C, dec("21000"));
  return v;
}

describe("venue matching engine", () => {
  it("fills market orders at the last price and tracks FIFO P&L exactly", () => {
    const v = venue();
    v.place({ account: "A", contract: C, side: "buy", type: "market", qty: 2 });
    v.setPrice(C, dec("21001"));
    v.place({ account: "A", contract: C, side: "buy", type: "market", qty: 1 });
    const p = v.position("A", C);
    expect(p?.netPos).toBe(3);
    expect(p && toStr(p.avgPrice ?? dec(0))).toBe("21000.333333333");
    v.setPrice(C, dec("21010.25"));
    expect(p && toStr(v.unrealized(p))).toBe(toStr(dec("59.5"))); // (10.25*2 + 9.25*1) * $2
    v.place({ account: "A", contract: C, side: "sell", type: "market", qty: 3 });
    expect(v.position("A", C)?.netPos).toBe(0);
    expect(toStr(v.account("A")?.realizedToday ?? dec(0))).toBe("59.5");
    expect(toStr(v.account("A")?.balance ?? dec(0))).toBe("50059.5");
  });

  it("reverses through zero: closes the long lots, opens a short", () => {
    const v = venue();
    v.place({ account: "A", contract: C, side: "buy", type: "market", qty: 1 });
    v.setPrice(C, dec("20990"));
    v.place({ account: "A", contract: C, side: "sell", type: "market", qty: 2 });
    const p = v.position("A", C);
    expect(p?.netPos).toBe(-1);
    expect(p?.lots).toEqual([{ qty: -1, price: dec("20990") }]);
    expect(toStr(p?.realized ?? dec(0))).toBe("-20");
  });

  it("holds bracket children until the entry fills, then OCO-links them", () => {
    const v = venue();
    const events: VenueEvent[] = [];
    v.on((e) => events.push(e));
    const { entry, children } = v.placeOso(
      { account: "A", contract: C, side: "buy", type: "limit", qty: 1, price: dec("20995") },
      [
        { account: "A", contract: C, side: "sell", type: "limit", qty: 1, price: dec("21005") },
        { account: "A", contract: C, side: "sell", type: "stop", qty: 1, stopPrice: dec("20985") },
      ],
    );
    expect(entry.status).toBe("working");
    expect(children.map((c) => c.status)).toEqual(["held", "held"]);
    v.setPrice(C, dec("21010")); // no fill: the entry is a buy limit below
    expect(v.order(children[0]?.id ?? 0)?.status).toBe("held");
    v.setPrice(C, dec("20995"));
    expect(v.order(entry.id)?.status).toBe("filled");
    expect(children.map((c) => v.order(c.id)?.status)).toEqual(["working", "working"]);
    v.setPrice(C, dec("21006"));
    expect(children.map((c) => v.order(c.id)?.status)).toEqual(["filled", "cancelled"]);
    expect(v.position("A", C)?.netPos).toBe(0);
    // The resting take-profit fills at its own price even though the market gapped past it: 10 points x $2.
    expect(toStr(v.account("A")?.realizedToday ?? dec(0))).toBe("20");
    expect(events.some((e) => e.type === "fill")).toBe(true);
  });

  it("fills stops at the market when price gaps through them", () => {
    const v = venue();
    v.place({ account: "A", contract: C, side: "buy", type: "market", qty: 1 });
    v.place({ account: "A", contract: C, side: "sell", type: "stop", qty: 1, stopPrice: dec("20990") });
    v.setPrice(C, dec("20980"));
    expect(toStr(v.account("A")?.realizedToday ?? dec(0))).toBe("-40");
  });

  it("rejects with reasons: no quote, bad price, unknown contract", () => {
    const v = venue();
    expect(
      v.place({ account: "A", contract: "ESZ6", side: "buy", type: "market", qty: 1 }).rejectReason,
    ).toBe("NoQuote");
    expect(
      v.place({ account: "A", contract: C, side: "buy", type: "stop", qty: 1, stopPrice: dec(0) })
        .rejectReason,
    ).toBe("InvalidPrice");
    expect(v.place({ account: "A", contract: "XYZ", side: "buy", type: "market", qty: 1 }).rejectReason).toBe(
      "InvalidContract",
    );
  });

  it("liquidates: cancels the contract's working orders and closes the position", () => {
    const v = venue();
    v.place({ account: "A", contract: C, side: "sell", type: "market", qty: 3 });
    const tp = v.place({
      account: "A",
      contract: C,
      side: "buy",
      type: "limit",
      qty: 3,
      price: dec("20900"),
    });
    const close = v.liquidate("A", C, "x1");
    expect(v.order(tp.id)?.status).toBe("cancelled");
    expect(close?.status).toBe("filled");
    expect(v.position("A", C)?.netPos).toBe(0);
    expect(v.orderByClientId("x1")?.id).toBe(close?.id);
  });

  it("survives a snapshot round trip through JSON", () => {
    const v = venue();
    v.place({ account: "A", contract: C, side: "buy", type: "market", qty: 1, clientOrderId: "c1" });
    v.place({ account: "A", contract: C, side: "sell", type: "limit", qty: 1, price: dec("21004.25") });
    const copy = new Venue({ spec: (c) => specFromTable(c, now) });
    copy.restore(decodeSnapshot(encodeSnapshot(v.snapshot())));
    expect(copy.orderByClientId("c1")?.status).toBe("filled");
    copy.setPrice(C, dec("21005"));
    expect(copy.position("A", C)?.netPos).toBe(0);
    expect(toStr(copy.account("A")?.realizedToday ?? dec(0))).toBe("8.5");
  });
});
