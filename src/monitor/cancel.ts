/**
 * Orders a liquidation left working on a closed contract, cancelled through the order kernel's one cancel
 * (the monitor's other cancels call the kernel directly).
 */
import type { BrokerOrder, BrokerSession } from "../brokers/port";
import { type FlattenContext, legOf } from "./flatten-context";

/** Cancels orders still working at the broker on a contract after its position was closed. */
export async function cancelLeftovers(
  ctx: FlattenContext,
  session: BrokerSession,
  key: { accountId: string; brokerAccountId: string; contract: string },
  orders: BrokerOrder[],
): Promise<string[]> {
  if (orders.length === 0) return [];
  const leg = await legOf(ctx, session, key, null);
  const report = await ctx.kernel.cancel(
    leg,
    orders.map((o) => ({
      ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
      brokerOrderId: o.brokerOrderId,
      leg: o.clientOrderId ? "leftover" : `order ${o.brokerOrderId}`,
    })),
    "cancelled by the loss monitor after the close",
  );
  return report.problems;
}
