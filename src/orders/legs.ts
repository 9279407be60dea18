/**
 * Sending one order leg without ever doubling it.
 *
 * 1. The leg is written to broker_orders under its deterministic client order id: before it leaves, or,
 *    on a new execution's first run (`fresh`: no order of it can exist anywhere yet), behind it: the
 *    order leaves at once and its row is written meanwhile; its outcome is written only once the row is.
 *    A crash in between leaves an order without a row: the resumed execution asks the broker for every
 *    id it could have sent (src/dispatch/recovery.ts) before anything else.
 * 2. If that id was written before (a restart, a retry) or we are resuming, the broker is asked for the id
 *    first and an existing order is adopted instead of sending a second one.
 * 3. A reply that never comes is an unknown outcome: it is settled by asking the broker, with backoff.
 *    Only when the broker twice answers that it has no order under our id (the request died with the
 *    socket) is the order sent again under the same id (a lone order up to twice, an OCO pair once); an
 *    entry only while its signal is fresh.
 */
import type { BrokerOrder, BrokerSession, OrderOutcome, OrderRequest } from "../brokers/port";
import type { OrderIntent, OrderStatus } from "../db/orders";
import type { ContractSpec } from "../domain/contract";
import { toStr } from "../domain/decimal";
import type { BrokerAccountId, ClientOrderId } from "../domain/ids";
import type { Logger } from "../log";
import type { FillRecorder } from "./fills";
import type { Journal } from "./journal";
import { BrokerUnreachable, notPlaced } from "./unreachable";

export { BrokerUnreachable };

export type LegResult =
  | {
      kind: "accepted";
      brokerOrderId: string;
      filled?: { qty: number; price: string };
      /** When the broker's acknowledgment arrived (ms since epoch); absent for orders adopted from before. */
      ackAt?: number;
    }
  /**
   * `notSent`: the broker could not take it now (socket down, rate limit); it was never placed.
   * `neverArrived`: lost on the way and no longer allowed to go (a stale entry); nothing is at the broker.
   */
  | { kind: "rejected"; reason: string; notSent?: boolean; neverArrived?: boolean }
  | {
      kind: "unknown";
      reason: string;
      /** The broker answered, twice, that it has no order under this id: it never arrived. */
      absent?: boolean;
      /** The broker could not be asked at all: try again when it is back, under the same id. */
      unreachable?: boolean;
      /** The broker answered twice that it never received it, and it was not sent again. */
      neverArrived?: boolean;
    };

export interface LegContext {
  journal: Journal;
  /** Carries signalId, executionId and traderId on every line. */
  log: Logger;
  session: BrokerSession;
  fills: FillRecorder;
  accountId: string;
  executionId: string | null;
  traderId: string | null;
  brokerAccountId: BrokerAccountId;
  contract: ContractSpec;
  /** Ask the broker before sending (a resumed execution). */
  checkFirst: boolean;
  /**
   * A new execution's first run: none of its ids was ever sent or written, so its orders leave before
   * their rows are written (write-behind). Never together with `checkFirst`.
   */
  fresh?: boolean;
  /** Delays between broker look-ups when settling an unknown outcome. */
  settleDelaysMs?: number[];
  /**
   * Further look-ups, made only while the broker still cannot be reached (its socket coming back after a
   * drop takes longer than the settle delays when many reconnect at once). Default: 6 x 4 s with the
   * default settle delays, none with custom ones.
   */
  unreachableDelaysMs?: number[];
  /** Whether a leg the broker never received may still be sent again (a stale entry may not). */
  mayResend?: (leg: string) => boolean;
}

const DEFAULT_SETTLE_DELAYS = [250, 1000, 2000, 4000];
const DEFAULT_UNREACHABLE_DELAYS = [4000, 4000, 4000, 4000, 4000, 4000];

/** The settle delays, then the ones used only while the broker cannot be reached. */
function lookUpDelays(ctx: LegContext): { base: number[]; extra: number[] } {
  const base = ctx.settleDelaysMs ?? DEFAULT_SETTLE_DELAYS;
  const extra = ctx.unreachableDelaysMs ?? (ctx.settleDelaysMs ? [] : DEFAULT_UNREACHABLE_DELAYS);
  return { base, extra };
}

