/**
 * Tradovate (and NinjaTrader Brokerage) protocol simulator. Import from here only.
 */
export type { CatalogEntry } from "./catalog";
export type { ManualDesk, ManualKind, ManualRecord } from "./manual";
export type { RequestFilter } from "./recorder";
export { TradovateSim } from "./sim";
export { type StandaloneOptions, type StandaloneSim, startStandalone } from "./standalone";
export type * from "./types";
export type { RandomWalkOptions } from "./walk";
