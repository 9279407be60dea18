/**
 * Market data: quote messages built from the Venue's last price (`md` events with Bid/Offer/Trade
 * entries keyed by contractId), and the md/subscribeQuote and md/unsubscribeQuote handlers.
 */
import { add, type Dec, sub, toNum } from "../../domain/decimal";
import type { CatalogEntry } from "./catalog";
import { badRequest, ok, type Reply, type SimWorld } from "./context";
import { issueText, QuoteRequest } from "./requests";

export function quoteMessage(entry: CatalogEntry, price: Dec, at: number, volume: number): string {
  const tick = entry.spec.tickSize;
  return JSON.stringify({
    e: "md",
    d: {
      quotes: [
        {
          timestamp: new Date(at).toISOString(),
          contractId: entry.contract.id,
          entries: {
            Bid: { price: toNum(sub(price, tick)), size: 7 },
            Offer: { price: toNum(add(price, tick)), size: 12 },
            Trade: { price: toNum(price), size: 1 },
            TotalTradeVolume: { size: volume },
          },
        },
      ],
    },
  });
}

/** Handles an md endpoint: the reply, and the contract to subscribe or unsubscribe. */
export function mdRequest(
  world: SimWorld,
  endpoint: string,
  body: unknown,
): { reply: Reply; subscribe?: CatalogEntry; unsubscribe?: CatalogEntry } {
  if (endpoint !== "md/subscribequote" && endpoint !== "md/unsubscribequote")
    return { reply: { status: 404, body: `Not found: ${endpoint}` } };
  const parsed = QuoteRequest.safeParse(body);
  if (!parsed.success) return { reply: badRequest(issueText(parsed.error)) };
  const entry = world.catalog.resolve(parsed.data.symbol);
  if (!entry) return { reply: { status: 404, body: `Unknown symbol ${String(parsed.data.symbol)}` } };
  if (endpoint === "md/unsubscribequote") return { reply: ok(undefined), unsubscribe: entry };
  return { reply: ok(undefined), subscribe: entry };
}