export function intentOf(ctx: LegContext, leg: string, req: OrderRequest): OrderIntent {
  return {
    clientOrderId: req.clientOrderId,
    executionId: ctx.executionId,
    traderId: ctx.traderId,
    accountId: ctx.accountId,
    brokerAccountId: ctx.brokerAccountId,
    contract: ctx.contract.name,
    leg,
    side: req.side,
    type: req.type,
    qty: req.qty,
    ...(req.price !== undefined ? { price: req.price } : {}),
    ...(req.stopPrice !== undefined ? { stopPrice: req.stopPrice } : {}),
    venue: ctx.session.venue,
  };
}

/** Writes the intent and, if this id may already be at the broker, adopts what the broker has. */
async function prepare(ctx: LegContext, leg: string, req: OrderRequest): Promise<LegResult | undefined> {
  const { row, existed } = await ctx.journal.intent(intentOf(ctx, leg, req));
  if (
    existed &&
    row.brokerOrderId &&
    (row.status === "accepted" || row.status === "working" || row.status === "filled")
  ) {
    ctx.fills.bind(ctx.accountId, row.brokerOrderId, row.clientOrderId);
    // Resuming with a leg not known to be wholly filled: it may have filled while we were away, so the
    // broker's word is fresher than our row. One look: it is already there, so without an answer the row stands.
    if (ctx.checkFirst && (row.status !== "filled" || row.filledQty < row.qty)) {
      const found = await ctx.session.findOrder(ctx.brokerAccountId, req.clientOrderId).catch(() => null);
      if (found) {
        ctx.log.info(
          { event: "OrderAdopted", leg, clientOrderId: req.clientOrderId, status: found.status },
          "order already at the broker; not sent again",
        );
        return adopt(ctx, found);
      }
    }
    ctx.log.info(
      { event: "OrderAdopted", leg, clientOrderId: req.clientOrderId, status: row.status },
      "order already acknowledged; not sent again",
    );
    return row.filledQty > 0 && row.fillPrice
      ? {
          kind: "accepted",
          brokerOrderId: row.brokerOrderId,
          filled: { qty: row.filledQty, price: toStr(row.fillPrice) },
        }
      : { kind: "accepted", brokerOrderId: row.brokerOrderId };
  }
  if (existed && row.status === "rejected")
    return { kind: "rejected", reason: row.reason ?? "rejected earlier" };
  if (existed || ctx.checkFirst) {
    const found = await askBroker(ctx, req.clientOrderId);
    if (found) {
      ctx.log.info(
        { event: "OrderAdopted", leg, clientOrderId: req.clientOrderId, status: found.status },
        "order already at the broker; not sent again",
      );
      return adopt(ctx, found);
    }
    // The broker has no such order: the row goes back to `sending` (with this request's size), so the
    // acknowledgment of the send that follows can move it on.
    if (existed) await ctx.journal.reopen(intentOf(ctx, leg, req));
  }
  return undefined;
}

export async function sendLeg(ctx: LegContext, leg: string, req: OrderRequest): Promise<LegResult> {
  const behind = writeBehind(ctx, leg, req);
  if (!behind) {
    const known = await prepare(ctx, leg, req);
    if (known) return known;
  }
  const sentAt = performance.now();
  const outcome = await ctx.session.placeOrder(req);
  const ackAt = Date.now();
  logOutcome(ctx, leg, req, outcome, performance.now() - sentAt);
  // The row must exist before anything about the order is written; failing here (the database is away)
  // pauses the execution, which resumes asking the broker for this id.
  if (behind) await behind;
  let result = await conclude(ctx, req, outcome, ackAt, () => resendable(ctx, leg));
  for (let resends = 1; isAbsent(result); resends++) {
    logResend(ctx, leg, req);
    const again = await ctx.session.placeOrder(req);
    logOutcome(ctx, leg, req, again, performance.now() - sentAt);
    result = await conclude(ctx, req, again, Date.now(), () => resends < MAX_RESENDS && resendable(ctx, leg));
  }
  if (result.kind === "unknown" && result.neverArrived && !resendable(ctx, leg)) {
    // Definite: the broker has nothing under this id, and it may not be sent any more (a stale entry).
    const reason = `${leg} never reached the broker and was not sent again (${result.reason})`;
    await ctx.journal.mark({ clientOrderId: req.clientOrderId, status: "cancelled", reason });
    return { kind: "rejected", reason, neverArrived: true };
  }
  return result;
}

