/**
 * A TCP forwarder between the relay and PostgreSQL that the harness cuts to lose the database on purpose.
 * Unlike a bare pipe, the two sides of a connection live and die together (an error or close on one
 * destroys the other), so a cut never leaves a half-open connection behind that would look like a
 * database hang to the relay.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export class DbProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private down = false;
  private frozen = false;
  port = 0;
  /** Connections accepted while up, and refused while cut. */
  readonly stats = { accepted: 0, refused: 0, cuts: 0, freezes: 0 };

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      if (this.down) {
        this.stats.refused++;
        client.destroy();
        return;
      }
      this.stats.accepted++;
      const upstream = tcpConnect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const s of pair) {
        s.setNoDelay(true);
        s.on("error", end);
        s.on("close", end);
      }
      if (this.frozen) {
        client.pause();
        upstream.pause();
      } else flow(pair);
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const a = server.address();
    this.port = typeof a === "object" && a ? a.port : 0;
    return this.port;
  }

  /** Drops every connection and refuses new ones until `restore`. */
  cut(): void {
    this.down = true;
    this.stats.cuts++;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.down = false;
  }

  /**
   * Stalls every connection, open and new: nothing flows either way and nothing is closed, until `thaw`.
   * A database that hangs (a lock, a full disk, a stalled network) rather than one that goes away.
   */
  freeze(): void {
    this.frozen = true;
    this.stats.freezes++;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  /** Everything held by `freeze` flows again, in order. */
  thaw(): void {
    this.frozen = false;
    for (const pair of this.pairs) flow(pair);
  }

  get open(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

function flow([a, b]: [Socket, Socket]): void {
  a.pipe(b);
  b.pipe(a);
}

/** The same database URL, routed through the proxy. */
export function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}
