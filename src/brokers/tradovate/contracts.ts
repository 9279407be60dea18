/**
 * Contract lookups through Tradovate's own data: continuous symbols ("MNQ1!") resolve to the front month
 * via contract/suggest (exact product root, never a prefix match), dated symbols via contract/find, and
 * tick size and value per point come from the broker's product (contract -> maturity -> product).
 * Results are cached: dated contracts for good, continuous ones for an hour (roll). Contract ids, names
 * and specs are the same for every login of one Tradovate host (environment), so the cache is one
 * `ContractCatalog` per host, shared by every login on it; each login still asks with its own token.
 */
import { type ContractSpec, contractName, parseSymbol } from "../../domain/contract";
import { dec } from "../../domain/decimal";
import { SharedFlights } from "../shared-lookups";
import type { Caller } from "./calls";
import type { Mirror } from "./mirror";
import { Contract, ContractMaturity, Product } from "./wire";

const CONTINUOUS_TTL_MS = 60 * 60_000;

/** What every login of one Tradovate host knows about contracts (held by the factory, per REST URL). */
export class ContractCatalog {
  readonly specs = new Map<string, { spec: ContractSpec; until: number }>();
  readonly names = new Map<number, string>();
  readonly flights = new SharedFlights<ContractSpec>();
}

export class ContractBook {
  private readonly specs: ContractCatalog["specs"];
  private readonly names: ContractCatalog["names"];

  constructor(
    private readonly caller: Caller,
    private readonly mirror: Mirror,
    private readonly catalog: ContractCatalog,
  ) {
    this.specs = catalog.specs;
    this.names = catalog.names;
  }

  /** The spec of a symbol; throws with a clear message when Tradovate does not list it. */
  async resolve(symbol: string): Promise<ContractSpec> {
    const parsed = parseSymbol(symbol);
    // "CME_MINI:MNQ1!" and "MNQ1!" are one key; "MNQZ2026" and "MNQZ6" too.
    const key =
      parsed.kind === "continuous"
        ? `${parsed.root}${parsed.nth}!`
        : parsed.kind === "dated"
          ? contractName(parsed.root, parsed.month, parsed.year)
          : parsed.text;
    const cached = this.specs.get(key);
    if (cached && cached.until > Date.now()) return cached.spec;
    return this.catalog.flights.run(key, async () => {
      const contract: Contract | undefined =
        parsed.kind === "continuous" ? await this.front(parsed.root, parsed.nth) : await this.find(key);
      if (!contract) throw new Error(`Tradovate does not list a contract for ${symbol}`);
      const spec = await this.specOf(contract);
      const until = parsed.kind === "continuous" ? Date.now() + CONTINUOUS_TTL_MS : Number.POSITIVE_INFINITY;
      this.specs.set(key, { spec, until });
      this.specs.set(spec.name, { spec, until: Number.POSITIVE_INFINITY });
      return spec;
    });
  }

  /** Learns the id -> name pair of a spec the caller already holds (from an earlier `resolve`). */
  remember(spec: ContractSpec): void {
    const id = Number(spec.brokerContractId);
    if (Number.isInteger(id) && id > 0) this.names.set(id, spec.name);
  }

  /** Contract name of a numeric contract id (mirror, cache, then contract/item). */
  async nameOf(contractId: number): Promise<string> {
    const known = this.names.get(contractId) ?? this.mirror.get("contract", contractId)?.name;
    if (known) return known;
    const r = await this.caller.call("contract/item", undefined, { query: `id=${contractId}` });
    const c = r.kind === "ok" ? Contract.safeParse(r.body) : undefined;
    if (c?.success) {
      this.names.set(c.data.id, c.data.name);
      return c.data.name;
    }
    return String(contractId);
  }

  /** The nth contract of a product: suggest lists front months first; later ones are sorted by expiry. */
  private async front(root: string, nth: number): Promise<Contract | undefined> {
    const r = await this.caller.call("contract/suggest", undefined, {
      query: `t=${encodeURIComponent(root)}&l=30`,
    });
    if (r.kind !== "ok" || !Array.isArray(r.body))
      throw new Error(`Tradovate contract lookup for ${root} failed`);
    const candidates = r.body.flatMap((raw) => {
      const c = Contract.safeParse(raw);
      if (!c.success) return [];
      const p = parseSymbol(c.data.name);
      return p.kind === "dated" && p.root === root ? [c.data] : [];
    });
    for (const c of candidates) this.names.set(c.id, c.name);
    if (nth === 1 || candidates.length === 0) return candidates[0];
    const dated = await Promise.all(
      candidates.map(async (c) => ({ c, expiry: (await this.maturity(c))?.expirationDate ?? "" })),
    );
    dated.sort((a, b) => (a.expiry < b.expiry ? -1 : a.expiry > b.expiry ? 1 : 0));
    const firstIndex = dated.findIndex((d) => d.c.id === candidates[0]?.id);
    return dated[Math.max(0, firstIndex) + nth - 1]?.c;
  }

  private async find(name: string): Promise<Contract | undefined> {
    const r = await this.caller.call("contract/find", undefined, {
      query: `name=${encodeURIComponent(name)}`,
    });
    if (r.kind === "http-error" && r.status === 404) return undefined;
    if (r.kind !== "ok") throw new Error(`Tradovate contract lookup for ${name} failed`);
    const c = Contract.safeParse(r.body);
    if (!c.success) return undefined;
    this.names.set(c.data.id, c.data.name);
    return c.data;
  }

  private async maturity(contract: Contract): Promise<ContractMaturity | undefined> {
    if (contract.contractMaturityId === null || contract.contractMaturityId === undefined) return undefined;
    const known = this.mirror.get("contractMaturity", contract.contractMaturityId);
    if (known) return known;
    const r = await this.caller.call("contractMaturity/item", undefined, {
      query: `id=${contract.contractMaturityId}`,
    });
    const m = r.kind === "ok" ? ContractMaturity.safeParse(r.body) : undefined;
    if (!m?.success) return undefined;
    this.mirror.merge("contractMaturity", m.data);
    return m.data;
  }

  private async specOf(contract: Contract): Promise<ContractSpec> {
    const maturity = await this.maturity(contract);
    if (!maturity) throw new Error(`Tradovate has no maturity for ${contract.name}`);
    let product = this.mirror.get("product", maturity.productId);
    if (!product) {
      const r = await this.caller.call("product/item", undefined, { query: `id=${maturity.productId}` });
      const p = r.kind === "ok" ? Product.safeParse(r.body) : undefined;
      if (!p?.success) throw new Error(`Tradovate product data for ${contract.name} is unavailable`);
      product = p.data;
      this.mirror.merge("product", product);
    }
    return {
      name: contract.name,
      root: product.name,
      tickSize: dec(product.tickSize),
      valuePerPoint: dec(product.valuePerPoint),
      brokerContractId: String(contract.id),
    };
  }
}
