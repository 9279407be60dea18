/**
 * Live updates for signed-in browsers: relay events and answered webhooks as server-sent events. A page
 * marks the regions that change with `data-live-on="<event types>"`; /assets/console.js re-reads the page
 * when one of those arrives and swaps those regions in. Events carry ids, names and states, never a
 * secret (credentials, tokens, webhook URLs are in no event).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { EventBus, RelayEvent } from "../events";

export interface LiveMessage {
  type: string;
  at: string;
  [k: string]: unknown;
}

type Client = (m: LiveMessage) => void;

const HEARTBEAT_MS = 15_000;

/** What a browser may see of an event: identifiers, names, states, reasons. */
function summarize(e: RelayEvent): LiveMessage {
  const m: LiveMessage = { type: e.type, at: e.at.toISOString() };
  for (const k of [
    "signalId",
    "recorderId",
    "recorderName",
    "accountId",
    "accountName",
    "traderId",
    "reason",
  ]) {
    const v = (e as unknown as Record<string, unknown>)[k];
    if (typeof v === "string") m[k] = v;
  }
  return m;
}

export class LiveFeed {
  private readonly clients = new Set<Client>();

  constructor(bus: EventBus) {
    bus.on((e) => {
      if (this.clients.size > 0) this.publish(summarize(e));
    });
  }

  /**
   * Webhooks answered (accepted, duplicate, rejected) come from the webhook route, not the bus. Given as a
   * function, so a relay no browser is watching builds no message on the webhook's path.
   */
  publish(m: LiveMessage | (() => LiveMessage)): void {
    if (this.clients.size === 0) return;
    const message = typeof m === "function" ? m() : m;
    for (const c of this.clients) c(message);
  }

  get listeners(): number {
    return this.clients.size;
  }

  stream(c: Context): Response {
    return streamSSE(c, async (stream) => {
      const queue: LiveMessage[] = [];
      let wake: (() => void) | undefined;
      const client: Client = (m) => {
        if (queue.length < 1000) queue.push(m);
        wake?.();
      };
      this.clients.add(client);
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      try {
        await stream.writeSSE({ event: "ready", data: "{}" });
        while (open) {
          const m = queue.shift();
          if (m) {
            await stream.writeSSE({ data: JSON.stringify(m) });
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, HEARTBEAT_MS).unref();
          });
          wake = undefined;
          if (open && queue.length === 0) await stream.write(": heartbeat\n\n");
        }
      } finally {
        this.clients.delete(client);
      }
    });
  }
}
