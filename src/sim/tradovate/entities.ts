/**
 * Tradovate entities built from the Venue's events: order (no price/qty), orderVersion, command (clOrdId,
 * isAutomated), commandReport, executionReport, fill, fillPair, position, cashBalance. Every change is
 * handed to `sink` as a props event for the owning account. Ids are numeric; order ids are Venue ids.
 */
import type { Dec } from "../../domain/decimal";
import { toNum } from "../../domain/decimal";
import type { Venue } from "../../domain/venue/engine";
import type { VenueFill, VenueOrder } from "../../domain/venue/types";
import type { Catalog } from "./catalog";
import { PositionBook } from "./positions";
import type {
  OrdStatus,
  PropsEventType,
  TradeDate,
  TvAction,
  TvCashBalance,
  TvCommand,
  TvCommandReport,
  TvExecutionReport,
  TvFill,
  TvFillPair,
  TvOrder,
  TvOrderVersion,
  TvPosition,
} from "./types";

export interface NewOrderContext {
  userId: number;
  orderType: string;
  isAutomated: boolean;
  clOrdId?: string;
  timeInForce?: string;
  text?: string;
  activationTime?: string;
  customTag50?: string;
}

export type PropsSink = (
  accountId: number,
  entityType: string,
  eventType: PropsEventType,
  entity: object,
) => void;

export interface AccountEntities {
  orders: TvOrder[];
  orderVersions: TvOrderVersion[];
  commands: TvCommand[];
  commandReports: TvCommandReport[];
  executionReports: TvExecutionReport[];
  fills: TvFill[];
  fillPairs: TvFillPair[];
  positions: TvPosition[];
  cashBalances: TvCashBalance[];
}

const STATUS: Record<VenueOrder["status"], OrdStatus> = {
  held: "Suspended",
  working: "Working",
  filled: "Filled",
  cancelled: "Canceled",
  rejected: "Rejected",
};

export const TERMINAL: ReadonlySet<OrdStatus> = new Set([
  "Filled",
  "Canceled",
  "Rejected",
  "Completed",
  "Expired",
]);

const action = (side: "buy" | "sell"): TvAction => (side === "buy" ? "Buy" : "Sell");

function index(map: Map<number, number[]>, k: number, id: number): void {
  const list = map.get(k);
  if (list) list.push(id);
  else map.set(k, [id]);
}

export class EntityStore {
  readonly orders = new Map<number, TvOrder>();
  readonly versions = new Map<number, TvOrderVersion[]>();
  readonly commands = new Map<number, TvCommand>();
  readonly commandReports = new Map<number, TvCommandReport>();
  readonly executionReports = new Map<number, TvExecutionReport>();
  readonly fills = new Map<number, TvFill>();
  private readonly book: PositionBook;
  private readonly newCommandOf = new Map<number, number>();
  // Indices so snapshots and lists never scan every entity (the benchmark syncs thousands of accounts).
  private readonly ordersByAccount = new Map<number, number[]>();
  private readonly commandsByOrder = new Map<number, number[]>();
  private readonly reportsByCommand = new Map<number, number[]>();
  private readonly executionsByAccount = new Map<number, number[]>();
  private readonly fillsByOrder = new Map<number, number[]>();
  private pendingNew: NewOrderContext[] = [];
  private command?: TvCommand;
  /** An order the exchange itself is changing (a trailing stop following the market). */
  private moving?: number;
  private nextId = 5_000_001;

  constructor(
    venue: Venue,
    private readonly catalog: Catalog,
    private readonly now: () => number,
    private readonly sink: PropsSink,
  ) {
    this.book = new PositionBook({
      nextId: () => this.nextId++,
      put: (a, t, e, entity) => this.put(a, t, e, entity),
      stamp: () => this.stamp(),
      tradeDate: () => this.tradeDate(),
    });
    venue.on((event) => {
      if (event.type === "order") this.onOrder(event.order);
      else if (event.type === "fill") this.onFill(event.fill, event.order);
      else if (event.type === "position")
        this.book.onPosition(event.position, this.contractId(event.position.contract));
      else if (event.type === "cash") this.book.onCash(event.account);
    });
  }

  addAccount(accountId: number, balance: Dec): void {
    this.book.addAccount(accountId, balance);
  }

  cashOf(accountId: number): TvCashBalance | undefined {
    return this.book.cash.get(accountId);
  }

  /** Runs `fn` (which creates orders in the Venue) giving each new order, in creation order, a context. */
  withNewOrders<T>(contexts: NewOrderContext[], fn: () => T): T {
    this.pendingNew = [...contexts];
    try {
      return fn();
    } finally {
      this.pendingNew = [];
    }
  }

  /** Runs `fn` (a Venue modify or cancel) with `command` as the cause of the resulting reports. */
  withCommand<T>(command: TvCommand, fn: () => T): T {
    this.command = command;
    try {
      return fn();
    } finally {
      this.command = undefined;
    }
  }

