/**
 * The broker's cash balance per sub-account, for risk sizing in percent of it. Kept from the sessions'
 * `CashChanged` events (streamed where the broker streams it); a sub-account not heard of yet is asked
 * once through the session's `brokerAccounts()`, which every broker fills from its own account data.
 */
import type { BrokerEvent, BrokerSession } from "../brokers/port";
import type { Dec } from "../domain/decimal";

export class Balances {
  private readonly known = new Map<string, Dec>();

  /** Feed with every session event (pool.onEvent). */
  handle(accountId: string, event: BrokerEvent): void {
    if (event.type !== "CashChanged" || event.balance === undefined) return;
    this.known.set(key(accountId, event.brokerAccountId), event.balance);
  }

  /** The sub-account's balance, or undefined when the broker reports none. */
  async of(session: BrokerSession, brokerAccountId: string): Promise<Dec | undefined> {
    const k = key(session.accountId, brokerAccountId);
    const seen = this.known.get(k);
    if (seen !== undefined) return seen;
    for (const a of await session.brokerAccounts())
      if (a.balance !== undefined && !this.known.has(key(session.accountId, a.id)))
        this.known.set(key(session.accountId, a.id), a.balance);
    return this.known.get(k);
  }
}

const key = (accountId: string, brokerAccountId: string) => `${accountId}|${brokerAccountId}`;
