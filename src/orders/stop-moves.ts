/**
 * The stop manager's two broker steps (src/orders/stop-manager.ts), both run under the contract's lock:
 * one stop modified and settled from the broker's record, and a position whose stops are gone protected
 * again at the managed price.
 */
import type { Sql } from "../db/client";
import { type ManagedRow, setOrderStopPrice } from "../db/stop-management";
import { type Dec, toStr } from "../domain/decimal";
import { asBrokerOrderId, asClientOrderId } from "../domain/ids";
import { cancelOrders } from "./cancel";
import type { KernelDeps } from "./kernel";
import type { LegContext } from "./legs";
import { protectPosition } from "./protect";
import { why } from "./unreachable";

/**
 * One modify (price only: same quantity, same OCO partner), settled from the broker's record: true when
 * the order works at `price`. A stop found filled or cancelled is settled through the one cancel (its
 * fill booked), so it leaves the book.
 */
export async function modifyStop(
  sql: Sql,
  ctx: LegContext,
  clientOrderId: string,
  brokerOrderId: string | null,
  price: Dec,
): Promise<boolean> {
  if (brokerOrderId) {
    const outcome = await ctx.session
      .modifyOrder(ctx.brokerAccountId, asBrokerOrderId(brokerOrderId), { stopPrice: price })
      .catch((e: unknown) => ({ kind: "unknown" as const, reason: why(e) }));
    if (outcome.kind === "accepted") {
      await setOrderStopPrice(sql, clientOrderId, price);
      return true;
    }
    ctx.log.warn(
      { event: "StopModifyNotConfirmed", clientOrderId, outcome: outcome.kind, reason: outcome.reason },
      "the stop's modify was not confirmed; asking the broker",
    );
  }
  const found = await ctx.session
    .findOrder(ctx.brokerAccountId, asClientOrderId(clientOrderId))
    .catch(() => "unreachable" as const);
  if (found === "unreachable") return false;
  if (found && (found.status === "working" || found.status === "pending")) {
    if (found.stopPrice !== price) return false;
    await setOrderStopPrice(sql, clientOrderId, price);
    return true;
  }
  // Filled, cancelled or never there: settled (fills booked) through the one cancel.
  await cancelOrders(
    ctx,
    [{ clientOrderId, brokerOrderId: found?.brokerOrderId ?? brokerOrderId, leg: "stop" }],
    "gone at the broker",
  );
  return false;
}

/**
 * The position's stops no longer cover it while the broker still holds it: its remaining exits are
 * cancelled and placed again from the stored exits, the stop at the row's (managed) price, take-profits
 * OCO-linked as before, under a seed counting the replacements. True when it was attempted.
 */
export async function replaceExits(
  k: KernelDeps,
  ctx: LegContext,
  r: ManagedRow,
  reason: string,
): Promise<boolean> {
  const rest = await ctx.journal.liveOrders({
    traderId: r.traderId,
    brokerAccountId: r.brokerAccountId,
    contract: r.contract,
    kind: "exits",
  });
  if (rest.length > 0) {
    const report = await cancelOrders(ctx, rest, "replaced by the stop manager: its stop was gone");
    if (report.problems.length > 0) {
      ctx.log.warn(
        { event: "StopReprotectBlocked", contract: r.contract, problems: report.problems },
        "could not clear the position's exits before placing its stop again; the next quote tries again",
      );
      return false;
    }
  }
  const seed = `sm:${r.traderId}:${r.contract}:${r.armedAt.getTime()}:${r.reprotects}`;
  const protection = await protectPosition(k, ctx, seed, r.traderId, {
    targets: r.exits.targets,
    stopLossTicks: r.exits.stopLossTicks,
    stops: r.rules,
  });
  ctx.log.warn(
    {
      event: "StopReplaced",
      contract: r.contract,
      reason,
      stop: toStr(r.stop),
      results: protection.results.map((x) => `${x.leg}:${x.result.kind}`),
      problems: protection.problems,
    },
    "the position's stop was gone at the broker; placed again at the managed price",
  );
  return true;
}
