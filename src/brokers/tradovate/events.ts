/**
 * Broker events from mirror changes and market data: OrderUpdated, OrderFilled (real fill price),
 * PositionChanged, CashChanged and QuoteReceived. Changes of one frame are applied to the mirror first
 * and turned into events afterwards, in order, so an order's event already carries its clOrdId.
 */
import type { Logger } from "pino";
import { dec } from "../../domain/decimal";
import { asBrokerAccountId, asBrokerOrderId, asClientOrderId } from "../../domain/ids";
import type { BrokerEvent, BrokerListener } from "../port";
import type { ContractBook } from "./contracts";
import type { Lookups } from "./lookups";
import type { Change, Mirror } from "./mirror";
import { cashFields, side, toBrokerOrder, toBrokerPosition } from "./parse";
import { MdEvent, Quote } from "./wire";

const why = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class EventPump {
  private readonly listeners = new Set<BrokerListener>();
  private pending: Change[] = [];
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly mirror: Mirror,
    private readonly contracts: ContractBook,
    private readonly lookups: Lookups,
    private readonly logger: Logger,
  ) {}

  on(listener: BrokerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues mirror changes; everything queued in one turn of the event loop becomes events together. */
  changes(changes: Change[]): void {
    if (changes.length === 0) return;
    this.pending.push(...changes);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      this.later(() => this.translate(batch));
    });
  }

  /** An `md` event: a QuoteReceived per quote that has a Trade price. */
  quotes(d: unknown): void {
    const m = MdEvent.safeParse(d);
    if (!m.success) return;
    for (const raw of m.data.quotes ?? []) {
      const q = Quote.safeParse(raw);
      const price = q.success ? q.data.entries.Trade?.price : undefined;
      if (!q.success || price === null || price === undefined) continue;
      const at = q.data.timestamp ? new Date(q.data.timestamp) : new Date();
      const contractId = q.data.contractId;
      this.later(async () => {
        const contract = await this.contracts.nameOf(contractId);
        this.emit({ type: "QuoteReceived", contract, last: dec(price), at });
      });
    }
  }

  emit(event: BrokerEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (error) {
        this.logger.error({ event: "ListenerFailed", reason: why(error) }, "listener threw");
      }
    }
  }

  /** Serializes event work so events keep their order even when a contract name must be looked up. */
  private later(work: () => Promise<void>): void {
    this.chain = this.chain
      .then(work)
      .catch((error: unknown) =>
        this.logger.error({ event: "BrokerEventFailed", reason: why(error) }, "event failed"),
      );
  }

  private async translate(batch: Change[]): Promise<void> {
    const ordersDone = new Set<number>();
    for (const c of batch) {
      if (c.entityType === "order" || c.entityType === "orderVersion") {
        const orderId = c.entityType === "order" ? c.entity.id : c.entity.orderId;
        if (ordersDone.has(orderId)) continue;
        ordersDone.add(orderId);
        await this.orderUpdated(orderId, c.raw);
      } else if (c.entityType === "fill" && c.eventType === "Created") {
        await this.orderFilled(c.entity, c.raw);
      } else if (c.entityType === "position") {
        const contract = await this.contracts.nameOf(c.entity.contractId);
        this.emit({ type: "PositionChanged", position: toBrokerPosition(c.entity, contract), raw: c.raw });
      } else if (c.entityType === "cashBalance") {
        this.emit({
          type: "CashChanged",
          brokerAccountId: asBrokerAccountId(String(c.entity.accountId)),
          ...cashFields(c.entity),
          raw: c.raw,
        });
      }
    }
  }

  private async orderUpdated(orderId: number, raw: unknown): Promise<void> {
    const order = this.mirror.get("order", orderId);
    if (!order) return;
    const contract = order.contractId != null ? await this.contracts.nameOf(order.contractId) : "";
    const m = this.mirror;
    const brokerOrder = toBrokerOrder(
      order,
      m.versionOf(orderId),
      m.commandOf(orderId),
      m.fillsOf(orderId),
      contract,
    );
    this.emit({ type: "OrderUpdated", order: brokerOrder, raw });
  }

  private async orderFilled(
    fill: Extract<Change, { entityType: "fill" }>["entity"],
    raw: unknown,
  ): Promise<void> {
    const order =
      this.mirror.get("order", fill.orderId) ??
      (await this.lookups.order(fill.orderId).catch(() => undefined));
    if (!order) {
      this.logger.warn({ event: "FillWithoutOrder", orderId: fill.orderId }, "fill for an unknown order");
      return;
    }
    const clOrdId = this.mirror.commandOf(order.id)?.clOrdId;
    const contractId = fill.contractId ?? order.contractId;
    // Cumulative through this fill, so the relay can tell a new fill from one it booked from the reply.
    const earlier = this.mirror.fillsOf(order.id).filter((f) => f.id <= fill.id);
    const cumQty = earlier.some((f) => f.id === fill.id)
      ? earlier.reduce((n, f) => n + f.qty, 0)
      : earlier.reduce((n, f) => n + f.qty, 0) + fill.qty;
    const contract = contractId != null ? await this.contracts.nameOf(contractId) : "";
    this.emit({
      type: "OrderFilled",
      brokerAccountId: asBrokerAccountId(String(order.accountId)),
      brokerOrderId: asBrokerOrderId(String(order.id)),
      ...(clOrdId ? { clientOrderId: asClientOrderId(clOrdId) } : {}),
      contract,
      side: side(fill.action),
      fill: {
        price: dec(fill.price),
        qty: fill.qty,
        id: String(fill.id),
        cumQty,
        at: fill.timestamp ? new Date(fill.timestamp) : new Date(),
      },
      raw,
    });
  }
}
