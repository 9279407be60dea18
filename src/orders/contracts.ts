/**
 * Contract specs per account, resolved through the account's broker (its own contract lookup and product
 * data) and cached: by the symbol asked for and by the contract name events carry.
 */
import type { BrokerSession } from "../brokers/port";
import type { ContractSpec } from "../domain/contract";

const TTL_MS = 15 * 60_000; // a roll to the next month is picked up within 15 minutes

export class ContractBook {
  private readonly bySymbol = new Map<string, { spec: ContractSpec; at: number }>();
  private readonly byName = new Map<string, ContractSpec>();

  async resolve(session: BrokerSession, symbol: string): Promise<ContractSpec> {
    const key = `${session.accountId}|${symbol.toUpperCase()}`;
    const hit = this.bySymbol.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.spec;
    let spec: ContractSpec;
    try {
      spec = await session.contract(symbol);
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
