/**
 * The simulator's WebSocket side: trading and market-data connections, authorization, the 4-line request
 * protocol, props and quote fan-out, and ONE interval timer for every socket's heartbeat, inactivity and
 * authorization deadlines (the benchmark opens thousands of sockets).
 */
import { WebSocket } from "ws";
import type { SimSession } from "./auth";
import type { SimWorld } from "./context";
import { type Faults, normalizeEndpoint } from "./faults";
import { arrayFrame, closeFrame, parseBody, parseRequest, responseMessage, shutdownMessage } from "./framing";
import { mdRequest, quoteMessage } from "./md";
import type { Router } from "./router";
import type { FaultFilter, RecordedConnection, SocketKind } from "./types";

export interface HubOptions {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  authorizeTimeoutMs: number;
}

export class SimSocket {
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  readonly openedAt = Date.now();
  auth?: { session: SimSession; token: string };
  readonly accounts = new Set<number>();
  readonly quotes = new Set<number>();
  closed = false;
  private queue: string[] = [];
  private scheduled = false;

  constructor(
    readonly id: number,
    readonly kind: SocketKind,
    readonly ws: WebSocket,
    readonly record: RecordedConnection,
  ) {}

  send(frame: string): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    this.lastSentAt = Date.now();
    this.ws.send(frame);
  }

  /** Queues a message; everything queued in one tick of the event loop goes out as one `a[...]` frame. */
  enqueue(message: string): void {
    this.queue.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    this.send(arrayFrame(messages));
  }

  /** Graceful close: pending messages, then `c[code,"reason"]`, then the WebSocket close. */
  close(code: number, reason: string, at: number): void {
    if (this.closed) return;
    this.flush();
    this.send(closeFrame(code, reason));
    this.closed = true;
    this.record.closedAt ??= at;
    this.record.closedReason ??= reason;
    this.ws.close(1000, reason);
  }

  /** Drops the TCP connection without any close frame. */
  terminate(reason: string, at: number): void {
    if (this.closed) return;
    this.closed = true;
    this.record.closedAt ??= at;
    this.record.closedReason ??= reason;
    this.ws.terminate();
  }
}

export class SocketHub {
  private readonly sockets = new Map<number, SimSocket>();
  /** Props subscribers per account and quote subscribers per contract, so fan-out never scans all sockets. */
  private readonly byAccount = new Map<number, Set<SimSocket>>();
  private readonly byContract = new Map<number, Set<SimSocket>>();
  private tick?: NodeJS.Timeout;

  constructor(
    private readonly world: SimWorld,
    private readonly router: Router,
    private readonly faults: Faults,
    private readonly options: HubOptions,
  ) {}

  start(): void {
    const o = this.options;
    const period = Math.max(
      5,
      Math.min(250, Math.min(o.heartbeatIntervalMs, o.heartbeatTimeoutMs, o.authorizeTimeoutMs) / 4),
    );
    this.tick = setInterval(() => this.onTick(), period);
  }

