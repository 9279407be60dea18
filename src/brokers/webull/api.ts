/**
 * Typed Webull calls on top of the signed transport: one method per endpoint, responses validated with
 * the wire schemas. Read calls retry a 429 a few times after the server's Retry-After (a refused read was
 * not processed, so asking again is safe); order calls never retry here: the session decides.
 */
import { ENDPOINTS } from "./config";
import type { HttpResult, WebullHttp } from "./http";
import {
  accountListSchema,
  type BalanceView,
  balanceSchema,
  type CancelBodyWire,
  type ModifyOrderWire,
  type NewOrderWire,
  type OrderView,
  orderDetailSchema,
  orderListSchema,
  type PlaceBodyWire,
  type PositionView,
  positionListSchema,
  type ReplaceBodyWire,
} from "./wire";

export type Failure =
  | Exclude<HttpResult, { kind: "ok" }>
  | { kind: "malformed"; reason: string; body: unknown };

export type ApiResult<T> = { ok: true; value: T; rttMs: number } | { ok: false; failure: Failure };

const PAGE_SIZE = 100;
const MAX_PAGES = 50;
const READ_RETRIES = 3;
const MAX_RETRY_WAIT_MS = 2_000;

/** One line a trader can act on; never contains a credential. */
export function describeFailure(f: Failure): string {
  switch (f.kind) {
    case "error":
      if (f.status === 401) {
        return `Webull refused the request signature (${f.code}: ${f.message}); check the app key, app secret, access token and the server clock`;
      }
      if (f.status === 429) return `Webull rate limit reached (${f.code})`;
      return `Webull answered ${f.status} ${f.code}: ${f.message}`;
    case "malformed":
      return `unexpected Webull response: ${f.reason}`;
    default:
      return f.reason;
  }
}

export const isNotFound = (f: Failure): boolean =>
  f.kind === "error" && (f.status === 404 || f.code === "ORDER_NOT_FOUND");

/** Waits `ms`, or less when the signal aborts; true when the wait ran its course. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort);
  });
}

export class WebullApi {
  constructor(
    private readonly http: WebullHttp,
    private readonly signal: AbortSignal,
  ) {}

  accounts() {
    return this.read({ method: "GET", path: ENDPOINTS.accounts }, (b) => accountListSchema.safeParse(b));
  }

  balance(accountId: string): Promise<ApiResult<BalanceView>> {
    return this.read({ method: "GET", path: ENDPOINTS.balance, query: [["account_id", accountId]] }, (b) =>
      balanceSchema.safeParse(b),
    );
  }

  async positions(accountId: string): Promise<ApiResult<PositionView[]>> {
    const r = await this.read(
      { method: "GET", path: ENDPOINTS.positions, query: [["account_id", accountId]] },
      (b) => positionListSchema.safeParse(b),
    );
    return r.ok ? { ...r, value: r.value.positions } : r;
  }

  /** Every working order of the account, following `has_next` pages. */
  async openOrders(accountId: string): Promise<ApiResult<OrderView[]>> {
    const all: OrderView[] = [];
    let after: string | undefined;
    let rtt = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query: [string, string][] = [
        ["account_id", accountId],
        ["page_size", String(PAGE_SIZE)],
      ];
      if (after) query.push(["last_client_order_id", after]);
      const r = await this.read({ method: "GET", path: ENDPOINTS.open, query }, (b) =>
        orderListSchema.safeParse(b),
      );
      if (!r.ok) return r;
      rtt = Math.max(rtt, r.rttMs);
      all.push(...r.value.orders);
      const last = r.value.orders.at(-1);
      if (!r.value.has_next || !last) break;
      after = last.client_order_id;
    }
    return { ok: true, value: all, rttMs: rtt };
  }

  /** The order with this client order id; `null` when Webull says it does not exist. */
  async detail(accountId: string, clientOrderId: string): Promise<ApiResult<OrderView | null>> {
    const r = await this.read(
      {
        method: "GET",
        path: ENDPOINTS.detail,
        query: [
          ["account_id", accountId],
          ["client_order_id", clientOrderId],
        ],
      },
      (b) => orderDetailSchema.safeParse(b),
    );
    if (!r.ok) return isNotFound(r.failure) ? { ok: true, value: null, rttMs: 0 } : r;
    const view = r.value.orders.find((o) => o.client_order_id === clientOrderId) ?? r.value.orders[0];
    return { ok: true, value: view ?? null, rttMs: r.rttMs };
  }

  place(accountId: string, order: NewOrderWire, category: string): Promise<HttpResult> {
    const body: PlaceBodyWire = { account_id: accountId, new_orders: [order] };
    return this.http.request({ method: "POST", path: ENDPOINTS.place, body, headers: { category } });
  }

  replace(accountId: string, change: ModifyOrderWire): Promise<HttpResult> {
    const body: ReplaceBodyWire = { account_id: accountId, modify_orders: [change] };
    return this.http.request({ method: "POST", path: ENDPOINTS.replace, body });
  }

  cancel(accountId: string, clientOrderId: string): Promise<HttpResult> {
    const body: CancelBodyWire = { account_id: accountId, client_order_id: clientOrderId };
    return this.http.request({ method: "POST", path: ENDPOINTS.cancel, body });
  }

  private async read<T>(
    spec: Parameters<WebullHttp["request"]>[0],
    parse: (body: unknown) => { success: true; data: T } | { success: false; error: { message: string } },
  ): Promise<ApiResult<T>> {
    let result: HttpResult = await this.http.request(spec);
    for (let attempt = 1; attempt < READ_RETRIES; attempt++) {
      if (result.kind !== "error" || result.status !== 429) break;
      if (!(await pause(Math.min(MAX_RETRY_WAIT_MS, result.retryAfterMs ?? 500 * attempt), this.signal)))
        break;
      result = await this.http.request(spec);
    }
    if (result.kind !== "ok") return { ok: false, failure: result };
    const parsed = parse(result.body);
    if (!parsed.success) {
      return { ok: false, failure: { kind: "malformed", reason: parsed.error.message, body: result.body } };
    }
    return { ok: true, value: parsed.data, rttMs: result.rttMs };
  }
}
