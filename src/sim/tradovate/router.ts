/**
 * One request pipeline for REST and WS: record, rate limit (429), authorization, penalty tickets,
 * injected rejections, lost requests, the handler, then swallowed or delayed replies. Both transports
 * therefore behave identically for every endpoint.
 */
import type { SimSession, SimUser } from "./auth";
import type { CallContext, Reply, SimWorld } from "./context";
import { type Faults, type FaultTarget, normalizeEndpoint } from "./faults";
import { accessTokenRequest, isAnonymous, me, renewAccessToken } from "./login";
import { cancelOrder, liquidatePosition, modifyOrder, placeOco, placeOrder, placeOso } from "./orders";
import { query, syncSnapshot } from "./queries";
import type { RecordedRequest, Transport } from "./types";

export interface IncomingRequest {
  transport: Transport;
  connectionId: number;
  rawEndpoint: string;
  id?: number;
  queryText: string;
  body: unknown;
  /** REST: the Bearer token. */
  bearer?: string;
  /** WS: the socket's authorization (sockets stay authorized after their token expires). */
  socket?: { session: SimSession; token: string };
}

export type Outcome =
  | { kind: "reply"; reply: Reply; subscribe?: Set<number> }
  /** Swallowed or lost: no reply will ever come. */
  | { kind: "silent" };

type Handler = (world: SimWorld, ctx: CallContext, body: unknown) => Reply;

const HANDLERS: Record<string, Handler> = {
  "auth/accesstokenrequest": (w, _c, b) => accessTokenRequest(w, b),
  "auth/renewaccesstoken": (w, c) => renewAccessToken(w, c),
  "auth/me": (_w, c) => me(c),
  "order/placeorder": placeOrder,
  "order/placeoso": placeOso,
  "order/placeoco": placeOco,
  "order/modifyorder": modifyOrder,
  "order/cancelorder": cancelOrder,
  "order/liquidateposition": liquidatePosition,
};

function numberField(body: unknown, key: string): number | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const v = (body as Record<string, unknown>)[key];
  return typeof v === "number" ? v : undefined;
}

export class Router {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly world: SimWorld,
    private readonly faults: Faults,
  ) {}

  async handle(req: IncomingRequest): Promise<Outcome> {
    const endpoint = normalizeEndpoint(req.rawEndpoint);
    let user: SimUser | undefined;
    let session: SimSession | undefined;
    let token: string | undefined;
    if (req.socket) {
      session = req.socket.session;
      user = session.user;
      token = req.socket.token;
    } else {
      const check = this.world.auth.check(req.bearer);
      token = req.bearer;
      if (check.ok && check.kind === "access") {
        session = check.session;
        user = session.user;
      }
    }
    const accountId = this.accountOf(req.body);
    const loginName =
      endpoint === "auth/accesstokenrequest" && typeof req.body === "object" && req.body !== null
        ? (req.body as { name?: unknown }).name
        : undefined;
    const row = this.world.recorder.request({
      transport: req.transport,
      connectionId: req.connectionId,
      endpoint: req.rawEndpoint.replace(/^\//, ""),
      ...(req.id !== undefined ? { id: req.id } : {}),
      query: req.queryText,
      body: req.body,
      at: this.world.now(),
      authorized: user !== undefined,
      ...(user ? { user: user.name } : typeof loginName === "string" ? { user: loginName } : {}),
    });
    const target: FaultTarget = {
      endpoint,
      transport: req.transport,
      ...(row.user !== undefined ? { user: row.user } : {}),
      ...(accountId !== undefined ? { accountId } : {}),
    };
    if (this.faults.takeRateLimit(target)) return this.done(row, "rateLimited", { status: 429 });
    if (!user && !isAnonymous(endpoint))
      return this.done(row, "unauthorized", { status: 401, body: "Access is denied" });
    let body = req.body;
    const penalty = this.faults.checkPenalty(target, body);
    if (penalty.kind === "penalty") return this.done(row, "penalized", { status: 200, body: penalty.reply });
    if (penalty.kind === "cleared") body = penalty.body;
    const injected = this.faults.takeReject(target);
    if (injected) {
      const reply = endpoint.startsWith("auth/")
        ? { errorText: injected.errorText ?? injected.failureText ?? "Access is denied" }
        : {
            failureReason: injected.failureReason ?? "UnknownReason",
            failureText: injected.failureText ?? "Access is denied",
          };
      return this.done(row, "rejected", { status: 200, body: reply });
    }
    if (this.faults.takeLoss(target)) {
      row.outcome = "lost";
      return { kind: "silent" };
    }
    const ctx: CallContext = {
      ...(user ? { user } : {}),
      ...(session ? { session } : {}),
      transport: req.transport,
      connectionId: req.connectionId,
      endpoint,
      rawEndpoint: req.rawEndpoint,
      query: new URLSearchParams(req.queryText),
      ...(token !== undefined ? { token } : {}),
    };
    let reply: Reply;
    let subscribe: Set<number> | undefined;
    if (endpoint === "user/syncrequest") {
      const result = syncSnapshot(this.world, ctx, body);
      reply = result.reply;
      subscribe = result.accounts;
    } else {
      const handler = HANDLERS[endpoint];
      reply = handler
        ? handler(this.world, ctx, body)
        : (query(this.world, ctx, body) ?? { status: 404, body: `Not found: ${req.rawEndpoint}` });
    }
    if (this.faults.takeSwallow(target)) {
      row.outcome = "swallowed";
      return { kind: "silent" };
    }
    const delay = this.faults.takeDelay(target);
    if (delay !== undefined && delay > 0) await this.sleep(delay);
    const outcome =
      reply.status === 404
        ? "notFound"
        : reply.status >= 400
          ? "badRequest"
          : isFailure(reply)
            ? "failed"
            : "ok";
    row.outcome = outcome;
    return { kind: "reply", reply, ...(subscribe && reply.status === 200 ? { subscribe } : {}) };
  }

  /** Forgets pending delayed replies (their connections are closing anyway). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private done(row: RecordedRequest, outcome: RecordedRequest["outcome"], reply: Reply): Outcome {
    row.outcome = outcome;
    return { kind: "reply", reply };
  }

  private accountOf(body: unknown): number | undefined {
    const accountId = numberField(body, "accountId");
    if (accountId !== undefined) return accountId;
    const orderId = numberField(body, "orderId");
    return orderId === undefined ? undefined : this.world.store.orders.get(orderId)?.accountId;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function isFailure(reply: Reply): boolean {
  const b = reply.body;
  if (typeof b !== "object" || b === null) return false;
  const r = b as Record<string, unknown>;
  return (
    (typeof r.failureReason === "string" && r.failureReason !== "Success") || typeof r.errorText === "string"
  );
}
