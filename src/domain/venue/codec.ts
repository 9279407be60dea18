/** JSON form of a venue snapshot (decimals as strings), for the paper broker's persisted state. */
import { type Dec, dec, toStr } from "../decimal";
import type { VenueSnapshot } from "./types";

const DEC_KEYS = new Set([
  "price",
  "stopPrice",
  "avgFillPrice",
  "avgPrice",
  "realized",
  "balance",
  "realizedToday",
]);

export function encodeSnapshot(snapshot: VenueSnapshot): string {
  return JSON.stringify(snapshot, (key, value) =>
    typeof value === "bigint"
      ? toStr(value as Dec)
      : DEC_KEYS.has(key) && value === undefined
        ? undefined
        : value,
  );
}

export function decodeSnapshot(text: string): VenueSnapshot {
  const raw = JSON.parse(text, (key, value) =>
    DEC_KEYS.has(key) && typeof value === "string" ? dec(value) : value,
  );
  raw.prices = (raw.prices as [string, string][]).map(([c, p]) => [c, dec(p)]);
  return raw as VenueSnapshot;
}
