/**
 * Branded identifiers: a trader id can never be passed where an account id is expected, and a broker's
 * order id never where our client order id belongs.
 */
import { createHash } from "node:crypto";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type RecorderId = Brand<string, "RecorderId">;
export type AccountId = Brand<string, "AccountId">;
export type TraderId = Brand<string, "TraderId">;
export type SignalId = Brand<string, "SignalId">;
export type ExecutionId = Brand<string, "ExecutionId">;
export type WebhookId = Brand<string, "WebhookId">;
/** Our id on a broker order, derived from (signal, trader, leg); see `clientOrderId`. */
export type ClientOrderId = Brand<string, "ClientOrderId">;
/** The broker's own id for an order (Tradovate orderId, ProjectX order id, Webull order_id). */
export type BrokerOrderId = Brand<string, "BrokerOrderId">;
/** A sub-account inside one broker login (Tradovate account id, ProjectX account id, Webull account_id). */
export type BrokerAccountId = Brand<string, "BrokerAccountId">;

export const asRecorderId = (s: string) => s as RecorderId;
export const asAccountId = (s: string) => s as AccountId;
export const asTraderId = (s: string) => s as TraderId;
export const asSignalId = (s: string) => s as SignalId;
export const asExecutionId = (s: string) => s as ExecutionId;
export const asWebhookId = (s: string) => s as WebhookId;
export const asClientOrderId = (s: string) => s as ClientOrderId;
export const asBrokerOrderId = (s: string) => s as BrokerOrderId;
export const asBrokerAccountId = (s: string) => s as BrokerAccountId;

/** Order legs of one execution; numbered legs (tp1, tp2, ...) keep each exit's id distinct. */
export type Leg = string;

const LEG = /^[a-z][a-z0-9]{0,5}$/;
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Deterministic client order id for one leg of one signal on one trader.
 *
 * The same (signal, trader, leg) always yields the same id, so after a timeout or a crash the relay asks
 * the broker whether that id exists before sending anything again. 25 characters at most, lower-case
 * letters and digits, which every broker accepts (ProjectX appends "-SL"/"-TP" to bracket children).
 *
 * @example clientOrderId(signalId, traderId, "entry") // "cr4k9x...-entry"
 */
export function clientOrderId(signal: SignalId | string, trader: TraderId | string, leg: Leg): ClientOrderId {
  if (!LEG.test(leg)) throw new RangeError(`bad leg name: ${leg}`);
  const digest = createHash("sha256").update(`${signal}|${trader}|${leg}`).digest();
  let out = "cr";
  for (let i = 0; i < 16; i++) out += ALPHABET[(digest[i] ?? 0) & 31];
  return `${out}-${leg}` as ClientOrderId;
}

const OURS = /^cr[0-9abcdefghjkmnpqrstvwxyz]{16}-[a-z]/;

/**
 * Whether a client order id is one the relay made (`clientOrderId`), including the suffixes a broker adds
 * to bracket children. Another tool's tag never has this shape unless it copies ours.
 */
export const isOurClientOrderId = (id: string): boolean => OURS.test(id);
