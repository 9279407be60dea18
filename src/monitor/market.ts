/**
 * Contract specs and quote subscriptions per account. A spec comes from the account's broker
 * (`session.contract`), with the product table as a stand-in until it is known, so P&L is priced at once.
 * Quotes are subscribed for every contract with an open position (trader or broker) and again after a
 * session comes back or is replaced.
 */
import type { BrokerSession } from "../brokers/port";
import { type ContractSpec, specFromTable } from "../domain/contract";
import type { Logger } from "../log";
import type { SessionPool } from "../sessions/pool";
import { why } from "./flatten-context";

const key = (accountId: string, contract: string) => `${accountId}|${contract}`;

export class Market {
  private readonly specs = new Map<string, ContractSpec>();
  private readonly wanted = new Map<string, Set<string>>(); // accountId -> contracts
  private readonly subscribed = new Map<string, BrokerSession>(); // key -> session it was asked on

  constructor(
    private readonly pool: SessionPool,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  /** The spec known now: the broker's, else the product table's. */
  known(accountId: string, contract: string): ContractSpec | undefined {
    return this.specs.get(key(accountId, contract)) ?? specFromTable(contract, this.now());
  }

  /** The broker's spec (asked once per account and contract), the table's when the broker cannot say. */
  async spec(accountId: string, contract: string): Promise<ContractSpec> {
    const cached = this.specs.get(key(accountId, contract));
    if (cached) return cached;
    try {
      const session = this.pool.peek(accountId) ?? (await this.pool.session(accountId));
      const spec = await session.contract(contract);
      if (spec.name === contract) this.specs.set(key(accountId, contract), spec);
      return spec;
    } catch (error) {
      const table = specFromTable(contract, this.now());
      if (table) return table;
      throw new Error(`no contract spec for ${contract}: ${why(error)}`);
    }
  }

  /** Streams quotes of the contract on the account (once; again after a reconnect or a new session). */
  watch(accountId: string, contract: string): void {
    let set = this.wanted.get(accountId);
    if (!set) {
      set = new Set();
      this.wanted.set(accountId, set);
    }
    set.add(contract);
    void this.subscribe(accountId, contract);
  }

  /** After the account's session became ready: subscribe what it does not stream yet. */
  refresh(accountId: string): void {
    for (const contract of this.wanted.get(accountId) ?? []) void this.subscribe(accountId, contract);
  }

  private async subscribe(accountId: string, contract: string): Promise<void> {
    const session = this.pool.peek(accountId);
    if (session?.status().state !== "ready") return;
    const k = key(accountId, contract);
    if (this.subscribed.get(k) === session) return;
    this.subscribed.set(k, session);
    try {
      await session.subscribeQuotes(await this.spec(accountId, contract));
    } catch (error) {
      this.subscribed.delete(k);
      this.logger.warn(
        { event: "QuoteSubscribeFailed", accountId, contract, reason: why(error) },
        "could not stream quotes; open P&L waits for the next price",
      );
    }
  }
}
