/**
 * The simulator's contract catalog: Tradovate-shaped `product`, `contractMaturity` and `contract` rows
 * generated from the domain product table, with numeric ids, front month first per product.
 */
import { type ContractSpec, contractName, frontMonth, MONTH_CODES, PRODUCTS } from "../../domain/contract";
import { dec, toNum } from "../../domain/decimal";
import type { TvContract, TvContractMaturity, TvProduct } from "./types";

export interface CatalogEntry {
  contract: TvContract;
  maturity: TvContractMaturity;
  product: TvProduct;
  spec: ContractSpec;
}

/** Approximate expiry: third Friday for quarterly index products, mid prior month otherwise. */
function expiry(root: string, year: number, month: number): Date {
  const first = new Date(Date.UTC(year, month - 1, 1));
  if (["ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K", "EMD", "NKD"].includes(root)) {
    const offset = (5 - first.getUTCDay() + 7) % 7;
    return new Date(Date.UTC(year, month - 1, 1 + offset + 14, 13, 30));
  }
  return new Date(Date.UTC(year, month - 2, 20, 18, 0));
}

export class Catalog {
  private readonly byId = new Map<number, CatalogEntry>();
  private readonly byName = new Map<string, CatalogEntry>();
  private readonly products = new Map<number, TvProduct>();
  private readonly productsByName = new Map<string, TvProduct>();
  private readonly maturities = new Map<number, TvContractMaturity>();
  /** All entries, each product's months in expiry order. */
  readonly entries: CatalogEntry[] = [];

  constructor(now: Date, monthsPerProduct = 3) {
    let productId = 1001;
    let maturityId = 46001;
    let contractId = 2710001;
    for (const [root, spec] of Object.entries(PRODUCTS)) {
      const tickSize = dec(spec.tickSize);
      const valuePerPoint = dec(spec.valuePerPoint);
      const months = new Set<string>();
      const listed: { month: number; year: number }[] = [];
      for (let nth = 1; nth <= monthsPerProduct; nth++) {
        const m = frontMonth(root, now, nth);
        listed.push(m);
        months.add(MONTH_CODES[m.month - 1] ?? "");
      }
      const product: TvProduct = {
        id: productId++,
        name: root,
        currencyId: 1,
        productType: "Futures",
        description: `${root} futures`,
        exchangeId: 1,
        contractGroupId: 1,
        status: "Verified",
        months: [...months].sort((a, b) => MONTH_CODES.indexOf(a) - MONTH_CODES.indexOf(b)).join(""),
        valuePerPoint: toNum(valuePerPoint),
        priceFormatType: "Decimal",
        priceFormat: -Math.max(0, (spec.tickSize.split(".")[1] ?? "").length),
        tickSize: toNum(tickSize),
      };
      this.products.set(product.id, product);
      this.productsByName.set(root, product);
      listed.forEach(({ month, year }, index) => {
        const maturity: TvContractMaturity = {
          id: maturityId++,
          productId: product.id,
          expirationMonth: year * 100 + month,
          expirationDate: expiry(root, year, month).toISOString(),
          archived: false,
          seqNo: index + 1,
          isFront: index === 0,
        };
        const name = contractName(root, month, year);
        const contract: TvContract = {
          id: contractId++,
          name,
          contractMaturityId: maturity.id,
          status: "DefinitionChecked",
          providerTickSize: toNum(tickSize),
        };
        const entry: CatalogEntry = {
          contract,
          maturity,
          product,
          spec: { name, root, tickSize, valuePerPoint, brokerContractId: String(contract.id) },
        };
        this.maturities.set(maturity.id, maturity);
        this.byId.set(contract.id, entry);
        this.byName.set(name, entry);
        this.entries.push(entry);
      });
    }
  }

  contractByName(name: string): CatalogEntry | undefined {
    return this.byName.get(name.trim().toUpperCase());
  }

  contractById(id: number): CatalogEntry | undefined {
    return this.byId.get(id);
  }

  /** A contract by name or numeric id (md/subscribeQuote accepts both). */
  resolve(symbol: unknown): CatalogEntry | undefined {
    if (typeof symbol === "number") return this.byId.get(symbol);
    if (typeof symbol !== "string") return undefined;
    if (/^\d+$/.test(symbol.trim())) return this.byId.get(Number(symbol));
    return this.contractByName(symbol);
  }

  /** The front contract of a product root ("MNQ" -> MNQZ6 entry). */
  front(root: string): CatalogEntry | undefined {
    return this.entries.find((e) => e.product.name === root.toUpperCase() && e.maturity.isFront);
  }

  productById(id: number): TvProduct | undefined {
    return this.products.get(id);
  }

  productByName(name: string): TvProduct | undefined {
    return this.productsByName.get(name.trim().toUpperCase());
  }

  maturity(id: number): TvContractMaturity | undefined {
    return this.maturities.get(id);
  }

  /** contract/suggest: contracts whose name starts with the text, front months first. */
  suggest(text: string, limit: number): TvContract[] {
    const t = text.trim().toUpperCase();
    const hits = this.entries.filter((e) => t !== "" && e.contract.name.startsWith(t));
    hits.sort(
      (a, b) => a.maturity.seqNo - b.maturity.seqNo || a.contract.name.localeCompare(b.contract.name),
    );
    return hits.slice(0, Math.max(0, limit)).map((e) => e.contract);
  }

  spec(name: string): ContractSpec | undefined {
    return this.byName.get(name)?.spec;
  }
}
