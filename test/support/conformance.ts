/**
 * The broker conformance suite's contract with each broker: a driver starts the broker's simulator (or, for
 * paper, the in-process paper market), creates a session through the broker's own factory, and offers what
 * the scenarios need to move the market, inject faults and read the broker's side of the story. Scenarios
 * (test/conformance/scenarios.ts) talk to the adapter only through the broker port; the driver's records
 * come from the simulator, never from the adapter, so the suite checks what reached the broker.
 */
import type { BrokerEvent, BrokerSession, OrderOutcome, OrderRequest } from "../../src/brokers/port";
import type { ContractSpec } from "../../src/domain/contract";
import { type Dec, toStr } from "../../src/domain/decimal";
import { type BrokerAccountId, type ClientOrderId, clientOrderId } from "../../src/domain/ids";
import type { Side } from "../../src/domain/venue/types";

export type ConformanceBroker = "paper" | "tradovate" | "ninjatrader" | "projectx" | "webull";

/** An order as the broker holds it (read from the simulator's book, not from the adapter). */
export interface HeldOrder {
  status: "working" | "held" | "filled" | "cancelled" | "rejected";
  side: Side;
  qty: number;
  price?: Dec;
  stopPrice?: Dec;
}

/** What reached the broker: one row per order the broker created. */
export interface ReceivedOrder {
  clientOrderId?: string;
  /** Tradovate only: the `isAutomated` flag the order carried. */
  automated?: boolean;
  /** Orders the broker generated itself (a liquidation or close carries no client order id). */
  generated: boolean;
}

/** Injects a broker rate limit on the next order placement; `name` says which mechanism. */
export interface RateLimitFault {
  name: string;
  inject(): void;
}

/** Port operations that write at the broker. */
export type WriteOp = "place" | "oco" | "modify" | "cancel" | "flatten";

/** Network faults; absent for paper, which has no network. */
export interface TransportFaults {
  /** The broker processes the next request of this kind but its reply never arrives. */
  swallowNext(op: WriteOp): void;
  /** Drops the session's connections (sockets, hubs or HTTP connections). Returns once they are gone. */
  dropConnections(): Promise<void>;
  /** Ends the outage begun by `dropConnections` (a no-op where the broker accepts reconnects at once). */
  restoreConnections(): void;
  rateLimits: RateLimitFault[];
}

export interface ConformanceDriver {
  readonly broker: ConformanceBroker;
  readonly session: BrokerSession;
  readonly account: BrokerAccountId;
  /** Front-month MNQ as this broker trades it (resolved through the port). */
  readonly contract: ContractSpec;
  /** Every event the session emitted, in order. */
  readonly events: BrokerEvent[];
  /** Cash the account started with. */
  readonly startingBalance: Dec;
  /** Fees the broker charges per contract per fill (its realized P&L and balance are net of them). */
  readonly feePerContract: Dec;
  readonly faults?: TransportFaults;
  /** Moves the broker's market for `contract`: resting orders react. */
  setPrice(price: Dec): Promise<void>;
  /** Net position the broker holds in `contract` (positive long). */
  heldPosition(): number;
  /** The broker's own record of the order with this client order id. */
  heldOrder(clientOrderId: ClientOrderId): HeldOrder | undefined;
  /** Orders the broker created, in arrival order. */
  received(): ReceivedOrder[];
  /** Client order ids the broker's duplicate detector flagged: must stay empty. */
  duplicates(): string[];
  /**
   * An order this broker refuses, with the words it refuses it in. Where the simulator has a natural
   * refusal (a price off the tick, an account that may not trade, no price) it is used.
   */
  refusal(base: OrderRequest): Promise<{ order: OrderRequest; words: RegExp }>;
  stop(): Promise<void>;
}

export type DriverFactory = () => Promise<ConformanceDriver>;

let counter = 0;

/** A fresh client order id, derived the way the relay derives them (src/domain/ids.ts). */
export function freshId(leg: string): ClientOrderId {
  counter++;
  return clientOrderId(`conformance-${process.pid}-${Date.now()}-${counter}`, "trader", leg);
}

/** A port order on the driver's account and contract with a fresh client order id. */
export function orderFor(
  d: Pick<ConformanceDriver, "account" | "contract">,
  leg: string,
  fields: Partial<OrderRequest> & Pick<OrderRequest, "side" | "type">,
): OrderRequest {
  return {
    clientOrderId: freshId(leg),
    brokerAccountId: d.account,
    contract: d.contract,
    qty: 1,
    ...fields,
  };
}

export type Filled = Extract<BrokerEvent, { type: "OrderFilled" }>;

/** OrderFilled events of one order, by client order id or broker order id. */
export function fillsOf(events: BrokerEvent[], clientOrderId: string, brokerOrderId?: string): Filled[] {
  return events.filter(
    (e): e is Filled =>
      e.type === "OrderFilled" &&
      (e.clientOrderId === clientOrderId ||
        (brokerOrderId !== undefined && e.brokerOrderId === brokerOrderId)),
  );
}

/** JSON for failure messages; decimals (bigint billionths) shown as text. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${toStr(v as Dec)}` : v));
}

export function accepted(outcome: OrderOutcome, what: string): Extract<OrderOutcome, { kind: "accepted" }> {
  if (outcome.kind !== "accepted") throw new Error(`${what} was not accepted: ${show(outcome)}`);
  return outcome;
}
