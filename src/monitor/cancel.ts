/**
 * Orders a liquidation left working on a closed contract, cancelled through the order kernel's one cancel
 * (the monitor's other cancels call the kernel directly). Our own orders the liquidation already cancelled
 * at the broker go through the same cancel, which settles them from the broker's record, so a flatten that
 * reads flat also leaves no order of ours booked as working.
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
  // Known to the broker (accepted or working) and no longer working there; never a row still being sent.
  const rows = await ctx.sql`
    select client_order_id, broker_order_id, leg from broker_orders
     where account_id = ${key.accountId} and broker_account_id = ${key.brokerAccountId}
       and contract = ${key.contract} and status in ('accepted', 'working') and order_type <> 'market'`;
  const working = new Set(orders.flatMap((o) => [o.clientOrderId ?? "", `#${o.brokerOrderId}`]));
  const gone = rows.filter(
    (r) =>
      !working.has(r.client_order_id as string) &&
      !(r.broker_order_id && working.has(`#${r.broker_order_id as string}`)),
  );
  if (orders.length === 0 && gone.length === 0) return [];
  const leg = await legOf(ctx, session, key, null);
  const report = await ctx.kernel.cancel(
    leg,
    [
      ...orders.map((o) => ({
        ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
        brokerOrderId: o.brokerOrderId,
        leg: o.clientOrderId ? "leftover" : `order ${o.brokerOrderId}`,
      })),
      ...gone.map((r) => ({
        clientOrderId: r.client_order_id as string,
        brokerOrderId: (r.broker_order_id as string | null) ?? null,
        leg: r.leg as string,
      })),
    ],
    "cancelled by the loss monitor after the close",
  );
  return report.problems;
}
