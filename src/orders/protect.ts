/**
 * Protecting a position: take-profits and stops for the trader's booked position, computed from its
 * average (real fill) price, each take-profit OCO-paired with a stop. Shared by the executor (after an
 * entry, an add or a partial exit) and by reconciliation (a position found without its exits).
 *
 * Exits are placed only for a position the broker confirms (src/domain/broker-truth.ts): a stop sent for
 * a position the broker does not hold would open one when it triggers. The broker's position report can
 * trail the fill we booked, so it is given a moment to confirm; after that the book follows the broker.
 */
import type { OrderRequest } from "../brokers/port";
import { protectableQuantity } from "../domain/broker-truth";
import { tickValue } from "../domain/contract";
import { exitOrders, resolveExitTicks } from "../domain/exits";
import { clientOrderId } from "../domain/ids";
import type { ExitSpec } from "../domain/planner";
import { nativeTrailFits } from "../domain/stop-rules";
import { brokerNet } from "./broker-view";
import { correctBook } from "./correct";
import type { KernelDeps } from "./kernel";
import { keyOf } from "./kernel";
import { type LegContext, type LegResult, sendLeg, sendOco } from "./legs";

export interface Protection {
  /** Each exit leg sent and how the broker answered. */
  results: { leg: string; result: LegResult }[];
  /** Why the position is (partly) unprotected, in words. */
  problems: string[];
  /** Things worth knowing that are not problems (the book corrected to the broker). */
  notes: string[];
}

const describe = (n: number) => (n === 0 ? "flat" : `${n > 0 ? "long" : "short"} ${Math.abs(n)}`);

/**
 * The part of `bookNet` the broker confirms, waiting up to `confirmMs` for a position report that trails
 * the fill report.
 */
async function confirmedByBroker(
  k: KernelDeps,
  leg: LegContext,
  bookNet: number,
): Promise<{ qty: number; brokerNet: number }> {
  const deadline = Date.now() + (k.confirmMs ?? 3_000);
  for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
    // The last look asks the broker itself, past any socket mirror (which trails after a reconnect).
    const last = Date.now() >= deadline;
    const net = await brokerNet(leg.session, leg.brokerAccountId, leg.contract.name, last);
    const qty = protectableQuantity(bookNet, net);
    if (qty === bookNet || last) return { qty, brokerNet: net };
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * Call through OrderKernel.protect, which holds the contract's lock.
 * @param seed the id client order ids derive from: the signal id, or a reconciliation seed, so a retry of
 *   the same protection finds its own orders instead of doubling them.
 */
export async function protectPosition(
  k: KernelDeps,
  leg: LegContext,
  seed: string,
  traderId: string,
  spec: ExitSpec,
): Promise<Protection> {
  const { contract } = leg;
  const out: Protection = { results: [], problems: [], notes: [] };
  const wanted =
    spec.targets.some((t) => t.ticks > 0) ||
    spec.stopLossTicks > 0 ||
    spec.alertTarget ||
    spec.alertStop ||
    spec.unitTargets?.length ||
    spec.unitStop;
  if (!wanted) return out; // no exits configured: nothing to ask the broker about
  const key = { traderId, brokerAccountId: leg.brokerAccountId, contract: contract.name };
  let position = await k.journal.position(key);
  if (!position || position.netQty === 0) return out;
  const confirmed = await confirmedByBroker(k, leg, position.netQty);
  if (confirmed.qty !== position.netQty) {
    await correctBook(k, keyOf(leg), confirmed.brokerNet, "the broker does not show the whole position");
    out.notes.push(
      `the broker shows ${describe(confirmed.brokerNet)}, not the booked ${describe(position.netQty)}; the book was corrected`,
    );
    position = await k.journal.position(key);
    if (!position || position.netQty === 0 || confirmed.qty === 0) return out;
  }
  // Never more than the broker confirms, even when the book could not be corrected with certainty.
  const cover = Math.min(Math.abs(position.netQty), Math.abs(confirmed.qty));
  const side = position.netQty > 0 ? "buy" : "sell";
  const avg = position.avgPrice;
  const resolved = avg
    ? resolveExitTicks(spec, side, avg, contract.tickSize, tickValue(contract))
    : { targets: spec.targets, stopLossTicks: spec.stopLossTicks };
  if ("problem" in resolved && resolved.problem) out.problems.push(resolved.problem);
  const exits = exitOrders({
    side,
    qty: cover,
    fillPrice: avg,
    tickSize: contract.tickSize,
    targets: resolved.targets,
    stopLossTicks: resolved.stopLossTicks,
  });
  if (exits.problem) out.problems.push(`position unprotected: ${exits.problem}`);
  // Issue 14: a trailing stop the broker runs itself where it fits; else the relay's stop manager holds
  // the stop, and a stop placed again (a partial exit, reconciliation) goes where the manager had it.
  const rules = spec.stops;
  const native =
    rules !== undefined && nativeTrailFits(rules) && NATIVE_TRAILING.has(leg.session.kind) && !!avg;
  const held =
    rules && !native && avg && k.stops
      ? await k.stops.heldStop(key, side, avg, resolved.stopLossTicks)
      : undefined;
  const stopAt = (price: (typeof exits.legs)[number]["price"]) =>
    held !== undefined && (side === "buy" ? held > price : held < price) ? held : price;
  const request = (e: (typeof exits.legs)[number]): OrderRequest => ({
    clientOrderId: clientOrderId(seed, traderId, e.leg),
    brokerAccountId: leg.brokerAccountId,
    contract,
    side: e.side,
    qty: e.qty,
    type: e.type === "stop" && native ? "trailing_stop" : e.type,
    ...(e.type === "limit" ? { price: e.price } : { stopPrice: stopAt(e.price) }),
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
  const stop = exits.legs.find((e) => e.type === "stop");
  const placed = out.results.some((r) => /^sl\d+$/.test(r.leg) && r.result.kind === "accepted");
  if (k.stops && avg && stop && placed)
    await k.stops.armed({
      leg,
      traderId,
      side,
      entry: avg,
      exits: { targets: resolved.targets, stopLossTicks: resolved.stopLossTicks },
      stopPrice: stopAt(stop.price),
      ...(rules && !native ? { rules } : {}),
    });
  return out;
}

/** Brokers with a trailing stop order of their own (Tradovate TrailingStop, ProjectX type 5). */
const NATIVE_TRAILING = new Set(["tradovate", "ninjatrader", "projectx"]);
