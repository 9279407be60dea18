/**
 * One Tradovate socket (trading or market data) that stays up: open, wait for `o`, authorize, run the
 * owner's setup (sync, resubscribe), send `[]` every heartbeatMs on a timer, correlate responses by id
 * with deadlines, and on any drop fail in-flight requests as `lost` and reconnect with backoff (first
 * retry fast, then doubling with jitter, at most 30 s apart, forever: backoff.ts). A request that was
 * written but not answered is `lost`, never retried here.
 */
import type { Logger } from "pino";
import { WebSocket } from "ws";
import { backoffDelay, jitter } from "../backoff";
import { Message } from "./wire";

export type SocketState = "idle" | "connecting" | "ready" | "reconnecting" | "failed" | "stopped";

export type SocketResult =
  | { kind: "response"; status: number; data: unknown }
  /** Never written to the wire: safe to send another way. */
  | { kind: "not-sent"; reason: string }
  /** Written, but no reply (timeout or drop): the outcome is unknown. */
  | { kind: "lost"; reason: string };

export type Requester = (
  endpoint: string,
  body?: unknown,
  query?: string,
  timeoutMs?: number,
) => Promise<SocketResult>;

export interface SocketHooks {
  /** The token to authorize with; may log in or renew. */
  token(): Promise<string>;
  /** Runs after a successful authorize, before the socket counts as ready (sync, resubscribe). */
  onAuthorized(request: Requester, reconnect: boolean): Promise<void>;
  onEvent(event: string, data: unknown): void;
  onState(state: SocketState, detail?: string): void;
  /** The server refused the token (401 on authorize). */
  onAuthRejected(): void;
  /** Errors after which retrying is pointless (bad password, captcha). */
  isFatal(error: unknown): boolean;
}

export interface SocketOptions {
  name: "trading" | "md";
  url: string;
  heartbeatMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  silenceMs: number;
  reconnectDelaysMs: number[];
  logger: Logger;
}

interface Pending {
  resolve: (r: SocketResult) => void;
  timer: NodeJS.Timeout;
  sentAt: number;
}

class Conn {
  readonly pending = new Map<number, Pending>();
  nextId = 1;
  dead = false;
  heartbeat?: NodeJS.Timeout;
  serverClose?: string;
  onOpen?: () => void;
  constructor(
    readonly ws: WebSocket,
    readonly gen: number,
  ) {}
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Non-2xx `d` is an error string, sometimes double-encoded (`"\"Not found: x\""`). */
function decodeError(d: unknown): unknown {
  if (typeof d !== "string" || !d.startsWith('"')) return d;
  try {
    const inner: unknown = JSON.parse(d);
    return typeof inner === "string" ? inner : d;
  } catch {
    return d;
  }
}

export class TradovateSocket {
  state: SocketState = "idle";
  lastFrameAt?: number;
  lastHeartbeatAt?: number;
  rttMs?: number;
  /** How many times the socket became ready. */
  readyCount = 0;
  private conn?: Conn;
  private generation = 0;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer?: NodeJS.Timeout;
  private firstAttempt?: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly options: SocketOptions,
    private readonly hooks: SocketHooks,
  ) {}

  /** Connects; resolves after the first attempt succeeded or failed (retries continue in the background). */
  start(): Promise<void> {
    this.firstAttempt ??= this.connect();
    return this.firstAttempt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.conn) this.kill(this.conn, "session stopped");
    this.setState("stopped");
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  isReady(): boolean {
    return this.state === "ready" && this.conn !== undefined && !this.conn.dead;
  }

  /** Resolves true when ready, false when the deadline passes or the socket stops first. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return Promise.resolve(true);
    if (this.stopped || this.state === "failed") return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(this.isReady());
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Sends a request on the ready socket; `not-sent` when it is not ready. */
  request(endpoint: string, body?: unknown, query = "", timeoutMs?: number): Promise<SocketResult> {
    const conn = this.conn;
    if (!conn || !this.isReady())
      return Promise.resolve({ kind: "not-sent", reason: `${this.options.name} socket is ${this.state}` });
    return this.send(conn, endpoint, body, query, timeoutMs ?? this.options.requestTimeoutMs);
  }

