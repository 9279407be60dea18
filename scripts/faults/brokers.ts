/**
 * The three broker simulators of a fault run (Tradovate, ProjectX, Webull), each in this process behind a
 * cuttable TCP proxy (broker-proxy.ts), in two slots:
 *
 * - `primary`: what demo logins reach (TRADOVATE_DEMO_URL, PROJECTX_API_URL/RTC_URL, WEBULL_DEMO_API_URL);
 * - `secondary`: where an account goes when it moves: Tradovate and Webull `live` (TRADOVATE_LIVE_URL,
 *   WEBULL_API_URL), another ProjectX firm (`firmHost` in the login's credentials).
 *
 * Every login exists in both slots, added in the same order, so the simulators' own ids (Tradovate user and
 * account ids, ProjectX account ids) are the same in both and after a restart. A restart replaces a slot's
 * simulator with a new instance holding the same logins (its order and fill ids start over), behind the
 * same proxy port. Old instances are kept (stopped) for the auditor: their order logs and fill tapes.
 *
 * Each instance has a fill tape: every fill in order with the broker's position before and after, so the
 * auditor can tell a relay order that took a position through zero.
 */
import { specFromTable } from "../../src/domain/contract";
import { type Dec, dec } from "../../src/domain/decimal";
import type { Venue } from "../../src/domain/venue/engine";
import type { Side, VenueOrder } from "../../src/domain/venue/types";
import { ProjectXSim } from "../../src/sim/projectx/index";
import { TradovateSim, type TradovateSimOptions } from "../../src/sim/tradovate/index";
import { WebullSim } from "../../src/sim/webull/index";
import { BrokerProxy } from "./broker-proxy";

export type BrokerName = "tradovate" | "projectx" | "webull";
export const BROKER_NAMES: readonly BrokerName[] = ["tradovate", "projectx", "webull"];
export type SlotName = "primary" | "secondary";

/** A broker login: created in both slots of its broker, and again in every restarted instance. */
export interface LoginSpec {
  broker: BrokerName;
  index: number;
  user: string;
  /** Password (Tradovate), API key (ProjectX), app secret (Webull). */
  secret: string;
  /** Account name (Tradovate, ProjectX) or account id (Webull). */
  accountName: string;
}

/** One order a simulator holds, as the relay would name it. */
export interface SimOrder {
  broker: BrokerName;
  gen: SimGeneration;
  venueId: number;
  /** The broker's id, as the relay stores it in broker_orders.broker_order_id. */
  brokerOrderId: string;
  /** The broker sub-account, as in broker_orders.broker_account_id. */
  account: string;
  /** The relay's contract name (e.g. MNQZ6). */
  contract: string;
  /** Our client order id (clOrdId, customTag, client_order_id); undefined for manual and untagged orders. */
  clientOrderId?: string;
  /** Placed by the human at the broker's platform. */
  manual: boolean;
  /** Live venue state. */
  order: VenueOrder;
}

/** A fill as it happened at the broker, with the account's net position before and after it. */
export interface TapeFill {
  seq: number;
  /** The venue's fill id (Tradovate's fill id; the other brokers derive theirs from the same counters). */
  fillId: number;
  at: number;
  venueOrderId: number;
  account: string;
  /** Venue contract name (ProjectX: the CON id). */
  venueContract: string;
  side: Side;
  qty: number;
  before: number;
  after: number;
}

/** Where a simulator's id counters stand: a new instance started there hands out the same ids again. */
export type IdMark = Record<string, number>;

interface Instance {
  readonly port: number;
  readonly venue: Venue;
  idMark(): IdMark;
  addLogin(l: LoginSpec): { brokerAccountId: string; numericId: number };
  setPrice(root: string, price: Dec): void;
  /** The venue's contract name of a root's front month. */
  venueContract(root: string): string;
  relayContract(venueContract: string): string;
  orders(gen: SimGeneration): SimOrder[];
  duplicates(): string[];
  cancelAll(account: string, root?: string): number;
  close(account: string, root: string, qty?: number): void;
  flatten(account: string, root: string): void;
  market(account: string, root: string, side: Side, qty: number): void;
  stop(): Promise<void>;
}

/** One simulator instance of a slot: alive (current) or replaced and stopped (kept for the audit). */
export class SimGeneration {
  readonly tape: TapeFill[] = [];
  stopped = false;
  private seq = 0;

