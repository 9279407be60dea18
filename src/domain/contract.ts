/**
 * Futures contracts: product specs (tick size, value per point), symbol parsing and the calendar front
 * month. Brokers that publish product data (Tradovate, ProjectX) override the table; it is the fallback
 * for the paper broker and for brokers without a product lookup.
 *
 * Roots are matched whole: ES, ESM (not a product) and MES are three different things, never a prefix.
 */
import { type Dec, dec, mul } from "./decimal";

export interface ContractSpec {
  /** The tradable contract, e.g. "MNQZ6". */
  name: string;
  /** The product root, e.g. "MNQ". */
  root: string;
  tickSize: Dec;
  /** Dollars per one point of price; a tick is worth tickSize x valuePerPoint. */
  valuePerPoint: Dec;
  /** The broker's own id where it has one (Tradovate contract id, ProjectX "CON.F.US.MNQ.Z25"). */
  brokerContractId?: string;
}

export const tickValue = (c: Pick<ContractSpec, "tickSize" | "valuePerPoint">): Dec =>
  mul(c.tickSize, c.valuePerPoint);

type Cycle = "quarterly" | "monthly" | "metals" | "grains" | "bimonthlyGold";

interface Product {
  tickSize: string;
  valuePerPoint: string;
  cycle: Cycle;
  /** Days before expiry at which volume moves to the next contract. */
  rollDays: number;
}

const Q = (tickSize: string, valuePerPoint: string): Product => ({
  tickSize,
  valuePerPoint,
  cycle: "quarterly",
  rollDays: 8,
});
const M = (tickSize: string, valuePerPoint: string, rollDays = 5): Product => ({
  tickSize,
  valuePerPoint,
  cycle: "monthly",
  rollDays,
});

/** CME Group product specs in use by our users (tick size in points, dollars per point). */
export const PRODUCTS: Readonly<Record<string, Product>> = {
  ES: Q("0.25", "50"),
  MES: Q("0.25", "5"),
  NQ: Q("0.25", "20"),
  MNQ: Q("0.25", "2"),
  YM: Q("1", "5"),
  MYM: Q("1", "0.5"),
  RTY: Q("0.1", "50"),
  M2K: Q("0.1", "5"),
  EMD: Q("0.1", "100"),
  NKD: Q("5", "5"),
  ZB: Q("0.03125", "1000"),
  UB: Q("0.03125", "1000"),
  ZN: Q("0.015625", "1000"),
  TN: Q("0.015625", "1000"),
  ZF: Q("0.0078125", "1000"),
  ZT: Q("0.00390625", "2000"),
  "6E": Q("0.00005", "125000"),
  M6E: Q("0.0001", "12500"),
  "6B": Q("0.0001", "62500"),
  "6J": Q("0.0000005", "12500000"),
  "6A": Q("0.00005", "100000"),
  "6C": Q("0.00005", "100000"),
  "6S": Q("0.00005", "125000"),
  GC: { tickSize: "0.1", valuePerPoint: "100", cycle: "bimonthlyGold", rollDays: 30 },
  MGC: { tickSize: "0.1", valuePerPoint: "10", cycle: "bimonthlyGold", rollDays: 30 },
  SI: { tickSize: "0.005", valuePerPoint: "5000", cycle: "metals", rollDays: 30 },
  SIL: { tickSize: "0.005", valuePerPoint: "1000", cycle: "metals", rollDays: 30 },
  HG: { tickSize: "0.0005", valuePerPoint: "25000", cycle: "metals", rollDays: 30 },
  MHG: { tickSize: "0.0005", valuePerPoint: "2500", cycle: "metals", rollDays: 30 },
  CL: M("0.01", "1000", 10),
  MCL: M("0.01", "100", 10),
  QM: M("0.025", "500", 10),
  NG: M("0.001", "10000", 10),
  QG: M("0.005", "2500", 10),
  RB: M("0.0001", "42000", 10),
  HO: M("0.0001", "42000", 10),
  BTC: M("5", "5", 3),
  MBT: M("5", "0.1", 3),
  ETH: M("0.5", "50", 3),
  MET: M("0.5", "0.1", 3),
  ZC: { tickSize: "0.25", valuePerPoint: "50", cycle: "grains", rollDays: 20 },
  ZS: { tickSize: "0.25", valuePerPoint: "50", cycle: "grains", rollDays: 20 },
  ZW: { tickSize: "0.25", valuePerPoint: "50", cycle: "grains", rollDays: 20 },
  ZL: { tickSize: "0.01", valuePerPoint: "600", cycle: "grains", rollDays: 20 },
  ZM: { tickSize: "0.1", valuePerPoint: "100", cycle: "grains", rollDays: 20 },
  HE: M("0.025", "400", 10),
  LE: M("0.025", "400", 10),
};

export const MONTH_CODES = "FGHJKMNQUVXZ";

const CYCLE_MONTHS: Record<Cycle, number[]> = {
  quarterly: [3, 6, 9, 12],
  monthly: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  bimonthlyGold: [2, 4, 6, 8, 10, 12],
  metals: [3, 5, 7, 9, 12],
  grains: [3, 5, 7, 9, 12],
};

export type ParsedSymbol =
  | { kind: "continuous"; root: string; nth: number }
  | { kind: "dated"; root: string; month: number; year: number }
  | { kind: "other"; text: string };

