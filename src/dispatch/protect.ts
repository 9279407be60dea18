/**
 * Protecting a position: take-profits and stops for the trader's whole booked position, computed from its
 * average (real fill) price, each take-profit OCO-paired with a stop. Shared by the executor (after an
 * entry, an add or a partial exit) and by reconciliation (a position found without its exits).
 */
import type { OrderRequest } from "../brokers/port";
import { tickValue } from "../domain/contract";
import { exitOrders, resolveExitTicks } from "../domain/exits";
import { clientOrderId } from "../domain/ids";
import type { ExitSpec } from "../domain/planner";
import type { Journal } from "./journal";
import { type LegContext, type LegResult, sendLeg, sendOco } from "./legs";

export interface Protection {
  /** Each exit leg sent and how the broker answered. */
  results: { leg: string; result: LegResult }[];
  /** Why the position is (partly) unprotected, in words. */
  problems: string[];
}

/**
 * @param seed the id client order ids derive from: the signal id, or a reconciliation seed, so a retry of
 *   the same protection finds its own orders instead of doubling them.
 */
export async function protectPosition(
  leg: LegContext,
  journal: Journal,
  seed: string,
  traderId: string,
  spec: ExitSpec,
): Promise<Protection> {
  const { contract } = leg;
  const out: Protection = { results: [], problems: [] };
  const position = await journal.position({
    traderId,
    brokerAccountId: leg.brokerAccountId,
    contract: contract.name,
  });
  if (!position || position.netQty === 0) return out;
  const side = position.netQty > 0 ? "buy" : "sell";
  const avg = position.avgPrice;
  const resolved = avg
    ? resolveExitTicks(spec, side, avg, contract.tickSize, tickValue(contract))
    : { targets: spec.targets, stopLossTicks: spec.stopLossTicks };
  if ("problem" in resolved && resolved.problem) out.problems.push(resolved.problem);
  const exits = exitOrders({
    side,
    qty: Math.abs(position.netQty),
    fillPrice: avg,
    tickSize: contract.tickSize,
    targets: resolved.targets,
    stopLossTicks: resolved.stopLossTicks,
  });
  if (exits.problem) out.problems.push(`position unprotected: ${exits.problem}`);
  const request = (e: (typeof exits.legs)[number]): OrderRequest => ({
    clientOrderId: clientOrderId(seed, traderId, e.leg),
    brokerAccountId: leg.brokerAccountId,
    contract,
    side: e.side,
    qty: e.qty,
    type: e.type,
    ...(e.type === "limit" ? { price: e.price } : { stopPrice: e.price }),
  });
  const done = new Set<string>();
  for (const e of exits.legs) {
    if (done.has(e.leg)) continue;
    const partner = e.ocoWith ? exits.legs.find((x) => x.leg === e.ocoWith) : undefined;
    if (partner) {
      done.add(partner.leg);
      const [a, b] = await sendOco(
        leg,
        { leg: e.leg, req: request(e) },
        { leg: partner.leg, req: request(partner) },
      );
      out.results.push({ leg: e.leg, result: a }, { leg: partner.leg, result: b });
    } else {
      out.results.push({ leg: e.leg, result: await sendLeg(leg, e.leg, request(e)) });
    }
    done.add(e.leg);
  }
  return out;
}