  /** Drops the current connection as if the network failed (used on a server `shutdown`). */
  reconnect(reason: string): void {
    if (this.conn) this.kill(this.conn, reason);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    const reconnecting = this.readyCount > 0;
    this.setState(reconnecting ? "reconnecting" : "connecting");
    let conn: Conn | undefined;
    try {
      const token = await this.hooks.token();
      if (this.stopped || gen !== this.generation) return;
      conn = await this.open(gen);
      const auth = await this.send(conn, "authorize", token, "", this.options.connectTimeoutMs, 0);
      if (auth.kind !== "response") throw new Error(`authorize got no answer: ${auth.reason}`);
      if (auth.status === 401 || auth.status === 403) {
        this.hooks.onAuthRejected();
        throw new Error(`Tradovate refused the token (${String(decodeError(auth.data) ?? auth.status)})`);
      }
      if (auth.status < 200 || auth.status >= 300) throw new Error(`authorize answered ${auth.status}`);
      this.startHeartbeat(conn);
      const c = conn;
      await this.hooks.onAuthorized(
        (e, b, q, t) => this.send(c, e, b, q ?? "", t ?? this.options.requestTimeoutMs),
        reconnecting,
      );
      if (this.stopped) return;
      if (conn.dead) {
        // Dropped while the setup awaited something else (a REST call): try again.
        this.scheduleReconnect("socket dropped during setup");
        return;
      }
      this.attempt = 0;
      this.readyCount++;
      this.setState("ready");
      this.options.logger.info(
        { event: reconnecting ? "SessionReconnected" : "SessionConnected", socket: this.options.name },
        `${this.options.name} socket ready`,
      );
      for (const w of [...this.waiters]) w();
    } catch (error) {
      if (this.stopped || gen !== this.generation) return;
      if (conn) this.kill(conn, message(error), false);
      if (this.hooks.isFatal(error)) {
        this.setState("failed", message(error));
        for (const w of [...this.waiters]) w();
        return;
      }
      this.options.logger.warn(
        { event: "SessionConnectFailed", socket: this.options.name, reason: message(error) },
        `${this.options.name} socket connect failed`,
      );
      this.scheduleReconnect(message(error));
    }
  }