  constructor(
    readonly broker: BrokerName,
    readonly slot: SlotName,
    readonly generation: number,
    readonly instance: Instance,
    readonly raw: TradovateSim | ProjectXSim | WebullSim,
  ) {
    instance.venue.on((e) => {
      if (e.type !== "fill") return;
      const f = e.fill;
      const after = instance.venue.position(f.account, f.contract)?.netPos ?? 0;
      const before = after - (f.side === "buy" ? f.qty : -f.qty);
      this.tape.push({
        seq: ++this.seq,
        fillId: f.id,
        at: f.at,
        venueOrderId: f.orderId,
        account: f.account,
        venueContract: f.contract,
        side: f.side,
        qty: f.qty,
        before,
        after,
      });
    });
  }

  get label(): string {
    return `${this.broker}/${this.slot}#${this.generation}`;
  }

  get venue(): Venue {
    return this.instance.venue;
  }

  orders(): SimOrder[] {
    return this.instance.orders(this);
  }

  /** Net position of a sub-account per relay contract name (non-zero only). */
  positions(account: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of this.venue.listPositions(account))
      if (p.netPos !== 0) out.set(this.instance.relayContract(p.contract), p.netPos);
    return out;
  }

  /** Working or held orders of a sub-account. */
  working(account: string): VenueOrder[] {
    return this.venue.listOrders(account).filter((o) => o.status === "working" || o.status === "held");
  }
}

const FRONT = (root: string) => {
  const spec = specFromTable(`${root}1!`, new Date());
  if (!spec) throw new Error(`no product ${root}`);
  return spec.name;
};

async function tradovate(
  options: TradovateSimOptions,
  mark?: IdMark,
): Promise<{ raw: TradovateSim; instance: Instance }> {
  const sim = new TradovateSim({ ...options, ...(mark?.id !== undefined ? { firstId: mark.id } : {}) });
  await sim.start();
  const instance: Instance = {
    port: sim.port,
    venue: sim.venue,
    idMark: () => ({ id: sim.nextId() }),
    addLogin(l) {
      const ids = sim.addUser({
        name: l.user,
        password: l.secret,
        accounts: [{ name: l.accountName, balance: dec(1_000_000) }],
      });
      const id = ids.accounts[0]?.id;
      if (id === undefined) throw new Error("the simulator created no account");
      return { brokerAccountId: String(id), numericId: id };
    },
    setPrice: (root, price) => sim.setPrice(sim.front(root), price),
    venueContract: (root) => sim.front(root),
    relayContract: (c) => c,
    orders(gen) {
      return sim.venue.listOrders().map((o) => ({
        broker: "tradovate",
        gen,
        venueId: o.id,
        brokerOrderId: String(o.id),
        account: o.account,
        contract: o.contract,
        ...(o.clientOrderId !== undefined ? { clientOrderId: o.clientOrderId } : {}),
        manual: sim.manual.isManual(o.id),
        order: o,
      }));
    },
    duplicates: () => sim.duplicateClOrdIds(),
    cancelAll: (account, root) => sim.manual.cancelAll(Number(account), root ? sim.front(root) : undefined),
    close(account, root, qty) {
      sim.manual.closePosition(Number(account), sim.front(root), qty);
    },
    flatten(account, root) {
      sim.manual.liquidate(Number(account), sim.front(root));
    },
    market(account, root, side, qty) {
      sim.manual.marketOrder(Number(account), sim.front(root), side === "buy" ? "Buy" : "Sell", qty);
    },
    stop: () => sim.stop(),
  };
  return { raw: sim, instance };
}

