/**
 * MFE / MAE of open trades (issue 15): the highest and lowest quote seen on each trader's open position,
 * written behind to its trade row. The fills' own prices are booked with the fills (src/db/trades.ts);
 * this adds the quotes in between. Never a write per quote: an extreme that moved is written at most once
 * every `throttleMs` per position (all due positions in one statement, from the monitor's tick), and at
 * once when the position closes or reverses, so a closed trade carries every extreme seen while it was
 * open. Writes only ever widen (src/db/trades.ts `widenTrades`), so a lost or late write is never wrong,
 * only narrower.
 */
import type { Sql } from "../db/client";
import type { AppliedFill } from "../db/orders";
import { openTradeExtremes, type SeenExtreme, widenTrades } from "../db/trades";
import type { Dec } from "../domain/decimal";
import { type Extremes, isNewExtreme, widen } from "../domain/excursion";
import type { Logger } from "../log";

interface Followed {
  traderId: string;
  brokerAccountId: string;
  contract: string;
  /** Sign of the position: a change of sign is a reverse (one trade closed, the next opened). */
  sign: number;
  /** What the trade row is known to hold (or is being written): quotes inside it are not news. */
  known: Extremes | undefined;
  /** Extremes seen but not written yet, with the quote's time. */
  high?: { price: Dec; at: Date };
  low?: { price: Dec; at: Date };
  lastWrite: number;
}

const qk = (accountId: string, contract: string) => `${accountId}|${contract}`;

export class Excursions {
  /** accountId|contract -> traderId|brokerAccountId|contract -> followed position. */
  private readonly byQuote = new Map<string, Map<string, Followed>>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
    readonly throttleMs = 2_000,
  ) {}

  /** Follows every open trade (at start). */
  async load(): Promise<void> {
    for (const t of await openTradeExtremes(this.sql)) {
      this.follow(t.accountId, t.traderId, t.brokerAccountId, t.contract, t.direction === "long" ? 1 : -1, {
        high: t.high,
        low: t.low,
      });
    }
  }

  /** A quote: a new extreme on any followed position of this account and contract is kept for writing. */
  onQuote(accountId: string, contract: string, last: Dec, at: Date): void {
    const positions = this.byQuote.get(qk(accountId, contract));
    if (!positions) return;
    for (const p of positions.values()) {
      if (!isNewExtreme(p.known, last)) continue;
      if (!p.known || last > p.known.high) p.high = { price: last, at };
      if (!p.known || last < p.known.low) p.low = { price: last, at };
      p.known = widen(p.known, last);
    }
  }

  /**
   * A booked fill: follows a position that opened, writes at once what a closed or reversed one saw.
   * Resolves when that write is done (the monitor does not wait for it).
   */
  onApplied(accountId: string, applied: AppliedFill): Promise<void> {
    const o = applied.order;
    if (!o.traderId) return this.writing;
    const sign = Math.sign(applied.position.netQty);
    const positions = this.byQuote.get(qk(accountId, o.contract));
    const key = `${o.traderId}|${o.brokerAccountId}|${o.contract}`;
    const p = positions?.get(key);
    if (p && p.sign === sign) return this.writing;
    let written = this.writing;
    if (p) {
      positions?.delete(key);
      if (positions?.size === 0) this.byQuote.delete(qk(accountId, o.contract));
      written = this.write([p]);
    }
    if (sign !== 0) {
      const avg = applied.position.avgPrice;
      this.follow(
        accountId,
        o.traderId,
        o.brokerAccountId,
        o.contract,
        sign,
        avg ? widen(undefined, avg) : undefined,
      );
    }
    return written;
  }

  /** Writes the extremes that moved and are due (every position when `all`, at shutdown). */
  flush(all = false): Promise<void> {
    const now = this.clock();
    const due: Followed[] = [];
    for (const positions of this.byQuote.values())
      for (const p of positions.values())
        if ((p.high || p.low) && (all || now - p.lastWrite >= this.throttleMs)) due.push(p);
    return this.write(due);
  }

  /** Writes in order, one statement at a time; a failure keeps the extremes for the next flush. */
  private write(ps: Followed[]): Promise<void> {
    const seen: SeenExtreme[] = [];
    const taken = new Map<Followed, Pick<Followed, "high" | "low">>();
    for (const p of ps) {
      if (!p.high && !p.low) continue;
      seen.push({
        traderId: p.traderId,
        brokerAccountId: p.brokerAccountId,
        contract: p.contract,
        ...(p.high ? { high: p.high } : {}),
        ...(p.low ? { low: p.low } : {}),
      });
      taken.set(p, { ...(p.high ? { high: p.high } : {}), ...(p.low ? { low: p.low } : {}) });
      delete p.high;
      delete p.low;
      p.lastWrite = this.clock();
    }
    if (seen.length === 0) return this.writing;
    this.writing = this.writing.then(() =>
      widenTrades(this.sql, seen).then(
        () => undefined,
        (error: unknown) => {
          // Put back what was not written (unless a newer extreme replaced it meanwhile).
          for (const [p, x] of taken) {
            if (x.high && (!p.high || x.high.price > p.high.price)) p.high = x.high;
            if (x.low && (!p.low || x.low.price < p.low.price)) p.low = x.low;
          }
          this.log.warn(
            { event: "ExcursionNotSaved", positions: seen.length, error: String(error) },
            "trade extremes kept in memory for the next write",
          );
        },
      ),
    );
    return this.writing;
  }

  private follow(
    accountId: string,
    traderId: string,
    brokerAccountId: string,
    contract: string,
    sign: number,
    known: Extremes | undefined,
  ): void {
    let positions = this.byQuote.get(qk(accountId, contract));
    if (!positions) {
      positions = new Map();
      this.byQuote.set(qk(accountId, contract), positions);
    }
    positions.set(`${traderId}|${brokerAccountId}|${contract}`, {
      traderId,
      brokerAccountId,
      contract,
      sign,
      known,
      lastWrite: 0,
    });
  }
}
