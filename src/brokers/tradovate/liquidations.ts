/**
 * Which order a `liquidateposition` placed. Tradovate's liquidation carries no clOrdId, so the session
 * remembers which client order id asked for it: by the order id in the reply, or, when the reply never
 * came, by the first order without a clOrdId that appeared on that account and contract after the request
 * left (order ids only grow). Without this an unanswered flatten could never be settled by `findOrder`,
 * which would then claim the broker never received it. In memory only, like the rest of the mirror.
 */
import type { Mirror } from "./mirror";

interface Pending {
  accountId: number;
  contractId: number;
  /** Highest order id of the account known before the request was sent. */
  afterOrderId: number;
  /** When the request was sent (ms), less a margin for the broker's clock. */
  notBefore: number;
}

const CLOCK_MARGIN_MS = 5_000;
const KEEP = 1_000;

export class Liquidations {
  // Created by the login's first flatten: most logins never have one.
  private settled?: Map<string, number>;
  private pending?: Map<string, Pending>;

  constructor(private readonly mirror: Mirror) {}

  /** Call just before sending: what the mirror knows now bounds the search for the order later. */
  sending(accountId: number, contractId: number): Pending {
    const afterOrderId = this.mirror
      .all("order")
      .filter((o) => o.accountId === accountId)
      .reduce((max, o) => Math.max(max, o.id), 0);
    return { accountId, contractId, afterOrderId, notBefore: Date.now() - CLOCK_MARGIN_MS };
  }

  /** The reply named the order. */
  placed(clientOrderId: string, orderId: number): void {
    this.pending?.delete(clientOrderId);
    this.settled ??= new Map();
    remember(this.settled, clientOrderId, orderId);
  }

  /** No trustworthy reply: the order, if any, is found later among the account's untagged orders. */
  unanswered(clientOrderId: string, request: Pending): void {
    this.pending ??= new Map();
    remember(this.pending, clientOrderId, request);
  }

  isPending(clientOrderId: string): boolean {
    return this.pending?.has(clientOrderId) ?? false;
  }

  /** The liquidation order of this client order id, as far as the mirror shows it. */
  orderOf(clientOrderId: string): number | undefined {
    const known = this.settled?.get(clientOrderId);
    if (known !== undefined) return known;
    const p = this.pending?.get(clientOrderId);
    if (!p) return undefined;
    const candidate = this.mirror
      .all("order")
      .filter(
        (o) =>
          o.accountId === p.accountId &&
          o.contractId === p.contractId &&
          o.id > p.afterOrderId &&
          !this.mirror.commandOf(o.id)?.clOrdId &&
          (!o.timestamp || Date.parse(o.timestamp) >= p.notBefore),
      )
      .sort((a, b) => a.id - b.id)[0];
    if (candidate) this.placed(clientOrderId, candidate.id);
    return candidate?.id;
  }

  /** Account of a pending liquidation, to fetch its orders when the mirror is not live. */
  accountOf(clientOrderId: string): number | undefined {
    return this.pending?.get(clientOrderId)?.accountId;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > KEEP) map.delete(map.keys().next().value ?? "");
}
