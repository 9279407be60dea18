/**
 * Broker-native liquidation of one contract on one sub-account (Tradovate liquidateposition, ProjectX
 * closeContract, the paper venue's liquidate): the broker closes the position and its working orders
 * together, so a position is never left open without its stop. Liquidating twice can never open a
 * position, which is why a refused or unanswered liquidation may be retried.
 *
 * The liquidation is written to broker_orders first (deterministic client order id). When one trader owns
 * the whole position, the row carries that trader and its fills book the trader flat through the normal
 * FillRecorder path; otherwise the row has no trader and each trader's booked position in the contract is
 * closed at the liquidation's price ("alloc" rows), so the book agrees with the broker.
 */
import type { BrokerOrder, BrokerSession, OrderOutcome } from "../brokers/port";
import { insertIntent, markOrder } from "../db/orders";
import { getPosition } from "../db/positions";
import type { Dec } from "../domain/decimal";
import { asBrokerAccountId, type ClientOrderId, clientOrderId } from "../domain/ids";
import { ContractLocks } from "../orders/locks";
import { attemptRows, bookedInContract, type ContractKey } from "./book-reads";
import { cancelLeftovers } from "./cancel";
import {
  type AttemptResult,
  chooseLeg,
  type FlattenContext,
  legIds,
  MAX_LEGS,
  waitBrokerFlat,
  why,
} from "./flatten-context";

export interface LiquidationTarget extends ContractKey {
  /** Seed of the client order ids, e.g. "loss:2026-03-09:<sub-account>:MNQZ6". */
  seed: string;
  /** Trader or account the ids are derived for. */
  subject: string;
  /** The trader whose booked position this liquidation closes, or null (allocate to every holder). */
  owner: string | null;
  /** Why, in words for the order rows ("daily loss limit", "kill switch"). */
  why: string;
}

const NOTHING_PLACED = new Set(["0", "flat"]);

/** What the broker shows for the contract right now (read once, shared with the ownership check). */
export interface BrokerSnapshot {
  brokerNet: number;
  working: BrokerOrder[];
}

export async function readSnapshot(
  session: BrokerSession,
  brokerAccountId: string,
  contract: string,
): Promise<BrokerSnapshot> {
  const account = asBrokerAccountId(brokerAccountId);
  const [positions, orders] = await Promise.all([session.positions(account), session.workingOrders(account)]);
  return {
    brokerNet: positions.find((p) => p.contract === contract)?.netPos ?? 0,
    working: orders.filter((o) => o.contract === contract),
  };
}

/** Liquidates holding the contract's lock, so no close or protect of the kernel interleaves with it. */
export function liquidate(
  ctx: FlattenContext,
  session: BrokerSession,
  t: LiquidationTarget,
  snapshot?: BrokerSnapshot,
): Promise<AttemptResult> {
  return ctx.kernel.locks.run(ContractLocks.key(t.accountId, t.brokerAccountId, t.contract), () =>
    liquidateNow(ctx, session, t, snapshot),
  );
}

