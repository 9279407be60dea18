/**
 * The one cancel: every path that takes an order of ours off the broker (the executor before a close or
 * new exits, the loss monitor, reconciliation, the OCO guard, deletes) comes through here, with one rule
 * set:
 *
 * - Each cancel stands alone: an order already gone never stops the next one, nor the step after (usually
 *   placing new protection or closing).
 * - "Gone" is settled from the broker's own record: an exit that filled a moment ago is booked now, so the
 *   close that follows sees the position as it really is.
 * - A cancel whose reply was lost is settled the same way; one still working is cancelled once more.
 * - When the broker cannot be asked, nothing is assumed: the order is left for the caller to retry (it is
 *   marked `unknown` only when we know a cancel was sent and its fate is unknown).
 */
import type { BrokerOrder, CancelOutcome } from "../brokers/port";
import { asBrokerOrderId, type ClientOrderId } from "../domain/ids";
import { type LegContext, lookUpOrder } from "./legs";
import { why } from "./unreachable";

export interface CancelTarget {
  /** Absent for an order that is not ours (a leftover a liquidation found working). */
  clientOrderId?: string;
  brokerOrderId: string | null;
  leg: string;
}

export interface CancelReport {
  /** Orders now off the broker (cancelled, or found already gone). */
  done: string[];
  /** Orders found filled instead; their fills are booked. */
  filled: string[];
  /** Why some orders may still be working, in words. */
  problems: string[];
  /** True when a problem is only that the broker could not be reached: try again when it is back. */
  unreachable: boolean;
}

/**
 * Cancels `targets` on the broker sub-account of `ctx`, all at once. Never throws for a broker answer.
 * @param reason what the order rows will say ("cancelled by the loss monitor", ...).
 */
export async function cancelOrders(
  ctx: LegContext,
  targets: CancelTarget[],
  reason = "cancelled by the relay",
): Promise<CancelReport> {
  const report: CancelReport = { done: [], filled: [], problems: [], unreachable: false };
  await Promise.all(targets.map((t) => cancelOne(ctx, t, reason, report)));
  return report;
}

async function cancelOne(ctx: LegContext, t: CancelTarget, reason: string, r: CancelReport): Promise<void> {
  const id = t.clientOrderId as ClientOrderId | undefined;
  const label = id ?? `order ${t.brokerOrderId}`;
  let brokerOrderId = t.brokerOrderId;
  if (!brokerOrderId) {
    if (!id) return;
    const found = await lookUpOrder(ctx, id);
    if (found === "unreachable") return away(r, `could not ask the broker about ${t.leg}`);
    if (!found) {
      await ctx.journal.mark({ clientOrderId: id, status: "cancelled", reason: "never reached the broker" });
      r.done.push(label);
      return;
    }
    if (found.status !== "working" && found.status !== "pending") {
      await settle(ctx, t, found.brokerOrderId, reason, r, found);
      return;
    }
    brokerOrderId = found.brokerOrderId;
  }
  const first = await send(ctx, brokerOrderId);
  if (first.kind === "cancelled") return cancelled(ctx, t, brokerOrderId, reason, r, label);
  if (first.kind === "gone") return settle(ctx, t, brokerOrderId, first.reason, r);
  if (first.kind === "rejected") {
    r.problems.push(`could not cancel ${t.leg} (${first.reason})`);
    return;
  }
  // No answer: the broker's record says whether the cancel took effect.
  if (!id) return away(r, `no answer to the cancel of ${label} (${first.reason})`);
  const found = await lookUpOrder(ctx, id);
  if (found === "unreachable") {
    await ctx.journal.mark({ clientOrderId: id, status: "unknown", brokerOrderId, reason: first.reason });
    return away(r, `could not cancel ${t.leg} (${first.reason})`);
  }
  if (found?.status === "working" || found?.status === "pending") {
    // The cancel died with the socket; cancelling is safe to repeat.
    const again = await send(ctx, brokerOrderId);
    if (again.kind === "cancelled") return cancelled(ctx, t, brokerOrderId, reason, r, label);
    if (again.kind === "gone") return settle(ctx, t, brokerOrderId, again.reason, r);
    if (again.kind === "unknown") return away(r, `could not cancel ${t.leg} (${again.reason})`);
    r.problems.push(`could not cancel ${t.leg} (${again.reason})`);
    return;
  }
  await settle(ctx, t, brokerOrderId, first.reason, r, found);
}

function send(ctx: LegContext, brokerOrderId: string): Promise<CancelOutcome> {
  return ctx.session
    .cancelOrder(ctx.brokerAccountId, asBrokerOrderId(brokerOrderId))
    .catch((e: unknown): CancelOutcome => ({ kind: "unknown", reason: why(e) }));
}

async function cancelled(
  ctx: LegContext,
  t: CancelTarget,
  brokerOrderId: string,
  reason: string,
  r: CancelReport,
  label: string,
): Promise<void> {
  if (t.clientOrderId)
    await ctx.journal.mark({ clientOrderId: t.clientOrderId, status: "cancelled", brokerOrderId, reason });
  r.done.push(label);
}

/**
 * The order is no longer working at the broker: book a fill it made, or record how it ended. When the
 * broker cannot be asked, it stays `unknown` for the next attempt or reconciliation.
 */
async function settle(
  ctx: LegContext,
  t: CancelTarget,
  brokerOrderId: string,
  reason: string,
  r: CancelReport,
  known?: BrokerOrder | null,
): Promise<void> {
  const id = t.clientOrderId as ClientOrderId | undefined;
  if (!id) {
    r.done.push(`order ${brokerOrderId}`);
    return;
  }
  const found = known !== undefined ? known : await lookUpOrder(ctx, id);
  if (found === "unreachable") {
    await ctx.journal.mark({ clientOrderId: id, status: "unknown", brokerOrderId, reason });
    return away(r, `could not learn whether ${t.leg} had filled (${reason})`);
  }
  if (found && (await ctx.fills.recordFromBroker(ctx.accountId, id, ctx.contract.name, found))) {
    const whole = found.filledQty >= found.qty;
    await ctx.journal.mark({ clientOrderId: id, status: whole ? "filled" : "cancelled", brokerOrderId });
    r.filled.push(id);
    if (!whole) r.done.push(id);
    return;
  }
  const status = found?.status === "rejected" ? "rejected" : "cancelled";
  await ctx.journal.mark({ clientOrderId: id, status, brokerOrderId, reason });
  r.done.push(id);
}

function away(r: CancelReport, problem: string): void {
  r.problems.push(`${problem}; the broker could not be reached`);
  r.unreachable = true;
}
