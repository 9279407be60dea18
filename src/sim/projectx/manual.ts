/**
 * The human trader at the prop firm's own platform (TopstepX and the like), for tests: cancel the
 * account's working orders, close the position ("Close position": a closeContract), flatten ("Flatten
 * all": cancel and close) and place a manual market order. Nothing here goes through the REST API, so it
 * is not in `recorder.placements`/`closes`; manual orders carry no customTag. Every order is registered
 * in the book like an API order, so connected user hubs get the same GatewayUserOrder, GatewayUserTrade,
 * GatewayUserPosition and GatewayUserAccount events they get for the relay's own orders.
 */
import type { Book } from "./book";
import { cancelOrder, closeContract, type Result } from "./commands";
import { OrderStatus, OrderType } from "./models";
import { placeOrder } from "./place";

export type ManualKind = "market" | "close" | "flatten" | "cancel";

export interface ManualRecord {
  kind: ManualKind;
  accountId: number;
  contractId: string;
  /** The ProjectX order id created or cancelled. */
  orderId?: number;
  side?: 0 | 1;
  size?: number;
  at: number;
}

export class ManualDesk {
  private readonly log: ManualRecord[] = [];
  private readonly ids = new Set<number>();

  constructor(private readonly book: Book) {}

  records(): ManualRecord[] {
    return [...this.log];
  }

  /** Whether a ProjectX order was placed by hand. */
  isManual(orderId: number): boolean {
    return this.ids.has(orderId);
  }

  /** Cancels every open or suspended order of the account (one contract or all); returns how many. */
  cancelAll(accountId: number, contractId?: string): number {
    const account = this.account(accountId);
    let n = 0;
    for (const order of this.book.ordersOf(accountId)) {
      if (contractId !== undefined && order.contractId !== contractId) continue;
      const status = this.book.status(order);
      if (status !== OrderStatus.Open && status !== OrderStatus.Suspended && status !== OrderStatus.Pending)
        continue;
      if (cancelOrder(this.book, account, order.id).errorCode !== 0) continue;
      n++;
      this.log.push({
        kind: "cancel",
        accountId,
        contractId: order.contractId,
        orderId: order.id,
        at: this.book.now(),
      });
    }
    return n;
  }

  /** A market order typed in by hand (no customTag). Returns its order id. */
  marketOrder(accountId: number, contractId: string, side: 0 | 1, size: number): number {
    const result = placeOrder(this.book, this.account(accountId), {
      accountId,
      contractId,
      type: OrderType.Market,
      side,
      size,
      customTag: null,
    });
    const id = result.payload?.orderId;
    if (result.errorCode !== 0 || typeof id !== "number")
      throw new Error(`manual order refused: ${result.errorMessage ?? result.errorCode}`);
    this.ids.add(id);
    this.log.push({ kind: "market", accountId, contractId, orderId: id, side, size, at: this.book.now() });
    return id;
  }

  /** "Close position": the whole position (or `size` of it) at market; working orders stay. */
  closePosition(accountId: number, contractId: string, size?: number): number | undefined {
    return this.close("close", accountId, contractId, size);
  }

  /** "Flatten": the contract's working orders cancelled, then the position closed at market. */
  flatten(accountId: number, contractId: string): number | undefined {
    this.cancelAll(accountId, contractId);
    return this.close("flatten", accountId, contractId);
  }

  private close(kind: ManualKind, accountId: number, contractId: string, size?: number): number | undefined {
    const net = this.book.venue.position(String(accountId), contractId)?.netPos ?? 0;
    if (net === 0) return undefined;
    const before = new Set(this.book.ordersOf(accountId).map((o) => o.id));
    const partial = size !== undefined && size < Math.abs(net);
    const result: Result = closeContract(
      this.book,
      this.account(accountId),
      contractId,
      partial ? size : undefined,
    );
    if (result.errorCode !== 0)
      throw new Error(`manual close refused: ${result.errorMessage ?? result.errorCode}`);
    const created = this.book.ordersOf(accountId).find((o) => !before.has(o.id));
    if (created) this.ids.add(created.id);
    this.log.push({
      kind,
      accountId,
      contractId,
      ...(created ? { orderId: created.id, side: created.side, size: created.size } : {}),
      at: this.book.now(),
    });
    return created?.id;
  }

  private account(accountId: number) {
    const account = this.book.accounts.get(accountId);
    if (!account) throw new RangeError(`no simulator account ${accountId}`);
    return account;
  }
}