/**
 * On a fresh execution, starts writing the leg's row without waiting for it (the order leaves now); the
 * promise settles when the row is committed. Undefined when the row must be written first.
 */
function writeBehind(ctx: LegContext, leg: string, req: OrderRequest): Promise<void> | undefined {
  if (!ctx.fresh || ctx.checkFirst) return undefined;
  const written = ctx.journal.intent(intentOf(ctx, leg, req)).then(({ existed }) => {
    // A fresh id already written means another run of this execution is at work: never expected.
    if (existed)
      ctx.log.error(
        { event: "OrderIdSeenBefore", leg, clientOrderId: req.clientOrderId },
        "a new execution's order id was already written; it was sent before this was known",
      );
  });
  written.catch(() => undefined); // awaited after the send; a failure is handled there
  return written;
}

/**
 * How many times a lone order the broker confirms it never received is sent again (sockets can drop
 * twice in a row); each time only after two "no such order" answers, an entry only while fresh.
 */
const MAX_RESENDS = 2;

const resendable = (ctx: LegContext, leg: string) => ctx.mayResend?.(leg) ?? false;
const isAbsent = (r: LegResult) => r.kind === "unknown" && r.absent === true;

function logResend(ctx: LegContext, leg: string, req: OrderRequest): void {
  ctx.log.warn(
    { event: "OrderResent", leg, clientOrderId: req.clientOrderId },
    "the broker never received the order; sending it again under the same id",
  );
}

/** Two exits linked one-cancels-other at the broker. */
export async function sendOco(
  ctx: LegContext,
  first: { leg: string; req: OrderRequest },
  second: { leg: string; req: OrderRequest },
): Promise<[LegResult, LegResult]> {
  const a = await prepare(ctx, first.leg, first.req);
  const b = await prepare(ctx, second.leg, second.req);
  if (a && b) return [a, b];
  if (a || b) {
    // Half of the pair is already at the broker (a crash between the two): send the missing half alone.
    const missing = a ? second : first;
    const result = await conclude(ctx, missing.req, await ctx.session.placeOrder(missing.req), Date.now());
    return a ? [a, result] : [result, b as LegResult];
  }
  const sentAt = performance.now();
  const [oa, ob] = await ctx.session.placeOco(first.req, second.req);
  const ackAt = Date.now();
  const ms = performance.now() - sentAt;
  logOutcome(ctx, first.leg, first.req, oa, ms);
  logOutcome(ctx, second.leg, second.req, ob, ms);
  const mayResend = () => resendable(ctx, first.leg) && resendable(ctx, second.leg);
  const results: [LegResult, LegResult] = await Promise.all([
    conclude(ctx, first.req, oa, ackAt, mayResend),
    conclude(ctx, second.req, ob, ackAt, mayResend),
  ]);
  const [ra, rb] = results;
  if (!isAbsent(ra) && !isAbsent(rb)) return results;
  if (isAbsent(ra) && isAbsent(rb)) {
    // The pair never arrived: send the pair again, still linked.
    logResend(ctx, first.leg, first.req);
    logResend(ctx, second.leg, second.req);
    const [xa, xb] = await ctx.session.placeOco(first.req, second.req);
    logOutcome(ctx, first.leg, first.req, xa, performance.now() - sentAt);
    logOutcome(ctx, second.leg, second.req, xb, performance.now() - sentAt);
    const at = Date.now();
    return Promise.all([conclude(ctx, first.req, xa, at), conclude(ctx, second.req, xb, at)]);
  }
  // One half arrived and one did not: as after a crash between the two, the missing half goes alone.
  const missing = isAbsent(ra) ? first : second;
  logResend(ctx, missing.leg, missing.req);
  const again = await ctx.session.placeOrder(missing.req);
  logOutcome(ctx, missing.leg, missing.req, again, performance.now() - sentAt);
  const result = await conclude(ctx, missing.req, again, Date.now());
  return isAbsent(ra) ? [result, rb] : [ra, result];
}