const CONTINUOUS = /^([A-Z0-9]+?)([1-9])!$/;
const DATED = /^([A-Z0-9]+?)([FGHJKMNQUVXZ])(\d{1,4})$/;

/**
 * Reads a TradingView or broker symbol: "MNQ1!", "CME_MINI:MNQ1!", "MNQZ2026", "MNQZ6", "MNQZ26".
 * One-digit years are placed in the decade nearest `now`.
 */
export function parseSymbol(input: string, now: Date = new Date()): ParsedSymbol {
  const text = input
    .trim()
    .toUpperCase()
    .replace(/^[A-Z_]+:/, "");
  const c = CONTINUOUS.exec(text);
  if (c?.[1] && c[2]) return { kind: "continuous", root: c[1], nth: Number(c[2]) };
  const d = DATED.exec(text);
  if (d?.[1] && d[2] && d[3] && d[3].length !== 3 && PRODUCTS[d[1]]) {
    const month = MONTH_CODES.indexOf(d[2]) + 1;
    return { kind: "dated", root: d[1], month, year: expandYear(d[3], now) };
  }
  return { kind: "other", text };
}

function expandYear(digits: string, now: Date): number {
  const current = now.getUTCFullYear();
  if (digits.length === 4) return Number(digits);
  const mod = digits.length === 1 ? 10 : 100;
  const base = current - (current % mod);
  let year = base + Number(digits);
  if (year < current - 1) year += mod;
  return year;
}

/** Broker-style contract name: MNQ + Z + 6 = "MNQZ6". */
export function contractName(root: string, month: number, year: number): string {
  return `${root}${MONTH_CODES[month - 1]}${year % 10}`;
}

/** Third Friday of a month, the usual expiry of equity-index and FX futures. */
function thirdFriday(year: number, month: number): Date {
  const first = new Date(Date.UTC(year, month - 1, 1));
  const offset = (5 - first.getUTCDay() + 7) % 7;
  return new Date(Date.UTC(year, month - 1, 1 + offset + 14));
}

/** Approximate last trade date used only for the calendar roll. */
function approximateExpiry(product: Product, year: number, month: number): Date {
  if (product.cycle === "quarterly") return thirdFriday(year, month);
  // Energy and others expire in the month before delivery; a mid-prior-month date is close enough when
  // combined with rollDays, and brokers with a lookup always win over this table.
  return new Date(Date.UTC(year, month - 1, 1) - 7 * 86_400_000);
}

/**
 * Calendar front month for a root, or the nth contract after it for "2!" and up.
 * Used only when the broker offers no contract lookup.
 */
export function frontMonth(root: string, now: Date = new Date(), nth = 1): { month: number; year: number } {
  const product = PRODUCTS[root];
  if (!product) throw new RangeError(`unknown product ${root}`);
  const months = CYCLE_MONTHS[product.cycle];
  let year = now.getUTCFullYear();
  let found = 0;
  for (let guard = 0; guard < 60; guard++) {
    for (const month of months) {
      const expiry = approximateExpiry(product, year, month);
      const rollAt = expiry.getTime() - product.rollDays * 86_400_000;
      if (now.getTime() < rollAt) {
        found++;
        if (found === nth) return { month, year };
      }
    }
    year++;
  }
  throw new RangeError(`no contract found for ${root}`);
}

/** Spec for a contract from the product table, or undefined for an unknown product. */
export function specFromTable(name: string, now: Date = new Date()): ContractSpec | undefined {
  const parsed = parseSymbol(name, now);
  if (parsed.kind === "other") return undefined;
  const product = PRODUCTS[parsed.root];
  if (!product) return undefined;
  const { month, year } = parsed.kind === "dated" ? parsed : frontMonth(parsed.root, now, parsed.nth);
  return {
    name: contractName(parsed.root, month, year),
    root: parsed.root,
    tickSize: dec(product.tickSize),
    valuePerPoint: dec(product.valuePerPoint),
  };
}

/** A stock ticker as Webull trades it (the one broker here that trades equities besides futures). */
export const EQUITY_TICKER = /^[A-Z][A-Z.]{0,5}$/;

/**
 * Why a symbol cannot be traded by this relay, in a trader's words, or undefined when it can: a futures
 * product of the table above (continuous "MNQ1!" or dated "MNQZ6", exchange prefix allowed), or, where
 * an equities broker follows the signal, a stock ticker.
 *
 * @example symbolProblem("XYZ1!", { equities: false }) // 'unknown ticker "XYZ1!": ...'
 */
export function symbolProblem(symbol: string, o: { equities: boolean; now?: Date }): string | undefined {
  const parsed = parseSymbol(symbol, o.now);
  if (parsed.kind !== "other" && PRODUCTS[parsed.root]) return undefined;
  const bare = symbol
    .trim()
    .toUpperCase()
    .replace(/^[A-Z_]+:/, "");
  if (o.equities && EQUITY_TICKER.test(bare)) return undefined;
  return `Unknown ticker "${symbol.slice(0, 40)}": not a futures product this relay trades (such as MNQ1!, ES1!, NQZ6, CL1!, GC1!)${
    o.equities ? " nor a stock ticker" : ""
  }. Check the alert's "ticker" or the recorder's ticker setting.`;
}

/** Product root of a contract or continuous symbol, matched whole ("ESZ6" -> "ES", "MESZ6" -> "MES"). */
export function rootOf(symbol: string): string | undefined {
  const parsed = parseSymbol(symbol);
  return parsed.kind === "other" ? undefined : parsed.root;
}