  stop(): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    for (const s of this.sockets.values()) s.terminate("simulator stopped", this.world.now());
    this.sockets.clear();
    this.byAccount.clear();
    this.byContract.clear();
  }

  get size(): number {
    return this.sockets.size;
  }

  accept(ws: WebSocket, kind: SocketKind, id: number): void {
    const record = this.world.recorder.connection(id, kind, this.world.now());
    const socket = new SimSocket(id, kind, ws, record);
    this.sockets.set(id, socket);
    ws.on("message", (data, isBinary) => {
      socket.lastReceivedAt = Date.now();
      if (!isBinary) this.onMessage(socket, data.toString());
    });
    ws.on("close", (code) => {
      socket.closed = true;
      record.closedAt ??= this.world.now();
      record.closedReason ??= `client closed (${code})`;
      this.forget(socket);
    });
    ws.on("error", () => ws.terminate());
    socket.send("o");
  }

  publishProps(accountId: number, message: string): void {
    const set = this.byAccount.get(accountId);
    if (set) for (const s of set) s.enqueue(message);
  }

  publishQuote(contractId: number, message: string): void {
    const set = this.byContract.get(contractId);
    if (set) for (const s of set) s.enqueue(message);
  }

  hasQuoteSubscribers(contractId: number): boolean {
    return (this.byContract.get(contractId)?.size ?? 0) > 0;
  }

  private index(map: Map<number, Set<SimSocket>>, key: number, socket: SimSocket, add: boolean): void {
    let set = map.get(key);
    if (add) {
      if (!set) {
        set = new Set();
        map.set(key, set);
      }
      set.add(socket);
    } else if (set) {
      set.delete(socket);
      if (set.size === 0) map.delete(key);
    }
  }

  private forget(socket: SimSocket): void {
    this.sockets.delete(socket.id);
    for (const a of socket.accounts) this.index(this.byAccount, a, socket, false);
    for (const c of socket.quotes) this.index(this.byContract, c, socket, false);
  }

  /** Sends a shutdown event then closes every socket authorized by the session. */
  revoke(session: SimSession, reasonCode: string, reason: string): void {
    for (const s of this.sockets.values()) {
      if (s.auth?.session !== session) continue;
      s.enqueue(shutdownMessage(reasonCode, reason));
      s.close(3000, reason, this.world.now());
    }
  }

  shutdown(reasonCode: string, filter: FaultFilter & { kind?: SocketKind } = {}): number {
    const targets = this.select(filter);
    for (const s of targets) {
      s.enqueue(shutdownMessage(reasonCode, `Server shutdown: ${reasonCode}`));
      s.close(3000, reasonCode, this.world.now());
    }
    return targets.length;
  }

  drop(filter: FaultFilter & { kind?: SocketKind } = {}): number {
    const targets = this.select(filter);
    for (const s of targets) s.terminate("dropped", this.world.now());
    return targets.length;
  }

  private select(filter: FaultFilter & { kind?: SocketKind }): SimSocket[] {
    return [...this.sockets.values()].filter((s) => {
      if (filter.kind !== undefined && s.kind !== filter.kind) return false;
      const user = s.auth?.session.user;
      if (filter.user !== undefined && user?.name !== filter.user) return false;
      if (filter.accountId !== undefined && !user?.accountById.has(filter.accountId)) return false;
      return true;
    });
  }

  private onTick(): void {
    const now = Date.now();
    const o = this.options;
    for (const s of this.sockets.values()) {
      if (s.closed) continue;
      if (!s.auth && now - s.openedAt >= o.authorizeTimeoutMs)
        s.close(3000, "Authorization timeout", this.world.now());
      else if (now - s.lastReceivedAt >= o.heartbeatTimeoutMs)
        s.close(3000, "Heartbeat timeout", this.world.now());
      else if (now - s.lastSentAt >= o.heartbeatIntervalMs) s.send("h");
    }
  }

  private onMessage(socket: SimSocket, text: string): void {
    if (text === "[]") {
      socket.record.heartbeats++;
      return;
    }
    const request = parseRequest(text);
    if (!request) return;
    const endpoint = normalizeEndpoint(request.endpoint);
    if (endpoint === "authorize") {
      this.authorize(socket, request.id, request.body);
      return;
    }
    const body = parseBody(request.body);
    if (!body.ok) {
      socket.enqueue(responseMessage(request.id, { status: 400, body: "Invalid JSON body" }));
      return;
    }
    if (socket.kind === "md") {
      this.mdMessage(socket, request.id, request.endpoint, request.query, body.value);
      return;
    }
    void this.router
      .handle({
        transport: "ws",
        connectionId: socket.id,
        rawEndpoint: request.endpoint,
        id: request.id,
        queryText: request.query,
        body: body.value,
        ...(socket.auth ? { socket: socket.auth } : {}),
      })
      .then((outcome) => {
        if (outcome.kind !== "reply") return;
        if (outcome.subscribe && !socket.closed)
          for (const a of outcome.subscribe) {
            socket.accounts.add(a);
            this.index(this.byAccount, a, socket, true);
          }
        socket.enqueue(responseMessage(request.id, outcome.reply));
      });
  }

  private authorize(socket: SimSocket, id: number, bodyText: string): void {
    let token = bodyText.trim();
    if (token.startsWith('"')) {
      const parsed = parseBody(token);
      if (parsed.ok && typeof parsed.value === "string") token = parsed.value;
    }
    const check = this.world.auth.check(token);
    const valid = check.ok && (check.kind === "access" || socket.kind === "md");
    const row = this.world.recorder.request({
      transport: "ws",
      connectionId: socket.id,
      endpoint: "authorize",
      id,
      query: "",
      body: "***",
      at: this.world.now(),
      authorized: socket.auth !== undefined,
      ...(check.ok ? { user: check.session.user.name } : {}),
    });
    const target = {
      endpoint: "authorize",
      transport: "ws" as const,
      ...(row.user ? { user: row.user } : {}),
    };
    if (this.faults.takeSwallow(target)) {
      row.outcome = "swallowed";
      return;
    }
    if (!check.ok || !valid) {
      row.outcome = "unauthorized";
      socket.enqueue(responseMessage(id, { status: 401, body: "Invalid access token" }));
      return;
    }
    row.outcome = "ok";
    socket.auth = { session: check.session, token };
    socket.record.user = check.session.user.name;
    socket.record.authorizedAt ??= this.world.now();
    socket.enqueue(JSON.stringify({ s: 200, i: id }));
  }

  private mdMessage(socket: SimSocket, id: number, rawEndpoint: string, query: string, body: unknown): void {
    const endpoint = normalizeEndpoint(rawEndpoint);
    const row = this.world.recorder.request({
      transport: "ws",
      connectionId: socket.id,
      endpoint: rawEndpoint,
      id,
      query,
      body,
      at: this.world.now(),
      authorized: socket.auth !== undefined,
      ...(socket.auth ? { user: socket.auth.session.user.name } : {}),
    });
    if (!socket.auth) {
      row.outcome = "unauthorized";
      socket.enqueue(responseMessage(id, { status: 401, body: "Access is denied" }));
      return;
    }
    const { reply, subscribe, unsubscribe } = mdRequest(this.world, endpoint, body);
    row.outcome = reply.status === 200 ? "ok" : reply.status === 404 ? "notFound" : "badRequest";
    socket.enqueue(responseMessage(id, reply));
    if (unsubscribe) {
      socket.quotes.delete(unsubscribe.contract.id);
      this.index(this.byContract, unsubscribe.contract.id, socket, false);
    }
    if (subscribe) {
      socket.quotes.add(subscribe.contract.id);
      this.index(this.byContract, subscribe.contract.id, socket, true);
      const last = this.world.venue.lastPrice(subscribe.contract.name);
      if (last !== undefined) socket.enqueue(quoteMessage(subscribe, last, this.world.now(), 0));
    }
  }
}
