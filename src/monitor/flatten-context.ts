/**
 * What one flatten attempt needs, and the pieces every flatten path shares: a ready session, the
 * deterministic client order ids of successive attempts, waiting for the broker to read flat.
 */
import type { BrokerSession } from "../brokers/port";
import type { Sql } from "../db/client";
import type { ContractSpec } from "../domain/contract";
import type { Dec } from "../domain/decimal";
import { asBrokerAccountId, type ClientOrderId, clientOrderId } from "../domain/ids";
import type { Logger } from "../log";
import type { FillRecorder } from "../orders/fills";
import type { Journal } from "../orders/journal";
import type { OrderKernel } from "../orders/kernel";
import type { LegContext } from "../orders/legs";
import type { SessionPool } from "../sessions/pool";
import { attemptRows } from "./book-reads";

export interface FlattenContext {
  sql: Sql;
  logger: Logger;
  pool: SessionPool;
  fills: FillRecorder;
  /** Order bookkeeping of the leg path (sendLeg). */
  journal: Journal;
  /** The one cancel, close and lock per contract every order path shares. */
  kernel: OrderKernel;
  /** The broker's spec of a contract on this account (cached). */
  spec(accountId: string, contract: string): Promise<ContractSpec>;
  lastPrice(accountId: string, contract: string): Dec | undefined;
  now(): Date;
  /** Bounded wait for a close's fill report. */
  fillWaitMs: number;
  /** Bounded wait for the broker to read flat after a liquidation. */
  verifyMs: number;
  settleDelaysMs?: number[];
}

export type AttemptResult =
  | { flat: true }
  | { flat: false; reason: string; sessionDown?: boolean; cannotRetry?: boolean };

export const LIVE_STATUSES = new Set(["sending", "accepted", "working", "unknown"]);

/** At most this many orders per contract and flatten: the bound that keeps a flatten from ever looping. */
export const MAX_LEGS = 30;

/** The account's session if it is ready for orders; undefined while it is down or failed. */
export async function readySession(
  ctx: FlattenContext,
  accountId: string,
): Promise<BrokerSession | undefined> {
  try {
    const session = await ctx.pool.session(accountId);
    return session.status().state === "ready" ? session : undefined;
  } catch {
    return undefined;
  }
}

/** Ids of successive attempts on one contract: `fl1`, `fl2`, ... derived from (seed, subject). */
export function legIds(seed: string, subject: string): { leg: string; id: ClientOrderId }[] {
  return Array.from({ length: MAX_LEGS }, (_, i) => {
    const leg = `fl${i + 1}`;
    return { leg, id: clientOrderId(seed, subject, leg) };
  });
}

/**
 * The attempt to use now. `reuseLive`: an attempt whose outcome is still open (sent, unknown) is reused,
 * so the leg code asks the broker before anything is re-sent; otherwise the first id never used.
 */
export async function chooseLeg(
  sql: Sql,
  seed: string,
  subject: string,
  reuseLive: boolean,
): Promise<{ leg: string; id: ClientOrderId; previous?: ClientOrderId }> {
  const ids = legIds(seed, subject);
  const rows = await attemptRows(
    sql,
    ids.map((x) => x.id),
  );
  let previous: ClientOrderId | undefined;
  for (const x of ids) {
    const row = rows.get(x.id);
    if (!row) return { ...x, ...(previous ? { previous } : {}) };
    if (reuseLive && LIVE_STATUSES.has(row.status)) return x;
    previous = x.id;
  }
  throw new Error(`more than ${MAX_LEGS} flatten orders for one contract; refusing to send another`);
}

/** Polls the broker until the contract reads flat on the sub-account, or the bound passes. */
export async function waitBrokerFlat(
  session: BrokerSession,
  brokerAccountId: string,
  contract: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    try {
      const positions = await session.positions(asBrokerAccountId(brokerAccountId));
      if (!positions.some((p) => p.contract === contract && p.netPos !== 0)) return true;
    } catch {
      // The broker could not be asked; "could not check" is never "flat".
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

/** The order kernel's view of one contract on one sub-account, for this monitor's orders. */
export async function legOf(
  ctx: FlattenContext,
  session: BrokerSession,
  k: { accountId: string; brokerAccountId: string; contract: string },
  traderId: string | null,
): Promise<LegContext> {
  return {
    journal: ctx.journal,
    log: ctx.logger.child({ ...(traderId ? { traderId } : {}), contract: k.contract }),
    session,
    fills: ctx.fills,
    accountId: k.accountId,
    executionId: null,
    traderId,
    brokerAccountId: asBrokerAccountId(k.brokerAccountId),
    contract: await ctx.spec(k.accountId, k.contract),
    checkFirst: false,
    // A flatten's close is always sent again when the broker never received it.
    mayResend: () => true,
    ...(ctx.settleDelaysMs ? { settleDelaysMs: ctx.settleDelaysMs } : {}),
  };
}

export const why = (error: unknown) => (error instanceof Error ? error.message : String(error));
