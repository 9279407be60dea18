/**
 * A TCP forwarder between the relay and Postgres (or a broker simulator) that tests can cut, to lose the
 * database or the broker on purpose. Cut, it refuses connections, or, given an HTTP status, answers every
 * request with it like a load balancer or ingress whose backend is gone. Frozen, it holds every byte in
 * both directions (connections stay open, nothing arrives) until restored: a database that hangs.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private down = false;
  private frozen = false;
  /** Open (client, upstream) pairs, to stop and start forwarding between them. */
  private readonly pairs = new Set<[Socket, Socket]>();
  private answer: number | undefined;
  /** Connections turned away (refused or answered) while cut, to wait for a client's retries. */
  turnedAway = 0;
  /** Request lines answered while cut (`GET /v1/websocket HTTP/1.1`). */
  readonly answered: string[] = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.down) {
        this.turnedAway++;
        if (this.answer === undefined) client.destroy();
        else this.answerWith(client, this.answer);
        return;
      }
      const upstream = tcpConnect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      for (const s of pair) {
        this.sockets.add(s);
        s.on("close", () => {
          this.sockets.delete(s);
          this.pairs.delete(pair);
        });
        s.on("error", () => s.destroy());
      }
      this.pairs.add(pair);
      if (this.frozen) {
        client.pause();
        upstream.pause();
      } else forward(pair);
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    const a = this.server.address();
    this.port = typeof a === "object" && a ? a.port : 0;
    return this.port;
  }

  /** Drops every connection and refuses new ones (or answers them with `answer`) until `restore`. */
  cut(options: { answer?: number } = {}): void {
    this.down = true;
    this.answer = options.answer;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
    this.answer = undefined;
    if (!this.frozen) return;
    this.frozen = false;
    for (const pair of this.pairs) forward(pair);
  }

  /** Holds every byte in both directions, connections left open, until `restore`. */
  freeze(): void {
    this.frozen = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** One HTTP reply with an empty body per request head, then the connection is closed. */
  private answerWith(client: Socket, status: number): void {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => client.destroy());
    let head = "";
    client.on("data", (chunk) => {
      if (head.includes("\r\n\r\n")) return;
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      this.answered.push(head.slice(0, head.indexOf("\r\n")));
      client.end(`HTTP/1.1 ${status} Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    });
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function forward([client, upstream]: [Socket, Socket]): void {
  client.pipe(upstream);
  upstream.pipe(client);
}

/** The same database URL, routed through the proxy. */
export function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}
