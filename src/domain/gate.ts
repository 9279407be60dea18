/**
 * The entry gate: asked before any plan that would add exposure (a breached loss limit, the kill switch,
 * prop-firm rules). A reason closes the gate for that trader; undefined lets the entry through. Closes and
 * exits never ask.
 */
export interface GateQuery {
  traderId: string;
  accountId: string;
  /** The entry about to be sent, when the caller knows it (max contracts counts it). */
  entry?: {
    brokerAccountId: string;
    contract: string;
    side: "buy" | "sell";
    qty: number;
    /** Contracts the same plan closes first (a reversal). */
    closeQty: number;
  };
}

export type EntryGate = (who: GateQuery) => string | undefined;