async function liquidateNow(
  ctx: FlattenContext,
  session: BrokerSession,
  t: LiquidationTarget,
  snapshot?: BrokerSnapshot,
): Promise<AttemptResult> {
  const account = asBrokerAccountId(t.brokerAccountId);
  const log = ctx.logger.child({
    accountId: t.accountId,
    brokerAccountId: t.brokerAccountId,
    contract: t.contract,
  });
  let snap: BrokerSnapshot;
  try {
    snap = snapshot ?? (await readSnapshot(session, t.brokerAccountId, t.contract));
  } catch (error) {
    return { flat: false, reason: `could not read the broker's position: ${why(error)}` };
  }
  const { brokerNet } = snap;
  let outcome: OrderOutcome | undefined;
  let sent: ClientOrderId | undefined;
  if (brokerNet !== 0 || snap.working.length > 0) {
    const spec = await ctx.spec(t.accountId, t.contract);
    // Only a position gets a row (its fills book onto it); orders alone just need an unused id.
    const id =
      brokerNet !== 0
        ? await claimLeg(ctx, t, brokerNet)
        : (await chooseLeg(ctx.sql, t.seed, t.subject, false)).id;
    sent = id;
    log.warn(
      { event: "LiquidationSent", clientOrderId: id, netPos: brokerNet, reason: t.why },
      "liquidating",
    );
    outcome = await session.flatten(account, spec, id);
    if (brokerNet !== 0) await conclude(ctx, t, id, outcome);
    if (outcome.kind === "rejected") {
      log.warn(
        { event: "LiquidationRejected", clientOrderId: id, reason: outcome.reason },
        "liquidation refused",
      );
      return { flat: false, reason: `the broker refused the liquidation: ${outcome.reason}` };
    }
  }
  if (!(await waitBrokerFlat(session, t.brokerAccountId, t.contract, ctx.verifyMs))) {
    return {
      flat: false,
      reason:
        outcome?.kind === "unknown"
          ? `no answer to the liquidation (${outcome.reason}) and the broker still shows a position`
          : "the broker still shows a position after the liquidation",
    };
  }
  // Closed: anything still working on the contract can now go without leaving a position naked.
  const leftover = await session
    .workingOrders(account)
    .then((os) => os.filter((o) => o.contract === t.contract))
    .catch(() => []);
  const problems = await cancelLeftovers(ctx, session, t, leftover);
  if (problems.length) return { flat: false, reason: problems.join("; ") };
  await settleBook(ctx, session, t, sent, outcome);
  log.info({ event: "LiquidationVerified", clientOrderId: sent ?? null }, "flat at the broker");
  return { flat: true };
}

/** Writes the next unused attempt's row (fl1, fl2, ...) in one round trip when it is the first. */
async function claimLeg(
  ctx: FlattenContext,
  t: LiquidationTarget,
  brokerNet: number,
): Promise<ClientOrderId> {
  for (const { leg, id } of legIds(t.seed, t.subject)) {
    const { existed } = await insertIntent(ctx.sql, {
      clientOrderId: id,
      executionId: null,
      traderId: t.owner,
      accountId: t.accountId,
      brokerAccountId: t.brokerAccountId,
      contract: t.contract,
      leg,
      side: brokerNet > 0 ? "sell" : "buy",
      type: "market",
      qty: Math.abs(brokerNet),
    });
    if (!existed) return id;
  }
  throw new Error(`more than ${MAX_LEGS} liquidations for one contract; refusing to send another`);
}

async function conclude(
  ctx: FlattenContext,
  t: LiquidationTarget,
  id: ClientOrderId,
  outcome: OrderOutcome,
): Promise<void> {
  if (outcome.kind === "rejected") {
    await markOrder(ctx.sql, id, { status: "rejected", reason: outcome.reason, raw: outcome.raw });
    return;
  }
  if (outcome.kind === "unknown") {
    await markOrder(ctx.sql, id, { status: "unknown", reason: outcome.reason });
    return;
  }
  const alreadyFlat = (outcome.raw as { alreadyFlat?: boolean } | undefined)?.alreadyFlat === true;
  if (NOTHING_PLACED.has(outcome.brokerOrderId) || alreadyFlat) {
    await markOrder(ctx.sql, id, { status: "cancelled", reason: "nothing left to close at the broker" });
    return;
  }
  await markOrder(ctx.sql, id, {
    status: "accepted",
    brokerOrderId: outcome.brokerOrderId,
    reason: t.why,
    raw: outcome.raw,
  });
  ctx.fills.bind(t.accountId, outcome.brokerOrderId, id);
  if (outcome.fill) await ctx.fills.record(t.accountId, id, t.contract, outcome.brokerOrderId, outcome.fill);
}

