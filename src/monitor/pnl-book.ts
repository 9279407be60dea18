/**
 * The monitor's in-memory P&L: booked trader positions, each trader's realized dollars of the day, the
 * broker's own positions and realized P&L per account, and the last price of every contract. Exact
 * decimals only. It is a cache: positions come from the `positions` table and fills, realized figures
 * from `trader_daily_pnl` and the broker's cash events.
 */
import type { ContractSpec } from "../domain/contract";
import { add, type Dec, max, mul, sub, times, ZERO } from "../domain/decimal";

export interface Holding {
  accountId: string;
  brokerAccountId: string;
  contract: string;
  /** Signed: positive long. */
  netQty: number;
  avgPrice?: Dec;
}

export interface TraderHolding extends Holding {
  traderId: string;
}

export interface PnlFigures {
  realized: Dec;
  unrealized: Dec;
  total: Dec;
  /** False when a position has no price or no average yet: its unrealized part is missing. */
  priced: boolean;
}

interface DayFigures {
  day: string;
  realized: Dec;
  trades: number;
  peak?: Dec;
}

type SpecOf = (accountId: string, contract: string) => ContractSpec | undefined;

const pk = (accountId: string, contract: string) => `${accountId}|${contract}`;

export class PnlBook {
  private readonly traderHoldings = new Map<string, TraderHolding>();
  private readonly tradersByQuote = new Map<string, Set<string>>();
  private readonly traderDays = new Map<string, DayFigures>();
  private readonly brokerHoldings = new Map<string, Holding>();
  /** accountId -> brokerAccountId -> realized of the day as the broker reports it. */
  private readonly brokerRealized = new Map<string, Map<string, { day: string; realized: Dec }>>();
  private readonly accountPeaks = new Map<string, { day: string; peak: Dec }>();
  private readonly prices = new Map<string, { last: Dec; at: Date }>();
  private readonly lastByContract = new Map<string, Dec>();

  constructor(private readonly specOf: SpecOf) {}

  // Trader side.

  setTraderHolding(h: TraderHolding): void {
    const key = `${h.traderId}|${h.brokerAccountId}|${h.contract}`;
    const quoteKey = pk(h.accountId, h.contract);
    if (h.netQty === 0) {
      this.traderHoldings.delete(key);
      this.tradersByQuote.get(quoteKey)?.delete(h.traderId);
      return;
    }
    this.traderHoldings.set(key, h);
    let set = this.tradersByQuote.get(quoteKey);
    if (!set) {
      set = new Set();
      this.tradersByQuote.set(quoteKey, set);
    }
    set.add(h.traderId);
  }

  holdingsOf(traderId: string): TraderHolding[] {
    return [...this.traderHoldings.values()].filter((h) => h.traderId === traderId);
  }

  allTraderHoldings(): TraderHolding[] {
    return [...this.traderHoldings.values()];
  }

  /** Traders whose P&L moves with this account's quote of this contract. */
  tradersQuoted(accountId: string, contract: string): string[] {
    return [...(this.tradersByQuote.get(pk(accountId, contract)) ?? [])];
  }

  /** Sets the trader's figures for a day (loaded at start). */
  loadTraderDay(traderId: string, day: string, realized: Dec, trades: number, peak?: Dec): void {
    this.traderDays.set(traderId, { day, realized, trades, ...(peak !== undefined ? { peak } : {}) });
  }

  addRealized(traderId: string, day: string, realized: Dec, trades: number): void {
    const d = this.traderDay(traderId, day);
    d.realized = add(d.realized, realized);
    d.trades += trades;
  }

  traderDayFigures(traderId: string): DayFigures | undefined {
    return this.traderDays.get(traderId);
  }

  traderPnl(traderId: string, day: string): PnlFigures {
    const realized =
      this.traderDays.get(traderId)?.day === day ? this.traderDay(traderId, day).realized : ZERO;
    return this.withOpen(realized, this.holdingsOf(traderId));
  }