  /** Runs `fn` (a Venue modify the exchange makes itself) so the change is a new version, `Replaced`. */
  withExchangeMove<T>(orderId: number, fn: () => T): T {
    this.moving = orderId;
    try {
      return fn();
    } finally {
      this.moving = undefined;
    }
  }

  /** A Modify or Cancel command (with its report) for an existing order. */
  newCommand(
    order: TvOrder,
    commandType: "Modify" | "Cancel",
    extra: { clOrdId?: string; isAutomated: boolean; userId: number },
  ): TvCommand {
    const command: TvCommand = {
      id: this.nextId++,
      orderId: order.id,
      timestamp: this.stamp(),
      ...(extra.clOrdId !== undefined ? { clOrdId: extra.clOrdId } : {}),
      commandType,
      commandStatus: "AtExecution",
      isAutomated: extra.isAutomated,
      userId: extra.userId,
    };
    this.commands.set(command.id, command);
    index(this.commandsByOrder, order.id, command.id);
    this.put(order.accountId, "command", "Created", command);
    this.report(order.accountId, command, "RiskPassed", order.ordStatus);
    return command;
  }

  latestVersion(orderId: number): TvOrderVersion | undefined {
    const list = this.versions.get(orderId);
    return list?.[list.length - 1];
  }

  /** Every entity of the given accounts, for a sync snapshot or a list query. */
  forAccounts(accountIds: Iterable<number>): AccountEntities {
    const out: AccountEntities = {
      orders: [],
      orderVersions: [],
      commands: [],
      commandReports: [],
      executionReports: [],
      fills: [],
      fillPairs: [],
      positions: [],
      cashBalances: [],
    };
    const pick = <T>(ids: number[] | undefined, map: Map<number, T>, into: T[]) => {
      for (const id of ids ?? []) {
        const row = map.get(id);
        if (row) into.push(row);
      }
    };
    for (const accountId of accountIds) {
      for (const orderId of this.ordersByAccount.get(accountId) ?? []) {
        const order = this.orders.get(orderId);
        if (!order) continue;
        out.orders.push(order);
        out.orderVersions.push(...(this.versions.get(orderId) ?? []));
        for (const commandId of this.commandsByOrder.get(orderId) ?? []) {
          const command = this.commands.get(commandId);
          if (command) out.commands.push(command);
          pick(this.reportsByCommand.get(commandId), this.commandReports, out.commandReports);
        }
        pick(this.fillsByOrder.get(orderId), this.fills, out.fills);
      }
      pick(this.executionsByAccount.get(accountId), this.executionReports, out.executionReports);
      const book = this.book.ofAccount(accountId);
      out.positions.push(...book.positions);
      out.fillPairs.push(...book.fillPairs);
      if (book.cash) out.cashBalances.push(book.cash);
    }
    return out;
  }

  private onOrder(vo: VenueOrder): void {
    const accountId = Number(vo.account);
    const contractId = this.contractId(vo.contract);
    const status = STATUS[vo.status];
    const existing = this.orders.get(vo.id);
    if (!existing) {
      const ctx = this.pendingNew.shift() ?? { userId: 0, orderType: "Market", isAutomated: false };
      const order: TvOrder = {
        id: vo.id,
        accountId,
        contractId,
        timestamp: this.stamp(),
        action: action(vo.side),
        ordStatus: status,
        executionProviderId: 1,
        ...(vo.ocoGroup !== undefined ? { ocoId: vo.ocoGroup } : {}),
        ...(vo.parentId !== undefined ? { parentId: vo.parentId } : {}),
        admin: false,
      };
      const command: TvCommand = {
        id: this.nextId++,
        orderId: vo.id,
        timestamp: order.timestamp,
        ...(ctx.clOrdId !== undefined ? { clOrdId: ctx.clOrdId } : {}),
        commandType: "New",
        commandStatus: status === "Rejected" ? "RiskRejected" : "AtExecution",
        ...(ctx.activationTime !== undefined ? { activationTime: ctx.activationTime } : {}),
        ...(ctx.customTag50 !== undefined ? { customTag50: ctx.customTag50 } : {}),
        isAutomated: ctx.isAutomated,
        userId: ctx.userId,
      };
      this.orders.set(order.id, order);
      index(this.ordersByAccount, accountId, order.id);
      this.commands.set(command.id, command);
      index(this.commandsByOrder, order.id, command.id);
      this.newCommandOf.set(order.id, command.id);
      this.put(accountId, "order", "Created", order);
      this.put(accountId, "command", "Created", command);
      this.version(accountId, vo, ctx.orderType, ctx.timeInForce, ctx.text);
      this.report(accountId, command, status === "Rejected" ? "RiskRejected" : "RiskPassed", status, vo);
      this.execution(vo, command.id, status === "Rejected" ? "Rejected" : "New", status);
      return;
    }
    if (existing.ordStatus === status) {
      const cmd = this.command;
      const exchange = this.moving === vo.id;
      if ((cmd?.commandType === "Modify" && cmd.orderId === vo.id) || exchange) {
        const previous = this.latestVersion(vo.id);
        this.version(accountId, vo, previous?.orderType ?? "Limit", previous?.timeInForce, previous?.text);
        const cause = exchange ? (this.newCommandOf.get(vo.id) ?? 0) : (cmd?.id ?? 0);
        this.execution(vo, cause, "Replaced", status);
      }
      return;
    }
    existing.ordStatus = status;
    existing.timestamp = this.stamp();
    this.put(accountId, "order", "Updated", existing);
    const causeId = this.command?.orderId === vo.id ? this.command.id : (this.newCommandOf.get(vo.id) ?? 0);
    if (status === "Working") this.execution(vo, causeId, "New", status);
    else if (status === "Canceled") this.execution(vo, causeId, "Canceled", status);
    else if (status === "Rejected") this.execution(vo, causeId, "Rejected", status);
  }

