/**
 * Cancelling working orders one by one. Each cancel stands alone: an order already gone never stops the
 * next one. Used for a trader's own orders (never anyone else's) and for orders a liquidation left behind.
 */
import type { BrokerOrder, BrokerSession } from "../brokers/port";
import { markOrder } from "../db/orders";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId } from "../domain/ids";
import type { LiveOrder } from "./book-reads";
import type { FlattenContext } from "./flatten-context";
import { why } from "./flatten-context";

/** Cancels the relay's own orders; returns the problems (empty when every order is gone). */
export async function cancelOwn(
  ctx: FlattenContext,
  session: BrokerSession,
  rows: LiveOrder[],
): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    rows.map(async (row) => {
      const account = asBrokerAccountId(row.brokerAccountId);
      let brokerOrderId = row.brokerOrderId;
      if (!brokerOrderId) {
        const found = await session
          .findOrder(account, asClientOrderId(row.clientOrderId))
          .catch(() => undefined);
        if (found === undefined) {
          problems.push(`could not check ${row.leg} at the broker`);
          return;
        }
        if (found === null) {
          await markOrder(ctx.sql, row.clientOrderId, {
            status: "cancelled",
            reason: "never reached the broker",
          });
          return;
        }
        brokerOrderId = found.brokerOrderId;
      }
      const outcome = await session.cancelOrder(account, asBrokerOrderId(brokerOrderId));
      if (outcome.kind === "cancelled" || outcome.kind === "gone") {
        await markOrder(ctx.sql, row.clientOrderId, {
          status: "cancelled",
          reason: outcome.kind === "gone" ? outcome.reason : "cancelled by the loss monitor",
        });
      } else problems.push(`could not cancel ${row.leg} (${outcome.reason})`);
    }),
  );
  return problems;
}

/** Cancels orders still working at the broker after a position was closed. */
export async function cancelLeftovers(
  ctx: FlattenContext,
  session: BrokerSession,
  orders: BrokerOrder[],
): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    orders.map(async (o) => {
      const outcome = await session
        .cancelOrder(o.brokerAccountId, o.brokerOrderId)
        .catch((e: unknown) => ({ kind: "unknown" as const, reason: why(e) }));
      if (outcome.kind === "cancelled" || outcome.kind === "gone") {
        if (o.clientOrderId)
          await markOrder(ctx.sql, o.clientOrderId, {
            status: "cancelled",
            reason: "cancelled by the loss monitor after the close",
          });
      } else problems.push(`could not cancel order ${o.brokerOrderId} (${outcome.reason})`);
    }),
  );
  return problems;
}