  /** Records the total as the day's peak if it is the highest; true when it moved. */
  tracePeak(kind: "trader" | "account", id: string, day: string, total: Dec): boolean {
    if (kind === "trader") {
      const d = this.traderDay(id, day);
      if (d.peak !== undefined && d.peak >= total) return false;
      d.peak = d.peak === undefined ? total : max(d.peak, total);
      return true;
    }
    const p = this.accountPeaks.get(id);
    if (p && p.day === day && p.peak >= total) return false;
    this.accountPeaks.set(id, { day, peak: total });
    return true;
  }

  peak(kind: "trader" | "account", id: string, day: string): Dec | undefined {
    if (kind === "trader") {
      const d = this.traderDays.get(id);
      return d?.day === day ? d.peak : undefined;
    }
    const p = this.accountPeaks.get(id);
    return p?.day === day ? p.peak : undefined;
  }

  // Broker (account) side.

  setBrokerHolding(h: Holding): void {
    const key = `${h.accountId}|${h.brokerAccountId}|${h.contract}`;
    if (h.netQty === 0) this.brokerHoldings.delete(key);
    else this.brokerHoldings.set(key, h);
  }

  brokerHoldingsOf(accountId: string): Holding[] {
    return [...this.brokerHoldings.values()].filter((h) => h.accountId === accountId);
  }

  /** Accounts with an open position in the book (any trader) or at the broker. */
  accountsHolding(): string[] {
    return [
      ...new Set([
        ...[...this.traderHoldings.values()].map((h) => h.accountId),
        ...[...this.brokerHoldings.values()].map((h) => h.accountId),
      ]),
    ];
  }

  setBrokerRealized(accountId: string, brokerAccountId: string, day: string, realized: Dec): void {
    let m = this.brokerRealized.get(accountId);
    if (!m) {
      m = new Map();
      this.brokerRealized.set(accountId, m);
    }
    m.set(brokerAccountId, { day, realized });
  }

  accountPnl(accountId: string, day: string): PnlFigures {
    let realized = ZERO;
    for (const r of this.brokerRealized.get(accountId)?.values() ?? [])
      if (r.day === day) realized = add(realized, r.realized);
    return this.withOpen(realized, this.brokerHoldingsOf(accountId));
  }

  /** One broker sub-account's realized P&L of the day and its positions marked (prop rules). */
  subAccountPnl(accountId: string, brokerAccountId: string, day: string): PnlFigures {
    const r = this.brokerRealized.get(accountId)?.get(brokerAccountId);
    const realized = r && r.day === day ? r.realized : ZERO;
    const holdings = this.brokerHoldingsOf(accountId).filter((h) => h.brokerAccountId === brokerAccountId);
    return this.withOpen(realized, holdings);
  }

  // Prices.

  setPrice(accountId: string, contract: string, last: Dec, at: Date): void {
    this.prices.set(pk(accountId, contract), { last, at });
    this.lastByContract.set(contract, last);
  }

  /** The account's own quote, else any account's last price of the contract. */
  lastPrice(accountId: string, contract: string): Dec | undefined {
    return this.prices.get(pk(accountId, contract))?.last ?? this.lastByContract.get(contract);
  }

  private withOpen(realized: Dec, holdings: Holding[]): PnlFigures {
    let unrealized = ZERO;
    let priced = true;
    for (const h of holdings) {
      const u = this.unrealizedOf(h);
      if (u === undefined) priced = false;
      else unrealized = add(unrealized, u);
    }
    return { realized, unrealized, total: add(realized, unrealized), priced };
  }

  /** (last - average) x value per point x signed quantity; undefined without a price or a spec. */
  unrealizedOf(h: Holding): Dec | undefined {
    const last = this.lastPrice(h.accountId, h.contract);
    const spec = this.specOf(h.accountId, h.contract);
    if (last === undefined || h.avgPrice === undefined || !spec) return undefined;
    return times(mul(sub(last, h.avgPrice), spec.valuePerPoint), h.netQty);
  }

  private traderDay(traderId: string, day: string): DayFigures {
    let d = this.traderDays.get(traderId);
    if (!d || d.day !== day) {
      d = { day, realized: ZERO, trades: 0 };
      this.traderDays.set(traderId, d);
    }
    return d;
  }
}
