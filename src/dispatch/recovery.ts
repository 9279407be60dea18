/**
 * Recovery of an execution resumed without a stored plan (after a crash, or a lease taken over).
 *
 * The executor sends a new execution's first order before its plan and the order's row are written
 * (write-behind; every later step waits for the plan), so such an execution may have an order at the
 * broker that nothing in the database mentions. Before anything is planned, every id the signal could
 * have sent first for this trader is looked up at the broker: the entry, the add and the close (a plan's
 * first order is always one of those). When one is there, every exit leg the settings can make is looked
 * up too (a crash of the database itself can lose a written plan). What is found is adopted: its row
 * written from the broker's record, its fills booked. Planning then starts from the position before this
 * execution (the book less what its own orders filled), so the plan is the one made before the crash.
 *
 * A broker that cannot be asked stops the execution here (it waits for the broker): nothing is planned
 * or sent while an earlier order of it could be at the broker unseen.
 */
import type { BrokerOrder } from "../brokers/port";
import type { Sql } from "../db/client";
import { positionAndOwnFills } from "../db/positions";
import type { Dec } from "../domain/decimal";
import { type ClientOrderId, clientOrderId } from "../domain/ids";
import type { ExitSpec } from "../domain/planner";
import { type FoundEntry, positionBefore } from "../domain/recovered";
import { adoptFound, type LegContext, lookUpOrder } from "../orders/legs";
import { BrokerUnreachable } from "../orders/unreachable";

/** The legs a plan can send first: anything else waits for the plan to be written. */
const FIRST_LEGS = ["entry", "add", "close"] as const;

export interface Recovered {
  /** The trader's position before this execution's own orders. */
  before: { netQty: number; avgPrice?: Dec };
  /** An entry or add of this execution the broker holds (working or filled): kept and protected. */
  entry?: FoundEntry;
  /** Legs found at the broker and adopted. */
  adopted: string[];
}

export async function recoverLegs(
  ctx: LegContext,
  sql: Sql,
  o: { signalId: string; traderId: string; executionId: string; exits: ExitSpec },
): Promise<Recovered> {
  const firsts = await lookUp(ctx, o, [...FIRST_LEGS]);
  const exits = firsts.length ? await lookUp(ctx, o, exitLegs(o.exits)) : [];
  const adopted: string[] = [];
  let entry: FoundEntry | undefined;
  for (const { leg, id, order } of [...firsts, ...exits]) {
    await adoptFound(ctx, leg, id, order);
    adopted.push(leg);
    const there = order.status !== "rejected" && !(order.status === "cancelled" && order.filledQty === 0);
    if ((leg === "entry" || leg === "add") && there && !entry)
      entry = { leg, side: order.side, qty: order.qty };
  }
  const { row, own } = await positionAndOwnFills(
    sql,
    { traderId: o.traderId, brokerAccountId: ctx.brokerAccountId, contract: ctx.contract.name },
    o.executionId,
  );
  const netQty = positionBefore(row?.netQty ?? 0, own);
  // The average price only stands for the position before when this execution did not move it.
  const avgPrice = own.length === 0 ? row?.avgPrice : undefined;
  if (adopted.length)
    ctx.log.warn(
      { event: "ExecutionRecovered", adopted, positionBefore: netQty },
      "orders of this execution were at the broker without their rows (sent before a restart); adopted",
    );
  return {
    before: { netQty, ...(avgPrice !== undefined ? { avgPrice } : {}) },
    ...(entry ? { entry } : {}),
    adopted,
  };
}

/** Every exit leg a protection with these settings can send: sl0, then tp<n> and sl<n> per target. */
export function exitLegs(spec: ExitSpec): string[] {
  const targets = Math.max(spec.targets.length, spec.unitTargets?.length ?? 0, spec.alertTarget ? 1 : 0, 1);
  const legs = ["sl0"];
  for (let n = 1; n <= targets; n++) legs.push(`tp${n}`, `sl${n}`);
  return legs;
}

async function lookUp(
  ctx: LegContext,
  o: { signalId: string; traderId: string },
  legs: string[],
): Promise<{ leg: string; id: ClientOrderId; order: BrokerOrder }[]> {
  const answers = await Promise.all(
    legs.map(async (leg) => {
      const id = clientOrderId(o.signalId, o.traderId, leg);
      return { leg, id, order: await lookUpOrder(ctx, id) };
    }),
  );
  const away = answers.find((a) => a.order === "unreachable");
  if (away)
    throw new BrokerUnreachable(
      `could not ask the broker whether ${away.id} was sent before the restart; nothing is planned until it answers`,
    );
  return answers.flatMap((a) => (a.order && a.order !== "unreachable" ? [{ ...a, order: a.order }] : []));
}
