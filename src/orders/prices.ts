/**
 * The last traded price per account and contract, from the quotes the sessions stream: the price of
 * last resort for a book correction no broker fill explains.
 */
import type { BrokerEvent } from "../brokers/port";
import type { Dec } from "../domain/decimal";

export class LastPrices {
  private readonly prices = new Map<string, Dec>();

  handle(accountId: string, event: BrokerEvent): void {
    if (event.type === "QuoteReceived") this.prices.set(`${accountId}|${event.contract}`, event.last);
  }

  get(accountId: string, contract: string): Dec | undefined {
    return this.prices.get(`${accountId}|${contract}`);
  }
}
