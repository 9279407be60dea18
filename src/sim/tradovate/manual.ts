/**
 * The human trader at Tradovate's own platform (web/desktop/mobile), for tests: cancel the account's
 * working orders, close the position at market ("Exit at Mkt"), liquidate ("Exit at Mkt & Cxl") and place
 * a manual market order. None of it comes through the API: it is not in `orders()` and carries no clOrdId;
 * orders are `isAutomated: false` and owned by the account's user. Every change reaches connected
 * sessions the way the relay's own orders do: as `props` events (order, command, commandReport,
 * executionReport, fill, position, cashBalance) on the sockets synced to the account.
 */
import type { VenueOrder } from "../../domain/venue/types";
import type { SimAccount, SimUser } from "./auth";
import type { SimWorld } from "./context";
import type { NewOrderContext } from "./entities";

export type ManualKind = "market" | "close" | "liquidate" | "cancel";

/** One action the human took; `orderId` is the venue (and Tradovate) order id it created or cancelled. */
export interface ManualRecord {
  kind: ManualKind;
  accountId: number;
  contract: string;
  orderId?: number;
  action?: "Buy" | "Sell";
  qty?: number;
  at: number;
}

export class ManualDesk {
  private readonly log: ManualRecord[] = [];
  private readonly ids = new Set<number>();

  constructor(private readonly world: SimWorld) {}

  /** Everything the human did, in order. */
  records(): ManualRecord[] {
    return [...this.log];
  }

  /** Whether an order was placed by hand (not through the API). */
  isManual(orderId: number): boolean {
    return this.ids.has(orderId);
  }

  /** Cancels every working (and held) order of the account, in one contract or all; returns how many. */
  cancelAll(accountId: number, contract?: string): number {
    const user = this.owner(accountId);
    let n = 0;
    for (const vo of this.world.venue.listOrders(String(accountId))) {
      if (vo.status !== "working" && vo.status !== "held") continue;
      if (contract !== undefined && vo.contract !== contract) continue;
      const order = this.world.store.orders.get(vo.id);
      if (!order) continue;
      const command = this.world.store.newCommand(order, "Cancel", { isAutomated: false, userId: user.id });
      const result = this.world.store.withCommand(command, () => this.world.venue.cancel(vo.id));
      if (typeof result === "string") continue;
      n++;
      this.log.push({
        kind: "cancel",
        accountId,
        contract: vo.contract,
        orderId: vo.id,
        at: this.world.now(),
      });
    }
    return n;
  }

  /** A market order typed in by hand. */
  marketOrder(accountId: number, contract: string, action: "Buy" | "Sell", qty: number): VenueOrder {
    return this.place(accountId, contract, action, qty, "market");
  }

  /**
   * "Exit at Mkt": a market order for the whole open position (or `qty` of it); working orders stay.
   * Undefined when the account is flat in the contract.
   */
  closePosition(accountId: number, contract: string, qty?: number): VenueOrder | undefined {
    const net = this.world.venue.position(String(accountId), contract)?.netPos ?? 0;
    if (net === 0) return undefined;
    const size = Math.min(Math.abs(net), qty ?? Math.abs(net));
    return this.place(accountId, contract, net > 0 ? "Sell" : "Buy", size, "close");
  }

  /** "Exit at Mkt & Cxl": the contract's working orders cancelled, then the position closed at market. */
  liquidate(accountId: number, contract: string): VenueOrder | undefined {
    this.cancelAll(accountId, contract);
    const net = this.world.venue.position(String(accountId), contract)?.netPos ?? 0;
    if (net === 0) return undefined;
    return this.place(accountId, contract, net > 0 ? "Sell" : "Buy", Math.abs(net), "liquidate");
  }

  private place(
    accountId: number,
    contract: string,
    action: "Buy" | "Sell",
    qty: number,
    kind: ManualKind,
  ): VenueOrder {
    const user = this.owner(accountId);
    if (!this.world.catalog.contractByName(contract)) throw new RangeError(`unknown contract ${contract}`);
    if (!Number.isInteger(qty) || qty <= 0) throw new RangeError(`bad quantity ${qty}`);
    const ctx: NewOrderContext = {
      userId: user.id,
      orderType: "Market",
      isAutomated: false,
      timeInForce: "Day",
      ...(kind === "market" ? {} : { text: kind === "liquidate" ? "liquidate" : "close" }),
    };
    const order = this.world.store.withNewOrders([ctx], () =>
      this.world.venue.place({
        account: String(accountId),
        contract,
        side: action === "Buy" ? "buy" : "sell",
        type: "market",
        qty,
      }),
    );
    this.ids.add(order.id);
    this.log.push({ kind, accountId, contract, orderId: order.id, action, qty, at: this.world.now() });
    return order;
  }

  private owner(accountId: number): SimUser {
    for (const user of this.world.auth.allUsers()) {
      const account: SimAccount | undefined = user.accountById.get(accountId);
      if (account) return user;
    }
    throw new RangeError(`no simulator account ${accountId}`);
  }
}
