/**
 * Before a trader or a login is deleted: its positions closed and its orders cancelled through the same
 * flatten a breach uses (broker-native liquidation when the trader alone is in the contract, else the
 * order kernel's one close, never more than the broker holds), so no order of ours is ever left working
 * for a trader or account that no longer exists.
 */
import { asBrokerAccountId } from "../domain/ids";
import { LIVE_STATUSES } from "../domain/order-status";
import { type AttemptResult, type FlattenContext, legOf, readySession } from "./flatten-context";
import { flattenTrader } from "./flatten-trader";

export function retireTrader(ctx: FlattenContext, traderId: string): Promise<AttemptResult> {
  return flattenTrader(ctx, traderId, `delete:${traderId}`, "the trader is being deleted");
}

/**
 * Cancels working orders of ours on a login that belong to none of `keep` (a trader deleted before this
 * rule, a flatten's leftovers); returns the problems, empty when none is left.
 */
export async function cancelUnowned(
  ctx: FlattenContext,
  accountId: string,
  keep: string[],
): Promise<string[]> {
  const rows = await ctx.sql`
    select client_order_id, broker_order_id, broker_account_id, contract, leg from broker_orders
     where account_id = ${accountId} and status = any(${LIVE_STATUSES as string[]}) and order_type <> 'market'
       and (trader_id is null or not (trader_id = any(${keep}::uuid[])))
     order by id`;
  if (rows.length === 0) return [];
  const session = await readySession(ctx, accountId);
  if (!session) return ["the broker session is not ready"];
  const groups = new Map<string, (typeof rows)[number][]>();
  for (const r of rows) {
    const k = `${r.broker_account_id}|${r.contract}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const problems: string[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    if (!first) continue;
    const leg = await legOf(
      ctx,
      session,
      {
        accountId,
        brokerAccountId: asBrokerAccountId(first.broker_account_id as string),
        contract: first.contract as string,
      },
      null,
    );
    const report = await ctx.kernel.cancel(
      leg,
      group.map((r) => ({
        clientOrderId: r.client_order_id as string,
        brokerOrderId: (r.broker_order_id as string | null) ?? null,
        leg: r.leg as string,
      })),
      "cancelled: its login is being deleted",
    );
    problems.push(...report.problems);
  }
  return problems;
}