async function projectx(mark?: IdMark): Promise<{ raw: ProjectXSim; instance: Instance }> {
  const sim = new ProjectXSim({
    hubPingMs: 2_000,
    ...(mark
      ? {
          firstIds: {
            ...(mark.order ? { order: mark.order } : {}),
            ...(mark.trade ? { trade: mark.trade } : {}),
          },
        }
      : {}),
  });
  await sim.start();
  const port = Number(new URL(sim.apiUrl).port);
  const instance: Instance = {
    port,
    venue: sim.venue,
    idMark: () => sim.nextIds(),
    addLogin(l) {
      const { accounts } = sim.addUser({
        userName: l.user,
        apiKey: l.secret,
        accounts: [{ name: l.accountName, balance: 1_000_000, autoOco: false }],
      });
      const id = accounts[0]?.id;
      if (id === undefined) throw new Error("the simulator created no account");
      return { brokerAccountId: String(id), numericId: id };
    },
    setPrice: (root, price) => sim.setPrice(root, price),
    venueContract: (root) => sim.contractId(root),
    relayContract: (c) => sim.contract(c).shortName,
    orders(gen) {
      const out: SimOrder[] = [];
      for (const r of sim.orderRecords()) {
        const o = r.venueId === undefined ? undefined : sim.venue.order(r.venueId);
        if (!o) continue;
        out.push({
          broker: "projectx",
          gen,
          venueId: o.id,
          brokerOrderId: String(r.id),
          account: String(r.accountId),
          contract: sim.contract(r.contractId).shortName,
          ...(r.customTag !== null ? { clientOrderId: r.customTag } : {}),
          manual: r.manual,
          order: o,
        });
      }
      return out;
    },
    duplicates: () => sim.duplicateCustomTags().map((d) => d.customTag),
    cancelAll: (account, root) =>
      sim.manual.cancelAll(Number(account), root ? sim.contractId(root) : undefined),
    close(account, root, qty) {
      sim.manual.closePosition(Number(account), sim.contractId(root), qty);
    },
    flatten(account, root) {
      sim.manual.flatten(Number(account), sim.contractId(root));
    },
    market(account, root, side, qty) {
      sim.manual.marketOrder(Number(account), sim.contractId(root), side === "buy" ? 0 : 1, qty);
    },
    stop: () => sim.stop(),
  };
  return { raw: sim, instance };
}

async function webull(mark?: IdMark): Promise<{ raw: WebullSim; instance: Instance }> {
  // Order ids from a counter, so a restarted instance hands out the same ids again.
  const sim = new WebullSim({
    sequentialOrderIds: true,
    ...(mark?.order !== undefined ? { firstOrderNumber: mark.order } : {}),
  });
  await sim.start();
  const instance: Instance = {
    port: Number(new URL(sim.baseUrl).port),
    venue: sim.venue,
    idMark: () => ({ order: sim.nextOrderNumber() }),
    addLogin(l) {
      sim.addApp({
        appKey: l.user,
        appSecret: l.secret,
        accounts: [{ accountId: l.accountName, balance: dec(1_000_000) }],
      });
      return { brokerAccountId: l.accountName, numericId: 0 };
    },
    setPrice: (root, price) => sim.setPrice(FRONT(root), price),
    venueContract: FRONT,
    relayContract: (c) => c,
    orders(gen) {
      return sim.orders().map((r) => {
        const live = sim.venue.order(r.order.id) ?? r.order;
        return {
          broker: "webull" as const,
          gen,
          venueId: live.id,
          brokerOrderId: r.orderId,
          account: r.accountId,
          contract: live.contract,
          ...(r.manual ? {} : { clientOrderId: r.clientOrderId }),
          manual: r.manual,
          order: live,
        };
      });
    },
    duplicates: () => sim.duplicateClientOrderIds(),
    cancelAll: (account, root) => sim.manual.cancelAll(account, root ? FRONT(root) : undefined),
    close(account, root, qty) {
      sim.manual.closePosition(account, FRONT(root), qty);
    },
    flatten(account, root) {
      sim.manual.flatten(account, FRONT(root));
    },
    market(account, root, side, qty) {
      sim.manual.marketOrder(account, FRONT(root), side === "buy" ? "BUY" : "SELL", qty);
    },
    stop: () => sim.stop(),
  };
  return { raw: sim, instance };
}

/** One slot: a proxy port the relay knows, the simulator behind it now, and every earlier one. */
export class BrokerSlot {
  readonly generations: SimGeneration[] = [];

  private constructor(
    readonly broker: BrokerName,
    readonly slot: SlotName,
    readonly proxy: BrokerProxy,
    private readonly make: (
      mark?: IdMark,
    ) => Promise<{ raw: TradovateSim | ProjectXSim | WebullSim; instance: Instance }>,
  ) {}

  static async start(
    broker: BrokerName,
    slot: SlotName,
    o: { tradovate?: TradovateSimOptions } = {},
  ): Promise<BrokerSlot> {
    const make =
      broker === "tradovate"
        ? (mark?: IdMark) =>
            tradovate({ heartbeatTimeoutMs: 60_000, authorizeTimeoutMs: 60_000, ...o.tradovate }, mark)
        : broker === "projectx"
          ? projectx
          : webull;
    const first = await make();
    const proxy = new BrokerProxy(first.instance.port);
    await proxy.start();
    const s = new BrokerSlot(broker, slot, proxy, make);
    s.generations.push(new SimGeneration(broker, slot, 1, first.instance, first.raw));
    return s;
  }

