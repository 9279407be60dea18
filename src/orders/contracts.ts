/**
 * Contract specs, resolved through a broker session (its own contract lookup and product data) and
 * cached: by the symbol asked for and by the contract name events carry.
 *
 * A symbol's answer is shared by every login on the same venue (`BrokerSession.venue`: broker,
 * environment and host), whose contract catalogue is one, and a look-up already under way is joined: a
 * fan-out to a thousand fresh logins asks the broker once, not a thousand times, before its first order.
 */
import type { BrokerSession } from "../brokers/port";
import type { ContractSpec } from "../domain/contract";

const TTL_MS = 15 * 60_000; // a roll to the next month is picked up within 15 minutes

export class ContractBook {
  private readonly bySymbol = new Map<string, { spec: ContractSpec; at: number }>();
  private readonly asking = new Map<string, Promise<ContractSpec>>();
  private readonly byName = new Map<string, ContractSpec>();

  async resolve(session: BrokerSession, symbol: string): Promise<ContractSpec> {
    // A session without a venue of its own shares nothing: its account is its catalogue.
    const key = `${session.venue || `account:${session.accountId}`}|${symbol.toUpperCase()}`;
    const hit = this.bySymbol.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) {
      this.byName.set(`${session.accountId}|${hit.spec.name}`, hit.spec);
      return hit.spec;
    }
    let asking = this.asking.get(key);
    if (!asking) {
      asking = session.contract(symbol).finally(() => this.asking.delete(key));
      this.asking.set(key, asking);
    }
    let spec: ContractSpec;
    try {
      spec = await asking;
    } catch (error) {
      // The broker cannot answer now: the contract it named before is still the best answer (an exit
      // can then be planned, and wait for the broker, instead of failing as an unknown contract).
      if (hit) return hit.spec;
      throw error;
    }
    this.bySymbol.set(key, { spec, at: Date.now() });
    this.byName.set(`${session.accountId}|${spec.name}`, spec);
    return spec;
  }

  /** Spec for a contract name seen before on this account (fills of exits arrive with names only). */
  known(accountId: string, contractName: string): ContractSpec | undefined {
    return this.byName.get(`${accountId}|${contractName}`);
  }

  remember(accountId: string, spec: ContractSpec): void {
    this.byName.set(`${accountId}|${spec.name}`, spec);
  }
}
