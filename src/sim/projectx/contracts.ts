/**
 * The simulator's contract catalog, generated from the domain product table: for every root the calendar
 * front month (`activeContract: true`) and the one after, with ids `CON.F.US.<root>.<M><YY>`.
 */
import { type ContractSpec, contractName, frontMonth, MONTH_CODES, PRODUCTS } from "../../domain/contract";
import { type Dec, dec, mul, toNum } from "../../domain/decimal";

export interface SimContract {
  id: string;
  /** ProjectX style name, e.g. "MNQZ26". */
  name: string;
  /** Domain name, e.g. "MNQZ6". */
  shortName: string;
  root: string;
  description: string;
  symbolId: string;
  tickSize: Dec;
  tickValue: Dec;
  valuePerPoint: Dec;
  activeContract: boolean;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

export class ContractCatalog {
  private readonly byId = new Map<string, SimContract>();
  private readonly byAlias = new Map<string, SimContract>();

  constructor(now: Date) {
    for (const [root, product] of Object.entries(PRODUCTS)) {
      for (const nth of [1, 2]) {
        const { month, year } = frontMonth(root, now, nth);
        const code = `${MONTH_CODES[month - 1]}${String(year % 100).padStart(2, "0")}`;
        const tickSize = dec(product.tickSize);
        const valuePerPoint = dec(product.valuePerPoint);
        const contract: SimContract = {
          id: `CON.F.US.${root}.${code}`,
          name: `${root}${code}`,
          shortName: contractName(root, month, year),
          root,
          description: `${root}: ${MONTHS[month - 1]} ${year}`,
          symbolId: `F.US.${root}`,
          tickSize,
          tickValue: mul(tickSize, valuePerPoint),
          valuePerPoint,
          activeContract: nth === 1,
        };
        this.byId.set(contract.id, contract);
        for (const alias of [contract.id, contract.name, contract.shortName])
          this.byAlias.set(alias, contract);
        if (nth === 1) this.byAlias.set(root, contract);
      }
    }
  }

  get(id: string): SimContract | undefined {
    return this.byId.get(id);
  }

  /** Resolves a CON id, a ProjectX name ("MNQZ26"), a domain name ("MNQZ6") or a root (front month). */
  resolve(text: string): SimContract | undefined {
    return this.byAlias.get(text) ?? this.byAlias.get(text.toUpperCase());
  }

  all(): SimContract[] {
    return [...this.byId.values()];
  }

  /** Contract/search: case-insensitive match on name, symbol and description, at most 20 results. */
  search(text: string): SimContract[] {
    const needle = text.trim().toUpperCase();
    const hits = this.all().filter(
      (c) =>
        needle === "" ||
        c.name.includes(needle) ||
        c.symbolId.toUpperCase().includes(needle) ||
        c.description.toUpperCase().includes(needle),
    );
    // Exact roots first, so "ES" lists ES before MES.
    hits.sort((a, b) => Number(b.root === needle) - Number(a.root === needle) || a.id.localeCompare(b.id));
    return hits.slice(0, 20);
  }

  /** The venue's view of a contract (keyed by CON id). */
  spec(id: string): ContractSpec | undefined {
    const c = this.byId.get(id);
    return c ? { name: c.id, root: c.root, tickSize: c.tickSize, valuePerPoint: c.valuePerPoint } : undefined;
  }
}

/** ContractModel as the gateway returns it. */
export function contractModel(c: SimContract) {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    tickSize: toNum(c.tickSize),
    tickValue: toNum(c.tickValue),
    activeContract: c.activeContract,
    symbolId: c.symbolId,
  };
}