/** After the broker reads flat: make every booked position in the contract flat too. */
async function settleBook(
  ctx: FlattenContext,
  session: BrokerSession,
  t: LiquidationTarget,
  sent: ClientOrderId | undefined,
  outcome: OrderOutcome | undefined,
): Promise<void> {
  const last = sent ?? (await lastLeg(ctx, t));
  if (t.owner && (await ownerSettled(ctx, session, t, t.owner, last))) return;
  const holders = (await bookedInContract(ctx.sql, t)).filter((h) => !t.owner || h.traderId === t.owner);
  if (holders.length === 0) return;
  const { price, estimated } = await liquidationPrice(ctx, session, t, last, outcome);
  if (price === undefined) {
    ctx.logger.error(
      { event: "FlattenNotBooked", contract: t.contract, traders: holders.map((h) => h.traderId) },
      "flat at the broker but no price to book the close; reconciliation must fix the book",
    );
    return;
  }
  for (const h of holders) {
    const id = clientOrderId(`${t.seed}:alloc`, h.traderId, "alloc");
    await insertIntent(ctx.sql, {
      clientOrderId: id,
      executionId: null,
      traderId: h.traderId,
      accountId: t.accountId,
      brokerAccountId: t.brokerAccountId,
      contract: t.contract,
      leg: "alloc",
      side: h.netQty > 0 ? "sell" : "buy",
      type: "market",
      qty: Math.abs(h.netQty),
    });
    await ctx.fills.record(t.accountId, id, t.contract, `alloc-${id}`, {
      price,
      qty: Math.abs(h.netQty),
      at: ctx.now(),
      id: `alloc:${id}`,
    });
    await markOrder(ctx.sql, id, {
      status: "filled",
      reason: `closed by the broker's liquidation (${t.why})${estimated ? " at the last price: fill price unknown" : ""}`,
    });
    ctx.logger.warn(
      { event: "LiquidationBooked", traderId: h.traderId, contract: t.contract, qty: h.netQty, estimated },
      "booked the trader's share of the liquidation",
    );
  }
}

/**
 * The owner's liquidation books it flat through its own row. True when it did (or will: a row the broker
 * acknowledged may still receive its fill, so the book is not touched twice); false when nothing of ours
 * can book it any more and the position must be closed in the book directly.
 */
async function ownerSettled(
  ctx: FlattenContext,
  session: BrokerSession,
  t: LiquidationTarget,
  owner: string,
  last: ClientOrderId | undefined,
): Promise<boolean> {
  const flat = async () => {
    const p = await getPosition(ctx.sql, {
      traderId: owner,
      brokerAccountId: t.brokerAccountId,
      contract: t.contract,
    });
    return !p || p.netQty === 0;
  };
  const deadline = Date.now() + ctx.fillWaitMs;
  while (Date.now() <= deadline) {
    if (await flat()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!last) return false;
  const found = await session.findOrder(asBrokerAccountId(t.brokerAccountId), last).catch(() => null);
  if (found && found.filledQty > 0 && found.avgFillPrice !== undefined) {
    ctx.fills.bind(t.accountId, found.brokerOrderId, last);
    await ctx.fills.record(t.accountId, last, t.contract, found.brokerOrderId, {
      price: found.avgFillPrice,
      qty: found.filledQty,
      cumQty: found.filledQty,
      at: ctx.now(),
    });
    if (await flat()) return true;
  }
  const row = (await attemptRows(ctx.sql, [last])).get(last);
  if (row?.brokerOrderId && row.status !== "cancelled" && row.status !== "rejected") {
    ctx.logger.warn(
      { event: "FlattenFillNotBooked", traderId: owner, contract: t.contract, clientOrderId: last },
      "flat at the broker; the liquidation's fill has not been booked yet",
    );
    return true;
  }
  return false;
}

/** The last liquidation id used for this target, if any. */
async function lastLeg(ctx: FlattenContext, t: LiquidationTarget): Promise<ClientOrderId | undefined> {
  try {
    return (await chooseLeg(ctx.sql, t.seed, t.subject, false)).previous;
  } catch {
    return undefined;
  }
}

/** The liquidation's fill price: from the reply, the booked row, the broker, else the last quote. */
async function liquidationPrice(
  ctx: FlattenContext,
  session: BrokerSession,
  t: LiquidationTarget,
  sent: ClientOrderId | undefined,
  outcome: OrderOutcome | undefined,
): Promise<{ price?: Dec; estimated: boolean }> {
  if (outcome?.kind === "accepted" && outcome.fill) return { price: outcome.fill.price, estimated: false };
  if (sent) {
    const deadline = Date.now() + ctx.fillWaitMs;
    for (;;) {
      const row = (await attemptRows(ctx.sql, [sent])).get(sent);
      if (row?.fillPrice) return { price: row.fillPrice, estimated: false };
      const found = await session.findOrder(asBrokerAccountId(t.brokerAccountId), sent).catch(() => null);
      if (found?.avgFillPrice !== undefined) return { price: found.avgFillPrice, estimated: false };
      if (!row?.brokerOrderId || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const last = ctx.lastPrice(t.accountId, t.contract);
  return last === undefined ? { estimated: true } : { price: last, estimated: true };
}