function logOutcome(
  ctx: LegContext,
  leg: string,
  req: OrderRequest,
  outcome: OrderOutcome,
  ms: number,
): void {
  const base = {
    leg,
    clientOrderId: req.clientOrderId,
    side: req.side,
    qty: req.qty,
    type: req.type,
    ms: Math.round(ms * 10) / 10,
  };
  if (outcome.kind === "accepted")
    ctx.log.info(
      { event: "OrderAcknowledged", ...base, brokerOrderId: outcome.brokerOrderId, filled: !!outcome.fill },
      "order acknowledged",
    );
  else if (outcome.kind === "rejected")
    ctx.log.warn({ event: "OrderRejected", ...base, reason: outcome.reason }, "order rejected by the broker");
  else
    ctx.log.warn(
      { event: "OrderOutcomeUnknown", ...base, reason: outcome.reason },
      "no answer for the order; settling with the broker",
    );
}

async function conclude(
  ctx: LegContext,
  req: OrderRequest,
  outcome: OrderOutcome,
  ackAt: number,
  mayResend: () => boolean = () => false,
): Promise<LegResult> {
  if (outcome.kind === "accepted") {
    await ctx.journal.mark({
      clientOrderId: req.clientOrderId,
      // "filled" is written by the fill's booking itself: a crash between two writes never leaves an
      // order filled in the book without its fill.
      status: "accepted",
      brokerOrderId: outcome.brokerOrderId,
      raw: outcome.raw,
    });
    ctx.fills.bind(ctx.accountId, outcome.brokerOrderId, req.clientOrderId);
    if (outcome.fill) {
      await ctx.fills.record(
        ctx.accountId,
        req.clientOrderId,
        ctx.contract.name,
        outcome.brokerOrderId,
        outcome.fill,
      );
      return {
        kind: "accepted",
        brokerOrderId: outcome.brokerOrderId,
        filled: { qty: outcome.fill.qty, price: toStr(outcome.fill.price) },
        ackAt,
      };
    }
    return { kind: "accepted", brokerOrderId: outcome.brokerOrderId, ackAt };
  }
  if (outcome.kind === "rejected" && notPlaced(outcome)) {
    // Never placed: the row is closed as not sent, so the same id can go out once the broker is back.
    await ctx.journal.mark({
      clientOrderId: req.clientOrderId,
      status: "cancelled",
      reason: `not sent: ${outcome.reason}`,
      raw: outcome.raw,
    });
    return { kind: "rejected", reason: outcome.reason, notSent: true };
  }
  if (outcome.kind === "rejected") {
    await ctx.journal.mark({
      clientOrderId: req.clientOrderId,
      status: "rejected",
      reason: outcome.reason,
      raw: outcome.raw,
    });
    return { kind: "rejected", reason: outcome.reason };
  }
  return settle(ctx, req.clientOrderId, outcome.reason, mayResend);
}

/**
 * Asks the broker for our id before (re)sending, retrying while it cannot be reached. If it never
 * answers, nothing is sent: we could not rule out that the order is already there.
 */
async function askBroker(ctx: LegContext, clientOrderId: ClientOrderId): Promise<BrokerOrder | null> {
  let last: unknown;
  const { base, extra } = lookUpDelays(ctx);
  // Every pass after the first follows a failure to reach the broker, so the extra delays apply.
  for (const delay of [0, ...base, ...extra]) {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    try {
      return await ctx.session.findOrder(ctx.brokerAccountId, clientOrderId);
    } catch (error) {
      last = error;
    }
  }
  throw new BrokerUnreachable(
    `could not ask the broker whether ${clientOrderId} was already sent (${String((last as Error)?.message ?? last)}); not sent, to avoid doubling it`,
  );
}

