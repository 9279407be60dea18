/**
 * SignalR JSON hub protocol framing: every message is a JSON text ending with the record separator 0x1e.
 * Message types used here: 1 invocation, 3 completion, 6 ping, 7 close.
 */
export const RS = "\u001e";

export const MessageType = { Invocation: 1, StreamItem: 2, Completion: 3, Ping: 6, Close: 7 } as const;

export function frame(message: unknown): string {
  return `${JSON.stringify(message)}${RS}`;
}

/** Splits buffered text into complete messages; the incomplete tail stays buffered. */
export function splitFrames(buffer: string): { messages: string[]; rest: string } {
  const parts = buffer.split(RS);
  const rest = parts.pop() ?? "";
  return { messages: parts.filter((p) => p.length > 0), rest };
}

export interface HubInvocation {
  type: 1;
  invocationId?: string;
  target: string;
  arguments: unknown[];
}

export function asInvocation(message: unknown): HubInvocation | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const m = message as Record<string, unknown>;
  if (m.type !== MessageType.Invocation || typeof m.target !== "string" || !Array.isArray(m.arguments))
    return undefined;
  return {
    type: 1,
    target: m.target,
    arguments: m.arguments,
    ...(typeof m.invocationId === "string" ? { invocationId: m.invocationId } : {}),
  };
}