  get current(): SimGeneration {
    const g = this.generations.at(-1);
    if (!g) throw new Error(`no simulator in ${this.broker}/${this.slot}`);
    return g;
  }

  /** The relay-facing base URL (REST; Tradovate's includes /v1). */
  get url(): string {
    const base = `http://127.0.0.1:${this.proxy.port}`;
    return this.broker === "tradovate" ? `${base}/v1` : base;
  }

  /**
   * A new simulator instance behind the same proxy port: the same logins (same account ids), the same
   * prices, but no orders, no positions, and ids that start over (at `mark`, where some instance's
   * counters stood, when given). Connections to the old one are dropped.
   */
  async restart(
    logins: readonly LoginSpec[],
    prices: ReadonlyMap<string, Dec>,
    mark?: IdMark,
  ): Promise<SimGeneration> {
    const old = this.current;
    const next = await this.make(mark);
    for (const l of logins) next.instance.addLogin(l);
    for (const [root, price] of prices) next.instance.setPrice(root, price);
    const gen = new SimGeneration(this.broker, this.slot, old.generation + 1, next.instance, next.raw);
    this.generations.push(gen);
    this.proxy.retarget(next.instance.port);
    this.proxy.dropAll();
    old.stopped = true;
    await old.instance.stop();
    return gen;
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    for (const g of this.generations) if (!g.stopped) await g.instance.stop();
  }
}

/** Every simulator of the run. */
export class BrokerSims {
  readonly logins: LoginSpec[] = [];
  readonly prices = new Map<string, Dec>();

  private constructor(private readonly slots: Map<string, BrokerSlot>) {}

  static async start(o: { tradovate?: TradovateSimOptions } = {}): Promise<BrokerSims> {
    const slots = new Map<string, BrokerSlot>();
    for (const broker of BROKER_NAMES)
      for (const slot of ["primary", "secondary"] as const)
        slots.set(`${broker}/${slot}`, await BrokerSlot.start(broker, slot, o));
    return new BrokerSims(slots);
  }

  slot(broker: BrokerName, slot: SlotName = "primary"): BrokerSlot {
    const s = this.slots.get(`${broker}/${slot}`);
    if (!s) throw new Error(`no slot ${broker}/${slot}`);
    return s;
  }

  all(): BrokerSlot[] {
    return [...this.slots.values()];
  }

  /** Every simulator instance ever started, current ones last per slot. */
  generations(): SimGeneration[] {
    return this.all().flatMap((s) => s.generations);
  }

  /** A login in both slots of its broker; returns the sub-account id (the same in both). */
  addLogin(l: LoginSpec): { brokerAccountId: string; numericId: number } {
    const a = this.slot(l.broker, "primary").current.instance.addLogin(l);
    const b = this.slot(l.broker, "secondary").current.instance.addLogin(l);
    if (a.brokerAccountId !== b.brokerAccountId)
      throw new Error(
        `${l.broker} slots disagree on ${l.user}'s account id (${a.brokerAccountId} vs ${b.brokerAccountId})`,
      );
    this.logins.push(l);
    return a;
  }

  /** The market moves on every current simulator (of some brokers, or all). */
  setPrice(root: string, price: Dec | string, brokers: readonly BrokerName[] = BROKER_NAMES): void {
    const p = typeof price === "string" ? dec(price) : price;
    this.prices.set(root, p);
    for (const s of this.all()) if (brokers.includes(s.broker)) s.current.instance.setPrice(root, p);
  }

  /** The broker unreachable: its proxies refuse connections (both slots). */
  async cut(brokers: readonly BrokerName[] = BROKER_NAMES): Promise<void> {
    for (const s of this.all()) if (brokers.includes(s.broker)) await s.proxy.cut();
  }

  async restore(brokers: readonly BrokerName[] = BROKER_NAMES): Promise<void> {
    for (const s of this.all()) if (brokers.includes(s.broker)) await s.proxy.restore();
  }

  /** A slot's simulator replaced by a new instance whose ids start over (at `mark` when given). */
  async restart(broker: BrokerName, slot: SlotName = "primary", mark?: IdMark): Promise<SimGeneration> {
    return this.slot(broker, slot).restart(
      this.logins.filter((l) => l.broker === broker),
      this.prices,
      mark,
    );
  }

  async stop(): Promise<void> {
    for (const s of this.all()) await s.stop();
  }
}

export type { Instance as SimInstance };