  private onFill(vf: VenueFill, vo: VenueOrder): void {
    const accountId = Number(vf.account);
    const contractId = this.contractId(vf.contract);
    const fill: TvFill = {
      id: vf.id,
      orderId: vf.orderId,
      contractId,
      timestamp: this.stamp(),
      tradeDate: this.tradeDate(),
      action: action(vf.side),
      qty: vf.qty,
      price: toNum(vf.price),
      active: true,
      finallyPaired: false,
    };
    this.fills.set(fill.id, fill);
    index(this.fillsByOrder, fill.orderId, fill.id);
    this.execution(vo, this.newCommandOf.get(vo.id) ?? 0, "Trade", STATUS[vo.status], vf);
    this.put(accountId, "fill", "Created", fill);
    this.book.onFill(fill, accountId, vf);
  }

  private version(accountId: number, vo: VenueOrder, orderType: string, tif?: string, text?: string): void {
    const version: TvOrderVersion = {
      id: this.nextId++,
      orderId: vo.id,
      orderQty: vo.qty,
      orderType,
      ...(vo.price !== undefined ? { price: toNum(vo.price) } : {}),
      ...(vo.stopPrice !== undefined ? { stopPrice: toNum(vo.stopPrice) } : {}),
      ...(tif !== undefined ? { timeInForce: tif } : {}),
      ...(text !== undefined ? { text } : {}),
    };
    const list = this.versions.get(vo.id) ?? [];
    list.push(version);
    this.versions.set(vo.id, list);
    this.put(accountId, "orderVersion", "Created", version);
  }

  private report(
    accountId: number,
    command: TvCommand,
    commandStatus: string,
    ordStatus: OrdStatus,
    vo?: VenueOrder,
  ): void {
    const report: TvCommandReport = {
      id: this.nextId++,
      commandId: command.id,
      timestamp: this.stamp(),
      commandStatus,
      ordStatus,
      ...(vo?.rejectReason !== undefined ? { rejectReason: vo.rejectReason, text: vo.rejectReason } : {}),
    };
    this.commandReports.set(report.id, report);
    index(this.reportsByCommand, command.id, report.id);
    this.put(accountId, "commandReport", "Created", report);
  }

  private execution(
    vo: VenueOrder,
    commandId: number,
    execType: string,
    ordStatus: OrdStatus,
    vf?: VenueFill,
  ) {
    const accountId = Number(vo.account);
    const report: TvExecutionReport = {
      id: this.nextId++,
      commandId,
      name: `${execType}`,
      accountId,
      contractId: this.contractId(vo.contract),
      timestamp: this.stamp(),
      tradeDate: this.tradeDate(),
      orderId: vo.id,
      execType,
      ordStatus,
      action: action(vo.side),
      cumQty: vo.filledQty,
      ...(vo.avgFillPrice !== undefined ? { avgPx: toNum(vo.avgFillPrice) } : {}),
      ...(vf ? { lastQty: vf.qty, lastPx: toNum(vf.price), execRefId: String(vf.id) } : {}),
      ...(execType === "Rejected" && vo.rejectReason
        ? { rejectReason: vo.rejectReason, text: vo.rejectReason }
        : {}),
    };
    this.executionReports.set(report.id, report);
    index(this.executionsByAccount, accountId, report.id);
    this.put(accountId, "executionReport", "Created", report);
  }

  private put(accountId: number, entityType: string, eventType: PropsEventType, entity: object): void {
    this.sink(accountId, entityType, eventType, entity);
  }

  private contractId(name: string): number {
    return this.catalog.contractByName(name)?.contract.id ?? 0;
  }

  private stamp(): string {
    return new Date(this.now()).toISOString();
  }

  /** Futures trade date: the session that opens at 17:00 Chicago belongs to the next day (CST approximation). */
  tradeDate(): TradeDate {
    // Chicago local = UTC-6; local 17:00 and later belongs to the next day, i.e. UTC + 1 h.
    const d = new Date(this.now() + 3_600_000);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
  }
}
