/**
 * Account-side entities of the simulator: position (with bought/sold values), fillPair (FIFO pairing of
 * opposite fills as a position closes) and cashBalance (balance, realizedPnL, weekRealizedPnL), each
 * indexed by account. Fed by the EntityStore from the Venue's fill, position and cash events.
 */
import { add, type Dec, times, toNum, ZERO } from "../../domain/decimal";
import type { VenueAccount, VenueFill, VenuePosition } from "../../domain/venue/types";
import type {
  PropsEventType,
  TradeDate,
  TvAction,
  TvCashBalance,
  TvFill,
  TvFillPair,
  TvPosition,
} from "./types";

export interface EntityContext {
  nextId(): number;
  put(accountId: number, entityType: string, eventType: PropsEventType, entity: object): void;
  stamp(): string;
  tradeDate(): TradeDate;
}

interface OpenLot {
  fillId: number;
  qty: number;
  price: Dec;
  action: TvAction;
}

export class PositionBook {
  readonly cash = new Map<number, TvCashBalance>();
  private readonly positions = new Map<string, TvPosition>();
  private readonly byAccount = new Map<number, string[]>();
  private readonly fillPairs = new Map<number, TvFillPair[]>();
  private readonly emitted = new Set<number>();
  private readonly values = new Map<number, { bought: Dec; sold: Dec }>();
  private readonly lots = new Map<number, OpenLot[]>();
  private readonly week = new Map<number, Dec>();

  constructor(private readonly ctx: EntityContext) {}

  addAccount(accountId: number, balance: Dec): void {
    this.cash.set(accountId, {
      id: accountId,
      accountId,
      timestamp: this.ctx.stamp(),
      tradeDate: this.ctx.tradeDate(),
      currencyId: 1,
      amount: toNum(balance),
      realizedPnL: 0,
      weekRealizedPnL: 0,
    });
  }

  /** Books a fill: traded values, FIFO fill pairs, the week's realized P&L. */
  onFill(fill: TvFill, accountId: number, vf: VenueFill): void {
    const position = this.ensure(accountId, fill.contractId);
    const value = this.values.get(position.id) ?? { bought: ZERO, sold: ZERO };
    if (vf.side === "buy") value.bought = add(value.bought, times(vf.price, vf.qty));
    else value.sold = add(value.sold, times(vf.price, vf.qty));
    this.values.set(position.id, value);
    this.pair(accountId, position, fill, vf.price);
    this.week.set(accountId, add(this.week.get(accountId) ?? ZERO, vf.realized));
  }

  onPosition(vp: VenuePosition, contractId: number): void {
    const accountId = Number(vp.account);
    const position = this.ensure(accountId, contractId);
    const value = this.values.get(position.id) ?? { bought: ZERO, sold: ZERO };
    position.netPos = vp.netPos;
    if (vp.avgPrice !== undefined && vp.netPos !== 0) position.netPrice = toNum(vp.avgPrice);
    else delete position.netPrice;
    position.bought = vp.bought;
    position.sold = vp.sold;
    position.boughtValue = toNum(value.bought);
    position.soldValue = toNum(value.sold);
    position.timestamp = this.ctx.stamp();
    const first = !this.emitted.has(position.id);
    this.emitted.add(position.id);
    this.ctx.put(accountId, "position", first ? "Created" : "Updated", position);
  }

  onCash(account: VenueAccount): void {
    const accountId = Number(account.id);
    const row = this.cash.get(accountId);
    if (!row) return;
    row.amount = toNum(account.balance);
    row.realizedPnL = toNum(account.realizedToday);
    row.weekRealizedPnL = toNum(this.week.get(accountId) ?? ZERO);
    row.timestamp = this.ctx.stamp();
    this.ctx.put(accountId, "cashBalance", "Updated", row);
  }

  /** Positions, fill pairs and the cash balance of one account. */
  ofAccount(accountId: number): { positions: TvPosition[]; fillPairs: TvFillPair[]; cash?: TvCashBalance } {
    const positions = (this.byAccount.get(accountId) ?? []).flatMap((k) => this.positions.get(k) ?? []);
    const cash = this.cash.get(accountId);
    return {
      positions,
      fillPairs: positions.flatMap((p) => this.fillPairs.get(p.id) ?? []),
      ...(cash ? { cash } : {}),
    };
  }

  private pair(accountId: number, position: TvPosition, fill: TvFill, price: Dec): void {
    const open = this.lots.get(position.id) ?? [];
    this.lots.set(position.id, open);
    let remaining = fill.qty;
    while (remaining > 0 && open[0] !== undefined && open[0].action !== fill.action) {
      const lot = open[0];
      const qty = Math.min(lot.qty, remaining);
      const buy = fill.action === "Buy" ? { id: fill.id, price } : { id: lot.fillId, price: lot.price };
      const sell = fill.action === "Sell" ? { id: fill.id, price } : { id: lot.fillId, price: lot.price };
      const pair: TvFillPair = {
        id: this.ctx.nextId(),
        positionId: position.id,
        buyFillId: buy.id,
        sellFillId: sell.id,
        qty,
        buyPrice: toNum(buy.price),
        sellPrice: toNum(sell.price),
        active: true,
      };
      const pairs = this.fillPairs.get(position.id) ?? [];
      pairs.push(pair);
      this.fillPairs.set(position.id, pairs);
      this.ctx.put(accountId, "fillPair", "Created", pair);
      lot.qty -= qty;
      remaining -= qty;
      if (lot.qty === 0) open.shift();
    }
    if (remaining > 0) open.push({ fillId: fill.id, qty: remaining, price, action: fill.action });
  }

  private ensure(accountId: number, contractId: number): TvPosition {
    const k = `${accountId}:${contractId}`;
    let position = this.positions.get(k);
    if (!position) {
      position = {
        id: this.ctx.nextId(),
        accountId,
        contractId,
        timestamp: this.ctx.stamp(),
        tradeDate: this.ctx.tradeDate(),
        netPos: 0,
        bought: 0,
        boughtValue: 0,
        sold: 0,
        soldValue: 0,
        prevPos: 0,
      };
      this.positions.set(k, position);
      const keys = this.byAccount.get(accountId) ?? [];
      keys.push(k);
      this.byAccount.set(accountId, keys);
    }
    return position;
  }
}