/**
 * The broker's record of our id, asked again after each settle delay while the broker cannot be reached
 * (a socket coming back); "unreachable" when it never answered.
 */
export async function lookUpOrder(
  ctx: LegContext,
  clientOrderId: ClientOrderId,
): Promise<BrokerOrder | null | "unreachable"> {
  try {
    return await askBroker(ctx, clientOrderId);
  } catch {
    return "unreachable";
  }
}

/**
 * An unknown outcome: ask the broker for our id until it answers. When its last two answers both say it
 * has no such order, and the caller may send again, the result says so instead of giving up.
 */
async function settle(
  ctx: LegContext,
  clientOrderId: ClientOrderId,
  why: string,
  /** Asked after settling: a signal may have gone stale meanwhile. */
  mayResend: () => boolean,
): Promise<LegResult> {
  let absentInARow = 0;
  let answered = false;
  const { base, extra } = lookUpDelays(ctx);
  for (const [i, delay] of [...base, ...extra].entries()) {
    // Past the settle delays, only a broker that has not yet answered twice is asked again.
    if (i >= base.length && absentInARow >= 2) break;
    await new Promise((r) => setTimeout(r, delay));
    try {
      const found = await ctx.session.findOrder(ctx.brokerAccountId, clientOrderId);
      if (found) return adopt(ctx, found);
      absentInARow++;
      answered = true;
    } catch {
      // The broker is still unreachable; try again after the next delay.
      absentInARow = 0;
      answered = false;
    }
  }
  if (absentInARow >= 2 && mayResend())
    return { kind: "unknown", reason: `the broker never received it (${why})`, absent: true };
  const reason = `no answer from the broker (${why}); the order's fate is unknown and will be settled with the broker`;
  await ctx.journal.mark({
    clientOrderId: clientOrderId,
    status: "unknown",
    reason,
  });
  if (absentInARow >= 2) return { kind: "unknown", reason, neverArrived: true };
  return answered ? { kind: "unknown", reason } : { kind: "unknown", reason, unreachable: true };
}

async function adopt(ctx: LegContext, found: BrokerOrder): Promise<LegResult> {
  const clientOrderId = found.clientOrderId as ClientOrderId;
  const status: OrderStatus = found.status === "pending" ? "working" : found.status;
  await ctx.journal.mark({
    clientOrderId: clientOrderId,
    status: status === "filled" ? "accepted" : status,
    brokerOrderId: found.brokerOrderId,
    reason: found.reason ?? null,
  });
  ctx.fills.bind(ctx.accountId, found.brokerOrderId, clientOrderId);
  if (found.status === "rejected")
    return { kind: "rejected", reason: found.reason ?? "rejected by the broker" };
  if (
    found.avgFillPrice !== undefined &&
    (await ctx.fills.recordFromBroker(ctx.accountId, clientOrderId, ctx.contract.name, found))
  ) {
    return {
      kind: "accepted",
      brokerOrderId: found.brokerOrderId,
      filled: { qty: found.filledQty, price: toStr(found.avgFillPrice) },
    };
  }
  return { kind: "accepted", brokerOrderId: found.brokerOrderId };
}

/**
 * An order of ours found at the broker whose row may never have been written (it left before its row, and
 * the relay stopped): its row is written from the broker's record, then it is adopted like any other.
 */
export async function adoptFound(
  ctx: LegContext,
  leg: string,
  clientOrderId: ClientOrderId,
  record: BrokerOrder,
): Promise<LegResult> {
  const found = { ...record, clientOrderId };
  const req: OrderRequest = {
    clientOrderId,
    brokerAccountId: ctx.brokerAccountId,
    contract: ctx.contract,
    side: found.side,
    qty: found.qty,
    type: found.type,
    ...(found.price !== undefined ? { price: found.price } : {}),
    ...(found.stopPrice !== undefined ? { stopPrice: found.stopPrice } : {}),
  };
  await ctx.journal.intent(intentOf(ctx, leg, req));
  ctx.log.info(
    { event: "OrderAdopted", leg, clientOrderId: req.clientOrderId, status: found.status },
    "order found at the broker after a restart; not sent again",
  );
  return adopt(ctx, found);
}
