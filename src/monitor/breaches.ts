/**
 * Breaches in memory: one per subject (trader or account), for the trading day it happened in. The entry
 * gate reads them synchronously; the `breaches` table is their durable copy, loaded back at start so a
 * restart keeps a breached trader blocked. A breach of an earlier trading day no longer blocks anything.
 */
import type { Sql } from "../db/client";
import { type Dec, dec, roundToStep, toStr } from "../domain/decimal";
import { localClock } from "../domain/trading-day";
import type { FlattenJob } from "./job";
import { type Detection, insertBreach } from "./repo";

export interface Breach extends Detection {
  at: Date;
  /** Zone of the subject's trading day, for the time shown in messages. */
  timeZone: string;
  /** Row id once stored. */
  id?: string;
  flattenedAt?: Date;
  job: FlattenJob;
  persisting?: Promise<string>;
}

export const subjectKey = (scope: "trader" | "account", id: string) => `${scope}:${id}`;

/** Dollars with cents: "-512.50". */
export function money(d: Dec): string {
  const cents = roundToStep(d, dec("0.01"));
  const text = toStr(cents);
  const [whole, frac = ""] = text.split(".");
  return `${whole}.${frac.padEnd(2, "0")}`;
}

/** Why new entries are refused, in a trader's words. */
export function breachReason(b: Breach): string {
  const what = b.scope === "trader" ? "daily loss limit" : "account daily loss limit";
  return `${what} ${toStr(b.limit)} hit at ${localClock(b.at, b.timeZone)} (P&L ${money(b.pnl)})`;
}

/** Stores the breach once (a second relay or a restart finds the first row); returns its id. */
export function persistBreach(sql: Sql, b: Breach): Promise<string> {
  if (b.id) return Promise.resolve(b.id);
  b.persisting ??= insertBreach(sql, {
    scope: b.scope,
    traderId: b.traderId,
    accountId: b.accountId,
    tradingDay: b.tradingDay,
    limit: b.limit,
    pnl: b.pnl,
    at: b.at,
  })
    .then(({ row }) => {
      b.id = row.id;
      return row.id;
    })
    .finally(() => {
      if (!b.id) b.persisting = undefined;
    });
  return b.persisting;
}
