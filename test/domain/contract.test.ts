import { describe, expect, it } from "vitest";
import { frontMonth, parseSymbol, rootOf, specFromTable, tickValue } from "../../src/domain/contract";
import { toStr } from "../../src/domain/decimal";

const at = (iso: string) => new Date(iso);

describe("contracts", () => {
  it("reads continuous, dated and exchange-prefixed symbols", () => {
    expect(parseSymbol("MNQ1!")).toEqual({ kind: "continuous", root: "MNQ", nth: 1 });
    expect(parseSymbol("CME_MINI:MNQ1!")).toEqual({ kind: "continuous", root: "MNQ", nth: 1 });
    expect(parseSymbol("M2K1!")).toEqual({ kind: "continuous", root: "M2K", nth: 1 });
    expect(parseSymbol("6E1!")).toEqual({ kind: "continuous", root: "6E", nth: 1 });
    expect(parseSymbol("MNQZ2026")).toEqual({ kind: "dated", root: "MNQ", month: 12, year: 2026 });
    expect(parseSymbol("MNQZ6", at("2026-11-21"))).toEqual({
      kind: "dated",
      root: "MNQ",
      month: 12,
      year: 2026,
    });
    expect(parseSymbol("ESH27", at("2026-11-21"))).toEqual({
      kind: "dated",
      root: "ES",
      month: 3,
      year: 2027,
    });
    expect(parseSymbol("AAPL")).toEqual({ kind: "other", text: "AAPL" });
  });

  it("matches roots whole, never by prefix", () => {
    expect(rootOf("ES1!")).toBe("ES");
    expect(rootOf("MES1!")).toBe("MES");
    expect(rootOf("ESZ6")).toBe("ES");
    expect(rootOf("MESZ6")).toBe("MES");
    expect(rootOf("GC1!")).toBe("GC");
    expect(rootOf("CL1!")).toBe("CL");
    expect(rootOf("SIL1!")).toBe("SIL");
  });

  it("rolls equity index futures about eight days before the third Friday", () => {
    // December 2026 expires Friday the 18th; the roll is on the 10th.
    expect(frontMonth("MNQ", at("2026-11-21T15:00:00Z"))).toEqual({ month: 12, year: 2026 });
    expect(frontMonth("MNQ", at("2026-12-09T15:00:00Z"))).toEqual({ month: 12, year: 2026 });
    expect(frontMonth("MNQ", at("2026-12-11T15:00:00Z"))).toEqual({ month: 3, year: 2027 });
    expect(frontMonth("MNQ", at("2026-11-21T15:00:00Z"), 2)).toEqual({ month: 3, year: 2027 });
  });

  it("gives tick sizes and values from the product table", () => {
    const mnq = specFromTable("MNQ1!", at("2026-11-21"));
    expect(mnq?.name).toBe("MNQZ6");
    expect(mnq && toStr(tickValue(mnq))).toBe("0.5");
    const zn = specFromTable("ZN1!", at("2026-11-21"));
    expect(zn && toStr(tickValue(zn))).toBe("15.625");
    expect(specFromTable("XYZ1!")).toBeUndefined();
  });
});
