/**
 * The SignalR hubs (`/hubs/user`, `/hubs/market`) through @microsoft/signalr, WebSockets only with
 * skipNegotiation, as the gateway's docs prescribe. The token travels as `?access_token=` (read at each
 * (re)connect, so a refreshed token is used) and as the bearer header the Node client adds.
 *
 * Subscriptions do not survive a reconnect and missed events are not replayed: on every reconnect this
 * link invokes its subscriptions again, then calls `onResubscribed` so the session reconciles over REST.
 * The automatic reconnect never gives up; if the connection still closes, it is restarted with back-off
 * (backoff.ts: doubling, at most 30 s apart). An upgrade the gateway answers 401/403 means the token is no
 * longer honoured (it expired while the gateway was out of reach, or the gateway restarted): the link
 * says so through `tokenRefused`, so the next attempt logs in again instead of offering it forever.
 */
import {
  HttpTransportType,
  type HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  type ILogger,
  LogLevel,
} from "@microsoft/signalr";
import WebSocket from "ws";
import type { Logger } from "../../log";
import { backoffDelay } from "../backoff";

export type HubName = "user" | "market";
export type LinkState = "connecting" | "connected" | "reconnecting" | "stopped";

export interface HubLinkOptions {
  name: HubName;
  /** http(s) base; `/hubs/<name>` is appended. */
  rtcUrl: string;
  /** Ensures a valid token (may log in); used before each (re)connect. */
  token: () => Promise<string | undefined>;
  /** The token as of now, for the socket URL. */
  peekToken: () => string | undefined;
  /** The gateway refused the socket upgrade with this token (401/403). */
  tokenRefused: (token: string | undefined) => void;
  logger: Logger;
  reconnectDelaysMs: number[];
  serverTimeoutMs: number;
  keepAliveMs: number;
  connectTimeoutMs: number;
  handlers: Record<string, (...args: unknown[]) => void>;
  onState: (state: LinkState, error?: string) => void;
  /** After subscriptions were re-established on a new socket (not on the first connect). */
  onResubscribed: () => void;
}