  private open(gen: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.options.url, {
        handshakeTimeout: this.options.connectTimeoutMs,
        perMessageDeflate: false,
      });
      const conn = new Conn(ws, gen);
      this.conn = conn;
      const timer = setTimeout(
        () => reject(new Error("no open frame from server")),
        this.options.connectTimeoutMs,
      );
      conn.onOpen = () => {
        clearTimeout(timer);
        resolve(conn);
      };
      ws.on("message", (data) => this.onFrame(conn, data.toString()));
      ws.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
        this.kill(conn, `socket error: ${error.message}`);
      });
      ws.on("close", (code) => {
        clearTimeout(timer);
        const why = conn.serverClose ?? `closed (${code})`;
        reject(new Error(why));
        this.kill(conn, why);
      });
    });
  }

  private send(
    conn: Conn,
    endpoint: string,
    body: unknown,
    query: string,
    timeoutMs: number,
    fixedId?: number,
  ) {
    return new Promise<SocketResult>((resolve) => {
      if (conn.dead || conn.ws.readyState !== WebSocket.OPEN) {
        resolve({ kind: "not-sent", reason: `${this.options.name} socket is not open` });
        return;
      }
      const id = fixedId ?? conn.nextId++;
      const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
      const timer = setTimeout(() => {
        conn.pending.delete(id);
        resolve({ kind: "lost", reason: `no reply to ${endpoint} within ${timeoutMs} ms` });
      }, timeoutMs);
      conn.pending.set(id, { resolve, timer, sentAt: Date.now() });
      try {
        conn.ws.send(`${endpoint}\n${id}\n${query}\n${text}`);
      } catch (error) {
        clearTimeout(timer);
        conn.pending.delete(id);
        resolve({ kind: "not-sent", reason: message(error) });
      }
    });
  }

  private onFrame(conn: Conn, text: string): void {
    const now = Date.now();
    this.lastFrameAt = now;
    const type = text[0];
    if (type === "o") conn.onOpen?.();
    else if (type === "h") this.lastHeartbeatAt = now;
    else if (type === "c") conn.serverClose = `server closed: ${text.slice(1)}`;
    else if (type === "a") {
      this.lastHeartbeatAt = now;
      let items: unknown;
      try {
        items = JSON.parse(text.slice(1));
      } catch {
        this.options.logger.warn({ event: "FrameUnreadable", socket: this.options.name }, "unreadable frame");
        return;
      }
      if (!Array.isArray(items)) return;
      for (const item of items) this.onMessage(conn, item, now);
    }
  }

  private onMessage(conn: Conn, item: unknown, now: number): void {
    const parsed = Message.safeParse(item);
    if (!parsed.success) return;
    const m = parsed.data;
    if (typeof m.e === "string") {
      if (conn === this.conn && !conn.dead) this.hooks.onEvent(m.e, m.d);
      return;
    }
    if (typeof m.i !== "number") return;
    const pending = conn.pending.get(m.i);
    if (!pending) {
      this.options.logger.debug(
        { event: "LateReplyIgnored", socket: this.options.name, id: m.i },
        "late reply",
      );
      return;
    }
    conn.pending.delete(m.i);
    clearTimeout(pending.timer);
    this.rttMs = now - pending.sentAt;
    const status = m.s ?? 200;
    pending.resolve({
      kind: "response",
      status,
      data: status >= 200 && status < 300 ? m.d : decodeError(m.d),
    });
  }

  private startHeartbeat(conn: Conn): void {
    conn.heartbeat = setInterval(() => {
      if (conn.dead) return;
      if (this.lastFrameAt !== undefined && Date.now() - this.lastFrameAt > this.options.silenceMs) {
        this.kill(conn, `no frame from server for ${this.options.silenceMs} ms`);
        return;
      }
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send("[]");
    }, this.options.heartbeatMs);
  }

  /** Ends a connection once: fails its in-flight requests as lost, then reconnects unless stopped. */
  private kill(conn: Conn, reason: string, reconnect = true): void {
    if (conn.dead) return;
    conn.dead = true;
    if (conn.heartbeat) clearInterval(conn.heartbeat);
    for (const [id, p] of conn.pending) {
      clearTimeout(p.timer);
      p.resolve({ kind: "lost", reason: `${this.options.name} socket dropped before the reply (${reason})` });
      conn.pending.delete(id);
    }
    conn.ws.removeAllListeners("message");
    conn.ws.on("error", () => undefined);
    conn.ws.terminate();
    if (conn !== this.conn || this.stopped) return;
    const wasReady = this.state === "ready";
    if (wasReady)
      this.options.logger.warn(
        { event: "SessionDisconnected", socket: this.options.name, reason },
        `${this.options.name} socket dropped`,
      );
    if (reconnect && wasReady) this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped || this.reconnectTimer) return;
    this.generation++;
    const base = backoffDelay(this.attempt, this.options.reconnectDelaysMs);
    const delay = this.attempt === 0 ? base : jitter(base);
    this.attempt++;
    this.options.logger.debug(
      { event: "ReconnectScheduled", socket: this.options.name, attempt: this.attempt, delayMs: delay },
      `${this.options.name} socket reconnect scheduled`,
    );
    this.setState("reconnecting", reason);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private setState(state: SocketState, detail?: string): void {
    if (this.state === state && detail === undefined) return;
    this.state = state;
    this.hooks.onState(state, detail);
  }
}
