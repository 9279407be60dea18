/**
 * Market data of the simulator: a quote per contract (last, best bid/ask one tick away, session open,
 * high, low, volume). After a subscriber's first full quote, updates carry only the fields that changed,
 * as the real hub may send partial quotes [UNCONFIRMED].
 */
import { add, type Dec, dec, div, sub, times, toNum } from "../../domain/decimal";
import type { SimContract } from "./contracts";
import { iso } from "./models";

interface QuoteState {
  last: Dec;
  open: Dec;
  high: Dec;
  low: Dec;
  volume: number;
  at: number;
}

export type QuotePayload = Record<string, string | number>;

export class QuoteBoard {
  private readonly quotes = new Map<string, QuoteState>();

  /** Applies a new last price; returns the partial update to broadcast. */
  update(contract: SimContract, price: Dec, at: number): QuotePayload {
    const previous = this.quotes.get(contract.id);
    const state: QuoteState = previous
      ? {
          ...previous,
          last: price,
          high: price > previous.high ? price : previous.high,
          low: price < previous.low ? price : previous.low,
          volume: previous.volume + 1,
          at,
        }
      : { last: price, open: price, high: price, low: price, volume: 1, at };
    this.quotes.set(contract.id, state);
    const full = this.payload(contract, state);
    if (!previous) return full;
    const partial: QuotePayload = {
      symbol: full.symbol as string,
      lastPrice: full.lastPrice as number,
      bestBid: full.bestBid as number,
      bestAsk: full.bestAsk as number,
      change: full.change as number,
      changePercent: full.changePercent as number,
      volume: full.volume as number,
      lastUpdated: full.lastUpdated as string,
      timestamp: full.timestamp as string,
    };
    if (state.high !== previous.high) partial.high = full.high as number;
    if (state.low !== previous.low) partial.low = full.low as number;
    return partial;
  }

  full(contract: SimContract): QuotePayload | undefined {
    const state = this.quotes.get(contract.id);
    return state ? this.payload(contract, state) : undefined;
  }

  trade(contract: SimContract, price: Dec, at: number, buy: boolean) {
    return {
      symbolId: contract.symbolId,
      price: toNum(price),
      timestamp: iso(at),
      type: buy ? 0 : 1,
      volume: 1,
    };
  }

  depth(contract: SimContract, price: Dec, at: number) {
    const row = (type: number, p: Dec) => ({
      timestamp: iso(at),
      type,
      price: toNum(p),
      volume: 10,
      currentVolume: 10,
    });
    return [row(3, add(price, contract.tickSize)), row(4, sub(price, contract.tickSize))];
  }

  private payload(contract: SimContract, s: QuoteState): QuotePayload {
    const change = sub(s.last, s.open);
    return {
      symbol: contract.symbolId,
      symbolName: `/${contract.root}`,
      lastPrice: toNum(s.last),
      bestBid: toNum(sub(s.last, contract.tickSize)),
      bestAsk: toNum(add(s.last, contract.tickSize)),
      change: toNum(change),
      changePercent: toNum(div(times(change, 100), s.open === dec(0) ? dec(1) : s.open)),
      open: toNum(s.open),
      high: toNum(s.high),
      low: toNum(s.low),
      volume: s.volume,
      lastUpdated: iso(s.at),
      timestamp: iso(s.at),
    };
  }
}
