/**
 * A TCP forwarder between the relay and one broker simulator, so the harness can make the broker
 * unreachable and swap the simulator behind it. The relay only ever knows the proxy's port.
 *
 * - `cut()`: the broker is down. Every open connection is dropped and the listening socket is closed, so
 *   new connections are refused (ECONNREFUSED, what the relay sees when a broker host is down).
 * - `restore()`: listens again on the same port.
 * - `retarget(port)`: later connections go to another simulator (a restarted one); `dropAll()` ends the
 *   ones still open to the old one.
 *
 * As in db-proxy.ts, the two sides of a connection live and die together.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export class BrokerProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private down = false;
  port = 0;
  readonly stats = { accepted: 0, cuts: 0, dropped: 0 };

  constructor(
    private targetPort: number,
    private readonly targetHost = "127.0.0.1",
  ) {}

  async start(): Promise<number> {
    await this.listen(0);
    return this.port;
  }

  /** Later connections go to this port. */
  retarget(port: number): void {
    this.targetPort = port;
  }

  get target(): number {
    return this.targetPort;
  }

  get isDown(): boolean {
    return this.down;
  }

  get open(): number {
    return this.pairs.size;
  }

  /** Ends every open connection (the listener stays). */
  dropAll(): number {
    const n = this.pairs.size;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    this.stats.dropped += n;
    return n;
  }

  /** Down: open connections dropped, new ones refused until `restore`. */
  async cut(): Promise<void> {
    if (this.down) return;
    this.down = true;
    this.stats.cuts++;
    const server = this.server;
    this.server = undefined;
    this.dropAll();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Up again, on the same port. */
  async restore(): Promise<void> {
    if (!this.down) return;
    // Another process could take the port in between: retry a few times before giving up.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.listen(this.port);
        this.down = false;
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    await this.cut();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => this.accept(client));
    const listening = new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return listening.then(() => {
      this.server = server;
      const a = server.address();
      this.port = typeof a === "object" && a ? a.port : 0;
    });
  }

  private accept(client: Socket): void {
    if (this.down) {
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
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
