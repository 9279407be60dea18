/**
 * What the simulator can trade: dated futures contracts from the domain product table ("MNQZ6", "ESZ5")
 * and US equities with a multiplier of 1 and a 0.01 tick. Continuous symbols ("MNQ1!") are not tradable,
 * as at the real broker.
 */
import { type ContractSpec, parseSymbol, specFromTable } from "../../domain/contract";
import { dec } from "../../domain/decimal";

export type InstrumentType = "FUTURES" | "EQUITY";

const EQUITY_SYMBOL = /^[A-Z][A-Z.]{0,5}$/;
const EQUITY_TICK = dec("0.01");
const EQUITY_MULTIPLIER = dec("1");

/** Spec of a dated futures contract, only when `symbol` is exactly its contract name. */
export function futuresSpec(symbol: string, now: Date): ContractSpec | undefined {
  if (parseSymbol(symbol, now).kind !== "dated") return undefined;
  const spec = specFromTable(symbol, now);
  return spec && spec.name === symbol ? spec : undefined;
}

export function equitySpec(symbol: string, now: Date): ContractSpec | undefined {
  if (!EQUITY_SYMBOL.test(symbol) || futuresSpec(symbol, now)) return undefined;
  return { name: symbol, root: symbol, tickSize: EQUITY_TICK, valuePerPoint: EQUITY_MULTIPLIER };
}

export function specFor(type: InstrumentType, symbol: string, now: Date): ContractSpec | undefined {
  return type === "FUTURES" ? futuresSpec(symbol, now) : equitySpec(symbol, now);
}

/** Venue spec lookup: a symbol is a futures contract when the product table knows it, else an equity. */
export function anySpec(symbol: string, now: Date): ContractSpec | undefined {
  return futuresSpec(symbol, now) ?? equitySpec(symbol, now);
}

export function instrumentTypeOf(symbol: string, now: Date): InstrumentType {
  return futuresSpec(symbol, now) ? "FUTURES" : "EQUITY";
}

/** Category as Webull names it on orders and events ("US_FUTURES", "US_STOCK"). */
export function categoryOf(type: InstrumentType): string {
  return type === "FUTURES" ? "US_FUTURES" : "US_STOCK";
}
