/**
 * The flatten of one breach (or one kill-switch flatten of an account) as an explicit state machine:
 * (state, input) -> state. Anything not in the table is refused, so a breach can never start a second
 * flatten while one runs, and a flat breach never flattens again unless its position reopens.
 *
 *   detected ──start──▶ flattening ──flat──▶ flat
 *                        │  ▲    │                 │ reopened (a late exit fill re-opened the position)
 *      session down /    │  │    └─exhausted──▶ stuck ──session ready──┐
 *      not ready         ▼  └──session ready── waiting ◀───────────────┘ (back through flattening)
 */

export type FlattenState = "detected" | "flattening" | "waiting" | "flat" | "stuck";
export type FlattenInput =
  | "start"
  | "attemptFailed"
  | "flat"
  | "exhausted"
  | "sessionDown"
  | "sessionReady"
  | "reopened";

const TABLE: Record<FlattenState, Partial<Record<FlattenInput, FlattenState>>> = {
  detected: { start: "flattening", sessionDown: "waiting" },
  flattening: {
    attemptFailed: "flattening",
    flat: "flat",
    exhausted: "stuck",
    sessionDown: "waiting",
  },
  waiting: { sessionReady: "flattening" },
  stuck: { sessionReady: "flattening" },
  flat: { reopened: "flattening" },
};

/** The next state, or undefined when the input is not allowed in this state. */
export function transition(state: FlattenState, input: FlattenInput): FlattenState | undefined {
  return TABLE[state][input];
}
