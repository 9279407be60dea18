/**
 * What the simulator received: every REST request, every hub upgrade and invocation, every order placement
 * and every position close, so tests can prove "exactly one order per customTag".
 */
import type { RecordedClose, RecordedInvocation, RecordedPlacement, RecordedRequest } from "./options";

export class Recorder {
  readonly requests: RecordedRequest[] = [];
  readonly invocations: RecordedInvocation[] = [];
  readonly placements: RecordedPlacement[] = [];
  readonly closes: RecordedClose[] = [];
  /** Hub socket upgrades, with the WebSocket extensions the client offered (permessage-deflate...). */
  readonly upgrades: { hub: string; user?: string; extensions?: string }[] = [];

  /** Requests to one path (e.g. "/api/Order/place"). */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /**
   * Placements whose customTag was already held by a live order of the same account: a re-send. Must be
   * empty in every test. A re-send after a definite refusal (tag never taken) is not listed.
   */
  duplicateCustomTags(): { accountId: number; customTag: string; count: number }[] {
    const counts = new Map<string, { accountId: number; customTag: string; count: number }>();
    for (const p of this.placements) {
      if (p.customTag === null || (!p.success && !p.duplicateTag)) continue;
      const key = `${p.accountId}|${p.customTag}`;
      const entry = counts.get(key) ?? { accountId: p.accountId, customTag: p.customTag, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    return [...counts.values()].filter((e) => e.count > 1);
  }

  clear(): void {
    this.requests.length = 0;
    this.invocations.length = 0;
    this.placements.length = 0;
    this.closes.length = 0;
    this.upgrades.length = 0;
  }
}
