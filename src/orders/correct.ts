/**
 * Correcting the book to the broker, never the broker to the book. When a trader's booked position holds
 * more than the broker does (closed by hand at the broker, a liquidation the relay did not send, a fill we
 * never heard of), the book is cut to what the broker shows (src/domain/broker-truth.ts decides who and
 * by how much) and the difference is reported as drift.
 *
 * The cut is booked like a fill, on a `sync` order row that never went to a broker, so realized P&L and
 * the loss monitor follow it. Its price comes from the broker's own fills of orders that were not ours
 * (the trader's manual close), else the last quote, else the position's average price (no P&L; said so).
 */
import { randomUUID } from "node:crypto";
import { insertIntent } from "../db/orders";
import { openInContract } from "../db/positions";
import { bookCorrections } from "../domain/broker-truth";
import { add, type Dec, dec, div, times, toStr } from "../domain/decimal";
import { clientOrderId } from "../domain/ids";
import type { Side } from "../domain/venue/types";
import type { ForeignFill } from "./fills";
import type { KernelDeps } from "./kernel";

export interface ContractKey {
  accountId: string;
  brokerAccountId: string;
  contract: string;
}

export interface CorrectionResult {
  /** What changed, in a trader's words ("" when the book already agreed). */
  detail: string;
  corrected: { traderId: string; from: number; to: number }[];
}

const describe = (n: number) => (n === 0 ? "flat" : `${n > 0 ? "long" : "short"} ${Math.abs(n)}`);

/**
 * Cuts the books of `key` to `brokerNet` and reports it. Call it only while no execution of those traders
 * is placing orders in the contract (the caller holds the contract's lock, or reconciliation checked).
 */
export async function correctBook(
  k: KernelDeps,
  key: ContractKey,
  brokerNet: number,
  why: string,
): Promise<CorrectionResult> {
  const holders = await openInContract(k.sql, key);
  const plan = bookCorrections(holders, brokerNet);
  if (plan.ambiguous) {
    await k.drift.report({ ...key, kind: "position_mismatch", detail: plan.ambiguous, fixed: false });
    return { detail: "", corrected: [] };
  }
  if (plan.corrections.length === 0) return { detail: "", corrected: [] };
  const parts: string[] = [];
  const fills = k.fills.foreignFills(key.accountId, key.contract);
  for (const c of plan.corrections) {
    const holder = holders.find((h) => h.traderId === c.traderId);
    const qty = Math.abs(c.from - c.to);
    const side: Side = c.from > 0 ? "sell" : "buy";
    const priced = priceOf(fills, side, qty) ?? lastPrice(k, key) ?? estimate(holder?.avgPrice);
    const id = clientOrderId(`sync:${randomUUID()}`, c.traderId, "sync");
    await insertIntent(k.sql, {
      clientOrderId: id,
      executionId: null,
      traderId: c.traderId,
      ...key,
      leg: "sync",
      side,
      type: "market",
      qty,
    });
    await k.fills.record(key.accountId, id, key.contract, `sync-${id}`, {
      price: priced.price,
      qty,
      at: new Date(),
      id: `sync:${id}`,
    });
    const reason = `book corrected to the broker (${why}); priced ${priced.source}`;
    await k.journal.mark({ clientOrderId: id, status: "filled", reason });
    k.logger.warn(
      {
        event: "BookCorrected",
        traderId: c.traderId,
        ...key,
        from: c.from,
        to: c.to,
        price: toStr(priced.price),
        priceSource: priced.source,
      },
      reason,
    );
    parts.push(`${describe(c.from)} -> ${describe(c.to)} at ${toStr(priced.price)} (${priced.source})`);
  }
  const detail = `the broker shows ${describe(brokerNet)} in ${key.contract}; ${why}; the relay's book was corrected: ${parts.join(", ")}`;
  await k.drift.report({ ...key, kind: "book_corrected", detail, fixed: true });
  return { detail, corrected: plan.corrections };
}

type Priced = { price: Dec; source: string };

/** The average price of the latest foreign fills on the closing side covering `qty`. */
function priceOf(fills: ForeignFill[], side: Side, qty: number): Priced | undefined {
  let left = qty;
  let value = dec(0);
  let got = 0;
  for (const f of fills) {
    if (f.side !== side || left === 0) continue;
    const take = Math.min(left, f.qty);
    value = add(value, times(f.price, take));
    got += take;
    left -= take;
  }
  if (got === 0) return undefined;
  return {
    price: div(value, dec(got)),
    source: "from the broker's fill of the order placed outside the relay",
  };
}

function lastPrice(k: KernelDeps, key: ContractKey): Priced | undefined {
  const last = k.lastPrice?.(key.accountId, key.contract);
  return last === undefined ? undefined : { price: last, source: "at the last quote: no broker fill seen" };
}

function estimate(avg: Dec | undefined): Priced {
  return {
    price: avg ?? dec(0),
    source: "at the position's average price: no broker fill or quote seen, so no P&L booked",
  };
}
