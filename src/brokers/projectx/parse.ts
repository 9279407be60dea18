/**
 * ProjectX wire -> domain: order, position and contract shapes of the broker port. Contract names follow
 * the domain convention ("MNQZ6"); the gateway's id ("CON.F.US.MNQ.Z26") rides along where it matters.
 */
import { type ContractSpec, contractName, MONTH_CODES, PRODUCTS } from "../../domain/contract";
import { type Dec, dec, div, isPositive } from "../../domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId, type BrokerAccountId } from "../../domain/ids";
import type { Side } from "../../domain/venue/types";
import type { BrokerOrder, BrokerOrderStatus, BrokerPosition, OrderType } from "../port";
import type { ContractWire, OrderWire, PositionWire } from "./wire";

/** Gateway roots that differ from the exchange roots we use (seen in reference payloads). */
const ROOT_ALIASES: Record<string, string> = { EP: "ES", ENQ: "NQ" };
const GATEWAY_ROOTS: Record<string, string[]> = { ES: ["EP"], NQ: ["ENQ"] };

export const WireType = { limit: 1, market: 2, stopLimit: 3, stop: 4, trailingStop: 5 } as const;

export const sideOf = (side: number): Side => (side === 0 ? "buy" : "sell");
export const wireSide = (side: Side): 0 | 1 => (side === "buy" ? 0 : 1);

export function typeOf(type: number): OrderType {
  if (type === WireType.market) return "market";
  if (type === WireType.trailingStop) return "trailing_stop";
  if (type === WireType.stop || type === WireType.stopLimit) return "stop";
  return "limit";
}

/** 0 None, 1 Open, 2 Filled, 3 Cancelled, 4 Expired, 5 Rejected, 6 Pending, 7 PendingCancellation, 8 Suspended. */
export function statusOf(status: number): BrokerOrderStatus {
  switch (status) {
    case 1:
    case 7:
      return "working";
    case 2:
      return "filled";
    case 3:
    case 4:
      return "cancelled";
    case 5:
      return "rejected";
    default:
      return "pending";
  }
}

export const FINAL_STATUSES = new Set([2, 3, 4, 5]);

const CONTRACT_ID = /^CON\.F\.[A-Z]+\.([A-Z0-9]+)\.([FGHJKMNQUVXZ])(\d{2})$/;

/** Root, month and year of a gateway contract id, with gateway roots mapped to ours. */
export function parseContractId(id: string): { root: string; month: number; year: number } | undefined {
  const m = CONTRACT_ID.exec(id);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  const root = ROOT_ALIASES[m[1]] ?? m[1];
  return { root, month: MONTH_CODES.indexOf(m[2]) + 1, year: 2000 + Number(m[3]) };
}

/** "CON.F.US.MNQ.Z26" -> "MNQZ6"; unknown shapes stay as the gateway's id. */
export function contractNameOf(id: string): string {
  const parsed = parseContractId(id);
  return parsed ? contractName(parsed.root, parsed.month, parsed.year) : id;
}

/** Search texts for a root: ours first, then the gateway's own spelling if it differs. */
export function searchTextsFor(root: string): string[] {
  return [root, ...(GATEWAY_ROOTS[root] ?? [])];
}

export function specOf(c: ContractWire): ContractSpec | undefined {
  const parsed = parseContractId(c.id);
  const tickSize = dec(c.tickSize);
  if (!parsed || !isPositive(tickSize)) return undefined;
  return {
    name: contractName(parsed.root, parsed.month, parsed.year),
    root: parsed.root,
    tickSize,
    valuePerPoint: div(dec(c.tickValue), tickSize),
    brokerContractId: c.id,
  };
}

/** True when a root is one we trade (the product table) or maps to one. */
export const knownRoot = (root: string) => PRODUCTS[root] !== undefined;

const price = (value: number | null | undefined): Dec | undefined =>
  value === null || value === undefined ? undefined : dec(value);

export function orderOf(o: OrderWire): BrokerOrder {
  const fill = price(o.filledPrice);
  const limit = price(o.limitPrice);
  const stop = price(o.stopPrice);
  return {
    brokerOrderId: asBrokerOrderId(String(o.id)),
    ...(o.customTag ? { clientOrderId: asClientOrderId(o.customTag) } : {}),
    brokerAccountId: asBrokerAccountId(String(o.accountId)),
    contract: contractNameOf(o.contractId),
    side: sideOf(o.side),
    type: typeOf(o.type),
    qty: o.size,
    filledQty: o.fillVolume ?? 0,
    ...(limit !== undefined ? { price: limit } : {}),
    ...(stop !== undefined ? { stopPrice: stop } : {}),
    ...(fill !== undefined && isPositive(fill) ? { avgFillPrice: fill } : {}),
    status: statusOf(o.status),
  };
}

/** Position rows carry size always positive and the direction in `type` (1 long, 2 short, 0 closed). */
export function positionOf(p: PositionWire): BrokerPosition {
  const netPos = p.type === 1 ? p.size : p.type === 2 ? -p.size : 0;
  const avg = price(p.averagePrice);
  return {
    brokerAccountId: asBrokerAccountId(String(p.accountId)),
    contract: contractNameOf(p.contractId),
    netPos,
    ...(netPos !== 0 && avg !== undefined && isPositive(avg) ? { avgPrice: avg } : {}),
  };
}

export function accountNumber(id: BrokerAccountId | string): number | undefined {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function parseTime(text: string | null | undefined, fallback: number): Date {
  const ms = text ? Date.parse(text) : Number.NaN;
  return new Date(Number.isFinite(ms) ? ms : fallback);
}
