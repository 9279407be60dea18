/**
 * The entry gate: asked before any plan that would add exposure (a breached loss limit, the kill switch).
 * A reason closes the gate for that trader; undefined lets the entry through. Closes and exits never ask.
 */
export type EntryGate = (who: { traderId: string; accountId: string }) => string | undefined;
