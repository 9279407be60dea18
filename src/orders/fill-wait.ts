/**
 * After a market order is acknowledged: its fill, from the reply, the broker's event stream (bounded
 * wait), or, when no report came in time, the broker's own record of the order.
 */
import type { OrderRequest } from "../brokers/port";
import type { LegContext, LegResult } from "./legs";

export type FillOutcome =
  | { filled: true; source: "reply" | "report" | "broker" }
  | { filled: false; reason: string };

export async function awaitFill(
  ctx: LegContext,
  req: OrderRequest,
  result: Extract<LegResult, { kind: "accepted" }>,
  fillWaitMs: number,
): Promise<FillOutcome> {
  if (result.filled && result.filled.qty >= req.qty) return { filled: true, source: "reply" };
  if (await ctx.fills.waitForFill(req.clientOrderId, req.qty, fillWaitMs))
    return { filled: true, source: "report" };
  ctx.log.warn(
    { event: "FillNotReported", clientOrderId: req.clientOrderId, qty: req.qty },
    "no fill report in time; asking the broker",
  );
  const found = await ctx.session.findOrder(ctx.brokerAccountId, req.clientOrderId).catch(() => null);
  if (found && found.filledQty >= req.qty && found.avgFillPrice !== undefined) {
    // The broker has it filled though the report never reached us: book it from the broker's answer.
    await ctx.fills.recordFromBroker(ctx.accountId, req.clientOrderId, ctx.contract.name, found);
    return { filled: true, source: "broker" };
  }
  return { filled: false, reason: `no fill report for the order within ${fillWaitMs} ms` };
}
