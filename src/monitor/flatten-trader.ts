/**
 * One attempt to flatten a trader (trader-scope breach): only the trader's own booked positions and its
 * own working orders, in every contract it holds or has orders in.
 *
 * Per contract:
 * - The trader alone holds the whole broker position and every working order on it: broker-native
 *   liquidation (the broker closes and cancels in one step; see flatten-native.ts).
 * - Otherwise (other traders or manual orders share the contract): the trader's working entries are
 *   cancelled, its quantity is closed through the order kernel's one close (broker_orders row first,
 *   deterministic id, never more than the broker holds, unknown outcomes settled with the broker), and
 *   only after the close has filled are its take-profits and stops cancelled: a refused close leaves the
 *   stop in place.
 */
import type { BrokerSession } from "../brokers/port";
import { getPosition } from "../db/positions";
import type { CloseReport } from "../orders/close";
import { BrokerUnreachable } from "../orders/unreachable";
import { type ContractKey, liveOrdersOf, type TraderContract, traderContracts } from "./book-reads";
import {
  type AttemptResult,
  chooseLeg,
  type FlattenContext,
  legOf,
  readySession,
  why,
} from "./flatten-context";
import { type BrokerSnapshot, liquidate, readSnapshot } from "./flatten-native";

/** `seed` makes the ids of this breach: e.g. "loss:2026-03-09". */
export async function flattenTrader(
  ctx: FlattenContext,
  traderId: string,
  seed: string,
  reason: string,
): Promise<AttemptResult> {
  const contracts = await traderContracts(ctx.sql, traderId);
  if (contracts.length === 0) return { flat: true };
  const results = await Promise.all(
    contracts.map((c) =>
      flattenContract(ctx, traderId, c, `${seed}:${c.brokerAccountId}:${c.contract}`, reason).catch(
        (error): AttemptResult => ({ flat: false, reason: why(error) }),
      ),
    ),
  );
  const failed = results.filter((r): r is Extract<AttemptResult, { flat: false }> => !r.flat);
  if (failed.length === 0) return { flat: true };
  return {
    flat: false,
    reason: failed.map((f) => f.reason).join("; "),
    ...(failed.some((f) => f.sessionDown) ? { sessionDown: true } : {}),
  };
}

async function flattenContract(
  ctx: FlattenContext,
  traderId: string,
  c: TraderContract,
  seed: string,
  reason: string,
): Promise<AttemptResult> {
  const session = await readySession(ctx, c.accountId);
  if (!session) return { flat: false, reason: "the broker session is not ready", sessionDown: true };
  const k: ContractKey = { accountId: c.accountId, brokerAccountId: c.brokerAccountId, contract: c.contract };
  if (c.netQty !== 0 && c.othersHolding === 0 && c.othersOrders === 0) {
    const snapshot = await readSnapshot(session, c.brokerAccountId, c.contract).catch((error: unknown) => {
      ctx.logger.warn(
        { event: "OwnershipUnknown", ...k, reason: why(error) },
        "closing with a market order instead",
      );
      return undefined;
    });
    if (snapshot && soleOwner(c, snapshot))
      return liquidate(
        ctx,
        session,
        { ...k, seed, subject: traderId, owner: traderId, why: reason },
        snapshot,
      );
  }
  return closeAtMarket(ctx, session, k, traderId, seed);
}

/**
 * True when a broker-side liquidation of the contract would touch nothing but this trader's own: the
 * broker's position is exactly the trader's and every order working there is one the relay placed for it.
 */
function soleOwner(c: TraderContract, snapshot: BrokerSnapshot): boolean {
  if (snapshot.brokerNet !== c.netQty) return false;
  const ids = new Set(c.live.map((o) => o.clientOrderId));
  const brokerIds = new Set(c.live.map((o) => o.brokerOrderId).filter((x) => x !== null));
  return snapshot.working.every(
    (o) =>
      brokerIds.has(o.brokerOrderId) ||
      // ProjectX bracket children carry the entry's tag plus "-SL"/"-TP".
      (o.clientOrderId !== undefined && ids.has(o.clientOrderId.replace(/-(SL|TP)$/i, ""))),
  );
}

/**
 * Cancel entries, close the trader's quantity at market through the kernel's one close (never more than
 * the broker holds), then cancel its exits.
 */
async function closeAtMarket(
  ctx: FlattenContext,
  session: BrokerSession,
  k: ContractKey,
  traderId: string,
  seed: string,
): Promise<AttemptResult> {
  const only = { brokerAccountId: k.brokerAccountId, contract: k.contract };
  const leg = await legOf(ctx, session, k, traderId);
  const entries = (await liveOrdersOf(ctx.sql, traderId, only)).filter((o) => o.kind === "entry");
  const problems = (await ctx.kernel.cancel(leg, entries, "cancelled by the loss monitor")).problems;
  const position = await getPosition(ctx.sql, { traderId, ...k });
  const qty = Math.abs(position?.netQty ?? 0);
  if (position && qty > 0) {
    const { leg: name, id } = await chooseLeg(ctx.sql, seed, traderId, true);
    ctx.logger.warn(
      { event: "FlattenCloseSent", traderId, contract: k.contract, clientOrderId: id, qty: position.netQty },
      "closing at market",
    );
    let report: CloseReport;
    try {
      report = await ctx.kernel.close(leg, {
        traderId,
        leg: name,
        clientOrderId: id,
        side: position.netQty > 0 ? "sell" : "buy",
        planned: qty,
      });
    } catch (error) {
      if (error instanceof BrokerUnreachable) return { flat: false, reason: why(error), sessionDown: true };
      throw error;
    }
    if (report.kind === "rejected") return { flat: false, reason: `close refused: ${report.reason}` };
    if (report.kind === "unfilled") return { flat: false, reason: `no fill report for the close yet` };
  }
  // The position is closed: now its own exits can go without leaving anything naked.
  const rest = await liveOrdersOf(ctx.sql, traderId, only);
  problems.push(
    ...(await ctx.kernel.cancel(leg, rest, "cancelled by the loss monitor after the close")).problems,
  );
  const after = await getPosition(ctx.sql, { traderId, ...k });
  if ((after?.netQty ?? 0) !== 0)
    return { flat: false, reason: `still ${after?.netQty} booked after the close` };
  if (problems.length) return { flat: false, reason: problems.join("; ") };
  return { flat: true };
}