/** SignalR's own log lines go to our logger at debug; warnings and errors at warn, URLs stripped of tokens. */
function hubLogger(logger: Logger, name: HubName): ILogger {
  return {
    log(level: LogLevel, message: string) {
      const text = message.replace(/access_token=[^&\s'"]+/g, "access_token=[redacted]");
      if (level >= LogLevel.Warning) logger.warn({ event: "HubLog", hub: name }, text);
      else logger.debug({ event: "HubLog", hub: name }, text);
    },
  };
}

/** ws's words for an upgrade answered with an HTTP status instead of 101. */
const REFUSED_UPGRADE = /Unexpected server response: (401|403)\b/;

/**
 * The WebSocket constructor SignalR gets: a plain `ws` socket with the current token put into the URL at
 * construction (each reconnect), reporting a refused upgrade (SignalR itself only says the socket "failed
 * to connect"). A function that returns the socket, not a subclass per link: a class made per link gave
 * every login its own prototype and object shapes (a few KB each). SignalR reads `OPEN` from it.
 *
 * It does not offer permessage-deflate (ws offers it by default): compression is an optional extension
 * neither SignalR nor the gateway needs, and a server that accepted it would cost every hub socket its
 * own zlib streams (tens of KB each) for small JSON frames.
 */
function tokenSocket(
  peek: () => string | undefined,
  refused: (token: string | undefined) => void,
  handshakeTimeout: number,
): typeof WebSocket {
  function TokenWebSocket(
    address: string | URL,
    protocols?: string | string[],
    options?: WebSocket.ClientOptions,
  ): WebSocket {
    const url = new URL(String(address));
    const token = peek();
    if (token) url.searchParams.set("access_token", token);
    const ws = new WebSocket(url, protocols ?? [], {
      ...options,
      handshakeTimeout,
      perMessageDeflate: false,
    });
    ws.on("error", (error) => {
      if (REFUSED_UPGRADE.test(error.message)) refused(token);
    });
    return ws;
  }
  // `new TokenWebSocket(...)` yields the socket it returns.
  return Object.assign(TokenWebSocket, { OPEN: WebSocket.OPEN }) as unknown as typeof WebSocket;
}

export class HubLink {
  private connection?: HubConnection;
  private readonly subscriptions = new Map<string, { method: string; args: unknown[] }>();
  private restartTimer?: NodeJS.Timeout;
  private restarts = 0;
  private stopped = false;

  constructor(private readonly options: HubLinkOptions) {}

  get connected(): boolean {
    return this.connection?.state === HubConnectionState.Connected;
  }

  /** Connects once; a link already connecting, connected or retrying is left alone. */
  async start(): Promise<void> {
    if (this.connection && !this.stopped) return;
    this.stopped = false;
    await this.connect(false);
  }

  /** Adds a subscription and invokes it now if connected; it is replayed after every reconnect. */
  async subscribe(method: string, ...args: unknown[]): Promise<void> {
    const key = `${method}(${args.map((a) => JSON.stringify(a)).join(",")})`;
    const first = !this.subscriptions.has(key);
    this.subscriptions.set(key, { method, args });
    if (first && this.connected) await this.connection?.invoke(method, ...args);
  }

  hasSubscription(method: string, ...args: unknown[]): boolean {
    return this.subscriptions.has(`${method}(${args.map((a) => JSON.stringify(a)).join(",")})`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.stop();
    this.options.onState("stopped");
  }

  private build(): HubConnection {
    const o = this.options;
    const httpOptions = {
      skipNegotiation: true,
      transport: HttpTransportType.WebSockets,
      accessTokenFactory: async () => (await o.token()) ?? "",
      logger: hubLogger(o.logger, o.name),
      WebSocket: tokenSocket(o.peekToken, o.tokenRefused, o.connectTimeoutMs),
    };
    const connection = new HubConnectionBuilder()
      .withUrl(`${o.rtcUrl}/hubs/${o.name}`, httpOptions)
      .withAutomaticReconnect({
        nextRetryDelayInMilliseconds: (ctx) => this.scheduled(ctx.previousRetryCount),
      })
      .withServerTimeout(o.serverTimeoutMs)
      .withKeepAliveInterval(o.keepAliveMs)
      .configureLogging(hubLogger(o.logger, o.name))
      .build();
    for (const [target, handler] of Object.entries(o.handlers)) connection.on(target, handler);
    connection.onreconnecting((error) => o.onState("reconnecting", error?.message));
    connection.onreconnected(() => void this.resubscribe(connection));
    connection.onclose((error) => {
      if (this.stopped || this.connection !== connection) return;
      o.onState("reconnecting", error?.message ?? "hub connection closed");
      this.scheduleRestart();
    });
    return connection;
  }

  private async connect(restart: boolean): Promise<void> {
    const connection = this.build();
    this.connection = connection;
    this.options.onState("connecting");
    try {
      await connection.start();
    } catch (error) {
      if (this.stopped || this.connection !== connection) return;
      this.options.onState("reconnecting", error instanceof Error ? error.message : String(error));
      this.scheduleRestart();
      return;
    }
    this.restarts = 0;
    await this.resubscribe(connection, !restart);
  }

  private async resubscribe(connection: HubConnection, first = false): Promise<void> {
    try {
      for (const { method, args } of this.subscriptions.values()) await connection.invoke(method, ...args);
    } catch (error) {
      // A failed subscription is as bad as no socket: drop it, the reconnect logic starts over.
      this.options.logger.warn(
        { event: "HubSubscribeFailed", hub: this.options.name, reason: String(error) },
        "ProjectX hub subscription failed",
      );
      if (connection.state === HubConnectionState.Connected) await connection.stop();
      return;
    }
    if (this.stopped || this.connection !== connection) return;
    this.options.onState("connected");
    if (!first) this.options.onResubscribed();
  }

  private scheduleRestart(): void {
    if (this.stopped) return;
    const delay = Math.max(this.scheduled(this.restarts++), 100);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.connect(true), delay);
  }

  /** The pause before reconnect attempt `attempt`, logged so an outage's schedule can be read back. */
  private scheduled(attempt: number): number {
    const delayMs = backoffDelay(attempt, this.options.reconnectDelaysMs);
    this.options.logger.debug(
      { event: "ReconnectScheduled", hub: this.options.name, attempt: attempt + 1, delayMs },
      "ProjectX hub reconnect scheduled",
    );
    return delayMs;
  }
}
