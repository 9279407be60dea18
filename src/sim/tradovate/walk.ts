/**
 * A random-walk price feed for standalone use (`npm run sim`): every interval, each front-month contract
 * of the chosen products moves a few ticks up or down. Prices stay exact decimals on the tick grid.
 */
import { add, type Dec, dec, isPositive, roundToStep, times } from "../../domain/decimal";
import type { Catalog } from "./catalog";

export interface RandomWalkOptions {
  intervalMs?: number;
  /** Product roots to move; default: the common index, energy and metal futures. */
  roots?: string[];
  /** Largest move per step, in ticks. Default 2. */
  maxTicks?: number;
}

const START: Record<string, string> = {
  ES: "6000",
  MES: "6000",
  NQ: "21000",
  MNQ: "21000",
  YM: "44000",
  MYM: "44000",
  RTY: "2400",
  M2K: "2400",
  CL: "70",
  MCL: "70",
  GC: "2650",
  MGC: "2650",
};

export class RandomWalk {
  private timer?: NodeJS.Timeout;
  private readonly prices = new Map<string, Dec>();

  constructor(
    private readonly catalog: Catalog,
    private readonly setPrice: (contract: string, price: Dec) => void,
  ) {}

  start(options: RandomWalkOptions = {}): void {
    this.stop();
    const roots = options.roots ?? Object.keys(START);
    const maxTicks = options.maxTicks ?? 2;
    const contracts = roots.flatMap((root) => {
      const entry = this.catalog.front(root);
      return entry ? [entry] : [];
    });
    for (const entry of contracts) {
      const start = roundToStep(dec(START[entry.product.name] ?? "100"), entry.spec.tickSize);
      this.prices.set(entry.contract.name, start);
      this.setPrice(entry.contract.name, start);
    }
    this.timer = setInterval(() => {
      for (const entry of contracts) {
        const last = this.prices.get(entry.contract.name);
        if (last === undefined) continue;
        const steps = Math.round((Math.random() * 2 - 1) * maxTicks);
        const next = add(last, times(entry.spec.tickSize, steps));
        if (!isPositive(next)) continue;
        this.prices.set(entry.contract.name, next);
        this.setPrice(entry.contract.name, next);
      }
    }, options.intervalMs ?? 500);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
