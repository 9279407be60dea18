/**
 * Read side of a Tradovate login: orders by client order id, working orders, positions and accounts.
 * The synced mirror answers while the trading socket is up; otherwise (or when the mirror lacks an
 * entity) the broker is asked over the wire. When the broker cannot be asked, these throw: "I could not
 * check" must never look like "the broker does not have it".
 */
import type { ClientOrderId } from "../../domain/ids";
import { asBrokerAccountId } from "../../domain/ids";
import type { BrokerAccountInfo, BrokerOrder, BrokerPosition } from "../port";
import type { Caller, CallResult } from "./calls";
import type { ContractBook } from "./contracts";
import { Liquidations } from "./liquidations";
import type { Mirror } from "./mirror";
import { cashFields, isTerminal, toBrokerOrder, toBrokerPosition } from "./parse";
import { Account, type Order, Order as OrderSchema } from "./wire";

function expectOk(r: CallResult, what: string): unknown {
  if (r.kind === "ok") return r.body;
  const why = r.kind === "http-error" ? `HTTP ${r.status}` : "reason" in r ? r.reason : r.kind;
  throw new Error(`Could not ask Tradovate for ${what}: ${why}`);
}

export class Lookups {
  /** Liquidation orders carry no clOrdId at Tradovate; remember which client id asked for them. */
  readonly liquidations: Liquidations;

  constructor(
    private readonly caller: Caller,
    private readonly mirror: Mirror,
    private readonly contracts: ContractBook,
    private readonly live: () => boolean,
  ) {
    this.liquidations = new Liquidations(mirror);
  }

  async findOrder(brokerAccountId: string, clientOrderId: ClientOrderId): Promise<BrokerOrder | null> {
    let orderId =
      this.mirror.commandByClOrdId(clientOrderId)?.orderId ?? this.liquidations.orderOf(clientOrderId);
    const liquidationAccount = this.liquidations.accountOf(clientOrderId);
    if (orderId === undefined && liquidationAccount !== undefined) {
      // A liquidation whose reply never came: look among the account's orders as the broker lists them.
      if (!this.live()) {
        const [orders, commands] = await Promise.all([
          this.caller.call("order/deps", undefined, { query: `masterid=${liquidationAccount}` }),
          this.caller.call("command/list"),
        ]);
        this.mirror.merge("order", expectOk(orders, `orders of account ${liquidationAccount}`));
        this.mirror.merge("command", expectOk(commands, `order ${clientOrderId}`));
      }
      orderId = this.liquidations.orderOf(clientOrderId);
      // Not placed (yet): nothing to report, and no clOrdId to look for either.
      if (orderId === undefined) return null;
    }
    if (orderId === undefined) {
      const body = expectOk(await this.caller.call("command/list"), `order ${clientOrderId}`);
      this.mirror.merge("command", body);
      orderId = this.mirror.commandByClOrdId(clientOrderId)?.orderId;
      if (orderId === undefined) return null;
    }
    const order = await this.order(orderId);
    if (!order || String(order.accountId) !== brokerAccountId) return null;
    return this.build(order);
  }

  /** `critical`: part of an order operation, so it is sent even while backing off after a 429. */
  async order(orderId: number, fresh = false, critical = false): Promise<Order | undefined> {
    const known = this.mirror.get("order", orderId);
    if (known && !fresh && this.live()) return known;
    const r = await this.caller.call("order/item", undefined, { query: `id=${orderId}`, critical });
    if (r.kind === "http-error" && r.status === 404) return undefined;
    const body = expectOk(r, `order ${orderId}`);
    const parsed = OrderSchema.safeParse(body);
    if (!parsed.success) return undefined;
    this.mirror.merge("order", parsed.data);
    return parsed.data;
  }

  async workingOrders(brokerAccountId: string): Promise<BrokerOrder[]> {
    const accountId = Number(brokerAccountId);
    if (!this.live()) {
      const body = expectOk(
        await this.caller.call("order/deps", undefined, { query: `masterid=${accountId}` }),
        "working orders",
      );
      this.mirror.merge("order", body);
    }
    const orders = this.mirror
      .all("order")
      .filter((o) => o.accountId === accountId && !isTerminal(o.ordStatus));
    return Promise.all(orders.map((o) => this.build(o)));
  }

  /** `fresh`: over REST even while the socket is up (the mirror can trail a fill after a reconnect). */
  async positions(brokerAccountId: string, fresh = false): Promise<BrokerPosition[]> {
    const accountId = Number(brokerAccountId);
    if (fresh || !this.live()) {
      const body = expectOk(
        await this.caller.call("position/deps", undefined, { query: `masterid=${accountId}` }),
        "positions",
      );
      this.mirror.merge("position", body);
    }
    const open = this.mirror.all("position").filter((p) => p.accountId === accountId && p.netPos !== 0);
    return Promise.all(open.map(async (p) => toBrokerPosition(p, await this.contracts.nameOf(p.contractId))));
  }

  async accounts(): Promise<BrokerAccountInfo[]> {
    const body = expectOk(await this.caller.call("account/list"), "accounts");
    const list = Array.isArray(body) ? body : [];
    return list.flatMap((raw) => {
      const a = Account.safeParse(raw);
      if (!a.success || a.data.active === false) return [];
      this.mirror.merge("account", a.data);
      const cash = this.mirror.cashOf(a.data.id);
      const balance = cash ? cashFields(cash).balance : undefined;
      return [
        {
          id: asBrokerAccountId(String(a.data.id)),
          name: a.data.name,
          ...(balance !== undefined ? { balance } : {}),
        },
      ];
    });
  }

  /** An order with its latest version, New command, fills and any rejection text. */
  async build(order: Order, critical = false): Promise<BrokerOrder> {
    let version = this.mirror.versionOf(order.id);
    let command = this.mirror.commandOf(order.id);
    if (!version || !command) {
      const [versions, commands] = await Promise.all([
        version
          ? undefined
          : this.caller.call("orderVersion/deps", undefined, { query: `masterid=${order.id}`, critical }),
        command ? undefined : this.caller.call("command/deps", undefined, { query: `masterid=${order.id}` }),
      ]);
      if (versions?.kind === "ok") this.mirror.merge("orderVersion", versions.body);
      if (commands?.kind === "ok") this.mirror.merge("command", commands.body);
      version = this.mirror.versionOf(order.id);
      command = this.mirror.commandOf(order.id);
    }
    let fills = this.mirror.fillsOf(order.id);
    if (fills.length === 0 && order.ordStatus === "Filled") {
      const r = await this.caller.call("fill/deps", undefined, { query: `masterid=${order.id}` });
      if (r.kind === "ok") this.mirror.merge("fill", r.body);
      fills = this.mirror.fillsOf(order.id);
    }
    const contract =
      order.contractId !== null && order.contractId !== undefined
        ? await this.contracts.nameOf(order.contractId)
        : "";
    return toBrokerOrder(order, version, command, fills, contract, this.rejectReason(order.id, command?.id));
  }

  private rejectReason(orderId: number, commandId: number | undefined): string | undefined {
    const report = this.mirror
      .all("executionReport")
      .find((r) => r.orderId === orderId && r.execType === "Rejected");
    if (report) return report.text ?? report.rejectReason ?? undefined;
    const cr = this.mirror.all("commandReport").find((r) => r.commandId === commandId && r.rejectReason);
    return cr ? (cr.text ?? cr.rejectReason ?? undefined) : undefined;
  }
}
