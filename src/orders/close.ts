/**
 * The one close: a market order that closes (part of) a trader's position, used by the executor's exits
 * and reversals, the loss monitor's market-close flatten and deletes.
 *
 * It sends at most what the broker really holds in the direction it closes, capped by the trader's own
 * booked share (src/domain/broker-truth.ts): a position closed by hand at the broker is never "closed"
 * again into the opposite one. When the broker holds less than the book, the book is corrected to the
 * broker and the difference reported as drift.
 *
 * A close sent before under the same id (a retry after the broker came back, a resumed execution) is
 * settled from the broker's record first; only one the broker never received is sent again.
 */
import type { OrderRequest } from "../brokers/port";
import { closeQuantity } from "../domain/broker-truth";
import type { Dec } from "../domain/decimal";
import type { ClientOrderId } from "../domain/ids";
import type { Side } from "../domain/venue/types";
import { brokerNet } from "./broker-view";
import { correctBook } from "./correct";
import { awaitFill } from "./fill-wait";
import type { KernelDeps } from "./kernel";
import { keyOf } from "./kernel";
import { type LegContext, type LegResult, lookUpOrder, sendLeg } from "./legs";
import { BrokerUnreachable } from "./unreachable";

export interface CloseRequest {
  traderId: string;
  /** "close" for a signal's close; "fl<n>" for a flatten attempt. */
  leg: string;
  clientOrderId: ClientOrderId;
  /** Side of the closing order: "sell" closes a long. */
  side: Side;
  /** What the plan asked to close. */
  planned: number;
  /** The alert's price (the paper broker fills market orders at it). */
  referencePrice?: Dec;
}

export type CloseReport =
  /** `qty` contracts closed and booked from the broker's fill. */
  | { kind: "closed"; qty: number; result: Extract<LegResult, { kind: "accepted" }>; notes: string[] }
  /** Nothing to send: the broker (or the book) holds nothing in that direction. */
  | { kind: "nothing"; notes: string[] }
  /** The broker refused the close, in its words. */
  | { kind: "rejected"; reason: string; notes: string[] }
  /** Acknowledged, but its fill was not reported in time: the position is in doubt until reconciled. */
  | { kind: "unfilled"; reason: string; notes: string[] };

const describe = (n: number) => (n === 0 ? "flat" : `${n > 0 ? "long" : "short"} ${Math.abs(n)}`);

/** Call through OrderKernel.close, which holds the contract's lock. */
export async function closePosition(k: KernelDeps, ctx: LegContext, req: CloseRequest): Promise<CloseReport> {
  const notes: string[] = [];
  const earlier = await settleEarlier(k, ctx, req, notes);
  if (earlier) return earlier;

  const position = {
    traderId: req.traderId,
    brokerAccountId: ctx.brokerAccountId,
    contract: ctx.contract.name,
  };
  let net = await brokerNet(ctx.session, ctx.brokerAccountId, ctx.contract.name);
  let book = (await k.journal.position(position))?.netQty ?? 0;
  let d = closeQuantity({ side: req.side, planned: req.planned, bookNet: book, brokerNet: net });
  if (d.brokerShort > 0) {
    // A position report can trail its fill report: book what is in flight and ask the broker itself.
    await k.fills.drain();
    await new Promise((r) => setTimeout(r, Math.min(k.confirmMs ?? 3_000, 500)));
    net = await brokerNet(ctx.session, ctx.brokerAccountId, ctx.contract.name, true);
    book = (await k.journal.position(position))?.netQty ?? 0;
    d = closeQuantity({ side: req.side, planned: req.planned, bookNet: book, brokerNet: net });
  }
  if (d.qty === 0) {
    if (d.brokerShort > 0) {
      await correctBook(k, keyOf(ctx), net, "closed outside the relay");
      notes.push(
        `nothing sent: the broker shows ${describe(net)} (the position was closed outside the relay); the book was corrected`,
      );
    } else notes.push("nothing left to close");
    return { kind: "nothing", notes };
  }
  if (d.qty < req.planned)
    notes.push(`closed ${d.qty} instead of ${req.planned}: the broker holds only ${describe(net)}`);

  const order: OrderRequest = {
    clientOrderId: req.clientOrderId,
    brokerAccountId: ctx.brokerAccountId,
    contract: ctx.contract,
    side: req.side,
    qty: d.qty,
    type: "market",
    ...(req.referencePrice !== undefined ? { referencePrice: req.referencePrice } : {}),
  };
  const result = await sendLeg(ctx, req.leg, order);
  const done = await conclude(k, ctx, order, result, notes);
  if (done.kind === "closed" && d.brokerShort > 0) {
    const after = net + (req.side === "buy" ? d.qty : -d.qty);
    await correctBook(k, keyOf(ctx), after, "partly closed outside the relay");
    notes.push("the rest had been closed outside the relay; the book was corrected");
  }
  return done;
}

/**
 * A close under this id that may already be at the broker: adopt it and wait for its fill. Undefined
 * when there is none (or the broker never received it), so a fresh close is computed. A new execution's
 * first run skips this (its close id is new); a resumed one asks the broker even without a row.
 */
async function settleEarlier(
  k: KernelDeps,
  ctx: LegContext,
  req: CloseRequest,
  notes: string[],
): Promise<CloseReport | undefined> {
  if (ctx.fresh && !ctx.checkFirst) return undefined; // a new execution's close was never sent
  const row = await k.journal.order(req.clientOrderId);
  // Without a row, only a resumed close may be at the broker (its row is written behind it).
  if (!row && !ctx.checkFirst) return undefined;
  if (row?.status === "rejected")
    return { kind: "rejected", reason: row.reason ?? "rejected earlier", notes };
  if (row?.status === "cancelled" && row.filledQty === 0) return undefined; // never placed: send anew
  // Filled in the book only when its fill is booked too (a crash can fall between the two writes).
  if (row?.status === "filled" && row.filledQty >= row.qty) {
    notes.push("already closed earlier under the same order id");
    return {
      kind: "closed",
      qty: row.filledQty,
      result: { kind: "accepted", brokerOrderId: row.brokerOrderId ?? "" },
      notes,
    };
  }
  const found = await lookUpOrder(ctx, req.clientOrderId);
  if (found === "unreachable")
    throw new BrokerUnreachable(`could not ask the broker about the ${req.leg} order sent earlier`);
  if (!found) return undefined;
  const order: OrderRequest = {
    clientOrderId: req.clientOrderId,
    brokerAccountId: ctx.brokerAccountId,
    contract: ctx.contract,
    side: row?.side ?? found.side,
    qty: row?.qty ?? found.qty,
    type: "market",
  };
  // Checking first: the broker's record of it (a fill included) is adopted, never sent again.
  return conclude(k, ctx, order, await sendLeg({ ...ctx, checkFirst: true }, req.leg, order), notes);
}

async function conclude(
  k: KernelDeps,
  ctx: LegContext,
  order: OrderRequest,
  result: LegResult,
  notes: string[],
): Promise<CloseReport> {
  if (result.kind === "rejected") {
    if (result.notSent) throw new BrokerUnreachable(`the close was not sent: ${result.reason}`);
    return { kind: "rejected", reason: result.reason, notes };
  }
  if (result.kind === "unknown")
    throw new BrokerUnreachable(
      `the close's outcome is unknown and the broker cannot be asked: ${result.reason}`,
    );
  const fill = await awaitFill(ctx, order, result, k.fillWaitMs);
  if (!fill.filled) return { kind: "unfilled", reason: fill.reason, notes };
  return { kind: "closed", qty: order.qty, result, notes };
}
