/**
 * The SignalR hubs of the simulator over raw WebSockets: `/hubs/user` and `/hubs/market`, token in
 * `?access_token=` (or the bearer header the Node SignalR client sends), JSON hub protocol with the
 * handshake, invocations answered by completions, pings both ways and close messages.
 *
 * Subscriptions belong to one socket: a reconnect starts with none, and nothing missed is replayed.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { BookEvent } from "../book";
import type { EventForm } from "../options";
import { bearer } from "../rest/server";
import type { SimState } from "../state";
import { asInvocation, frame, MessageType, splitFrames } from "./protocol";

type Hub = "user" | "market";

interface Connection {
  ws: WebSocket;
  hub: Hub;
  user: string;
  handshaken: boolean;
  buffer: string;
  accounts: boolean;
  orders: Set<number>;
  positions: Set<number>;
  trades: Set<number>;
  quotes: Set<string>;
  marketTrades: Set<string>;
  depth: Set<string>;
}

const USER_METHODS: Record<string, "orders" | "positions" | "trades"> = {
  SubscribeOrders: "orders",
  SubscribePositions: "positions",
  SubscribeTrades: "trades",
};
const MARKET_METHODS: Record<string, "quotes" | "marketTrades" | "depth"> = {
  SubscribeContractQuotes: "quotes",
  SubscribeContractTrades: "marketTrades",
  SubscribeContractMarketDepth: "depth",
};

export class HubServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly connections = new Set<Connection>();
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly state: SimState,
    pingMs: number,
    private readonly form: () => EventForm,
    /** Called when a market subscriber should get the current full quote. */
    private readonly snapshot: (contractId: string) => unknown,
  ) {
    this.pinger = setInterval(() => {
      for (const c of this.connections) if (c.handshaken) this.send(c, { type: MessageType.Ping });
    }, pingMs);
    this.pinger.unref();
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    const hub =
      url.pathname === "/hubs/user" ? "user" : url.pathname === "/hubs/market" ? "market" : undefined;
    const user = this.state.tokens.verify(url.searchParams.get("access_token") ?? bearer(req));
    const extensions = req.headers["sec-websocket-extensions"];
    this.state.recorder.upgrades.push({
      hub: hub ?? url.pathname,
      ...(user ? { user } : {}),
      ...(extensions ? { extensions: String(extensions) } : {}),
    });
    if (!hub || !user) {
      socket.end(`HTTP/1.1 ${hub ? "401 Unauthorized" : "404 Not Found"}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, hub, user));
  }

  /** Publishes a user-hub event to the sockets subscribed to its account. */
  publishUser(event: BookEvent): void {
    const target = {
      order: "GatewayUserOrder",
      trade: "GatewayUserTrade",
      position: "GatewayUserPosition",
      account: "GatewayUserAccount",
    }[event.kind];
    const action = event.kind === "trade" ? 0 : event.kind === "position" && event.closed ? 2 : 1;
    const data = event.payload;
    const form = this.form();
    const argument = form === "bare" ? data : form === "array" ? [{ action, data }] : { action, data };
    for (const c of this.connections) {
      if (c.hub !== "user" || !c.handshaken) continue;
      const subscribed =
        event.kind === "account"
          ? c.accounts && this.owns(c.user, event.accountId)
          : c[event.kind === "order" ? "orders" : event.kind === "trade" ? "trades" : "positions"].has(
              event.accountId,
            );
      if (subscribed) this.send(c, { type: MessageType.Invocation, target, arguments: [argument] });
    }
  }

  publishMarket(kind: "quotes" | "marketTrades" | "depth", contractId: string, data: unknown): void {
    const target = { quotes: "GatewayQuote", marketTrades: "GatewayTrade", depth: "GatewayDepth" }[kind];
    for (const c of this.connections) {
      if (c.hub === "market" && c.handshaken && c[kind].has(contractId))
        this.send(c, { type: MessageType.Invocation, target, arguments: [contractId, data] });
    }
  }

  /** Kills every hub socket without a close message, like a network drop. */
  drop(): void {
    for (const c of this.connections) c.ws.terminate();
    this.connections.clear();
  }

  close(): void {
    clearInterval(this.pinger);
    for (const c of this.connections) {
      this.send(c, { type: MessageType.Close, error: null });
      c.ws.terminate();
    }
    this.connections.clear();
    this.wss.close();
  }

  connectionCount(hub?: Hub): number {
    return [...this.connections].filter((c) => hub === undefined || c.hub === hub).length;
  }

  private owns(userName: string, accountId: number): boolean {
    return this.state.account(userName, accountId) !== undefined;
  }

  private accept(ws: WebSocket, hub: Hub, user: string): void {
    const c: Connection = {
      ws,
      hub,
      user,
      handshaken: false,
      buffer: "",
      accounts: false,
      orders: new Set(),
      positions: new Set(),
      trades: new Set(),
      quotes: new Set(),
      marketTrades: new Set(),
      depth: new Set(),
    };
    this.connections.add(c);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      c.buffer += data.toString();
      const { messages, rest } = splitFrames(c.buffer);
      c.buffer = rest;
      for (const text of messages) this.receive(c, text);
    });
    ws.on("close", () => this.connections.delete(c));
    ws.on("error", () => this.connections.delete(c));
  }

  private receive(c: Connection, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      c.ws.close(1003, "invalid JSON");
      return;
    }
    if (!c.handshaken) {
      const m = message as { protocol?: unknown; version?: unknown };
      if (m.protocol !== "json" || m.version !== 1) {
        c.ws.send(frame({ error: `Requested protocol '${String(m.protocol)}' is not available.` }));
        c.ws.close();
        return;
      }
      c.handshaken = true;
      c.ws.send(frame({}));
      return;
    }
    const type = (message as { type?: unknown }).type;
    if (type === MessageType.Ping) return;
    if (type === MessageType.Close) {
      c.ws.close();
      return;
    }
    const invocation = asInvocation(message);
    if (!invocation) return;
    this.state.recorder.invocations.push({
      hub: c.hub,
      user: c.user,
      target: invocation.target,
      arguments: invocation.arguments,
      at: this.state.now(),
    });
    const error = this.invoke(c, invocation.target, invocation.arguments);
    if (invocation.invocationId !== undefined) {
      this.send(c, {
        type: MessageType.Completion,
        invocationId: invocation.invocationId,
        ...(error ? { error } : { result: null }),
      });
    }
  }

  /** Runs a hub method; returns an error text for the completion, if any. */
  private invoke(c: Connection, target: string, args: unknown[]): string | undefined {
    const unsubscribe = target.startsWith("Unsubscribe");
    const method = unsubscribe ? `Subscribe${target.slice("Unsubscribe".length)}` : target;
    if (c.hub === "user") {
      if (method === "SubscribeAccounts") {
        c.accounts = !unsubscribe;
        return undefined;
      }
      const key = USER_METHODS[method];
      if (!key) return `Unknown hub method '${target}'`;
      const accountId = args[0];
      if (typeof accountId !== "number" || !this.owns(c.user, accountId))
        return `Account ${String(accountId)} not found.`;
      const set = c[key];
      if (unsubscribe) set.delete(accountId);
      else set.add(accountId);
      return undefined;
    }
    const key = MARKET_METHODS[method];
    if (!key) return `Unknown hub method '${target}'`;
    const contractId = args[0];
    if (typeof contractId !== "string" || !this.state.contracts.get(contractId))
      return `Contract ${String(contractId)} not found.`;
    if (unsubscribe) c[key].delete(contractId);
    else {
      c[key].add(contractId);
      const quote = key === "quotes" ? this.snapshot(contractId) : undefined;
      if (quote)
        this.send(c, {
          type: MessageType.Invocation,
          target: "GatewayQuote",
          arguments: [contractId, quote],
        });
    }
    return undefined;
  }

  private send(c: Connection, message: unknown): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(frame(message));
  }
}
