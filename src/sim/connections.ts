/**
 * Numbers the TCP connections a simulator's HTTP server accepts, so a test can tell which requests
 * travelled on one connection (a pool shared by several logins) and whether the client closed it.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

export class ConnectionLog {
  private next = 1;
  private readonly ids = new WeakMap<Socket, number>();
  private readonly open = new Set<number>();

  attach(server: Server): void {
    server.on("connection", (socket: Socket) => {
      const id = this.next++;
      this.ids.set(socket, id);
      this.open.add(id);
      socket.once("close", () => this.open.delete(id));
    });
  }

  /** The number of the connection a request came on (0 if it was never seen). */
  idOf(socket: Socket): number {
    return this.ids.get(socket) ?? 0;
  }

  isOpen(id: number): boolean {
    return this.open.has(id);
  }
}
