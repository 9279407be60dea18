/**
 * What a plan becomes when its execution resumes after a crash that may have come between its first
 * order leaving and the plan being written (the executor writes both behind the order). Pure: the
 * executor looks the orders up at the broker (src/dispatch/recovery.ts) and plans again from the position
 * as it was before them; these rules then make sure what already went out is never sent again and never
 * left without its exits.
 */
import type { Plan } from "./planner";
import type { Side } from "./venue/types";

/** An entry or add of the execution that the broker holds (working or filled). */
export interface FoundEntry {
  leg: "entry" | "add";
  side: Side;
  qty: number;
}

/**
 * The trader's position before the execution's own orders: the booked position less what those orders
 * filled (each order's filled quantity, signed by its side).
 */
export function positionBefore(bookNet: number, own: { side: Side; filledQty: number }[]): number {
  return own.reduce((net, o) => net - (o.side === "buy" ? o.filledQty : -o.filledQty), bookNet);
}

/**
 * The plan with an entry that already reached the broker: kept (adopted under its id, never sent again)
 * and protected, even when the plan made now would not open (the signal went stale during the restart, a
 * loss limit closed the account meanwhile, a setting changed): the position exists and needs its exits.
 *
 * @example withFoundEntry(skippedStalePlan, { leg: "entry", side: "buy", qty: 1 }).intents
 *   // [{ kind: "entry", leg: "entry", side: "buy", qty: 1 }, { kind: "protect" }]
 */
export function withFoundEntry(p: Plan, found: FoundEntry): Plan {
  if (p.intents.some((i) => i.kind === "entry" && i.leg === found.leg)) return p;
  const kept = p.intents.filter((i) => i.kind !== "entry" && i.kind !== "protect");
  const words = `${found.leg === "add" ? "an add" : "an entry"} (${found.side} ${found.qty}) sent before the relay restarted was found at the broker; kept and protected`;
  return {
    ...p,
    decision: found.leg === "add" ? "added" : kept.some((i) => i.kind === "close") ? "reversed" : "opened",
    reason: `${words} (${p.reason})`,
    intents: [
      ...kept,
      { kind: "entry", leg: found.leg, side: found.side, qty: found.qty },
      ...(found.leg === "add" && !kept.some((i) => i.kind === "cancelExits")
        ? [{ kind: "cancelExits" } as const]
        : []),
      { kind: "protect" },
    ],
  };
}
