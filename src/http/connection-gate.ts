/**
 * Open connections per source address: a connection over the per-address cap is closed the moment it is
 * accepted, before a byte of it is parsed. Refusals (these and the server's total cap) are counted and
 * logged as one aggregated `ConnectionsRefused` line at most once per second.
 *
 * The cap applies to the socket's peer address (an IPv6 peer's /64: one host gets a whole /64). Peers that
 * carry many clients' connections are exempt: TRUSTED_PROXIES and the loopback addresses 127.0.0.1 and ::1
 * (where a local proxy or tunnel connects from); for them only the total cap holds.
 */
import { isIP, type Socket } from "node:net";
import { type AddressSet, normalizeAddress } from "../intake/client-ip";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";

export type RefusalReason = "per_ip" | "total";

export interface ConnectionGateOptions {
  maxPerIp: number;
  /** Peers the per-address cap does not apply to. */
  exempt: (address: string) => boolean;
  logger: Logger;
  metrics?: Metrics;
  /** How often refusals are logged (aggregated). Default 1000 ms. */
  logIntervalMs?: number;
}

const LOOPBACK = new Set(["127.0.0.1", "::1"]);

/** Loopback (127.0.0.1, ::1) or a trusted proxy: many clients behind one address. */
export function sharedPeer(trustedProxies: AddressSet): (address: string) => boolean {
  return (address) => LOOPBACK.has(address) || (trustedProxies.size > 0 && trustedProxies.has(address));
}

/** What the per-address cap counts under: the IPv4 address, or an IPv6 address's /64. */
export function capKey(address: string): string {
  const a = normalizeAddress(address);
  if (isIP(a) !== 6) return a;
  const [head = "", tail] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups =
    tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g || "0", 16) || 0).toString(16))
    .join(":")}::/64`;
}

export class ConnectionGate {
  private readonly perIp = new Map<string, number>();
  private readonly pending = new Map<string, { per_ip: number; total: number }>();
  private timer: NodeJS.Timeout | undefined;
  private admitted = 0;
  /** Refusals since start, by reason. */
  readonly refusedTotal = { per_ip: 0, total: 0 };

  constructor(private readonly o: ConnectionGateOptions) {}

  /** Connections admitted and still open. */
  get open(): number {
    return this.admitted;
  }

  /** Open connections counted against one address's cap. */
  openFrom(address: string): number {
    return this.perIp.get(capKey(address)) ?? 0;
  }

  /** Admits the socket (and tracks it until it closes) or closes it at once; returns whether admitted. */
  admit(socket: Socket): boolean {
    const peer = socket.remoteAddress;
    if (peer === undefined) {
      // getpeername failed: the peer is already gone.
      socket.destroy();
      return false;
    }
    const address = normalizeAddress(peer);
    const capped = !this.o.exempt(address);
    const key = capKey(address);
    if (capped) {
      const n = this.perIp.get(key) ?? 0;
      if (n >= this.o.maxPerIp) {
        socket.destroy();
        this.refused(key, "per_ip");
        return false;
      }
      this.perIp.set(key, n + 1);
    }
    this.admitted++;
    this.o.metrics?.httpConnections.inc();
    socket.once("close", () => {
      this.admitted--;
      this.o.metrics?.httpConnections.dec();
      if (!capped) return;
      const left = (this.perIp.get(key) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(key);
      else this.perIp.set(key, left);
    });
    return true;
  }

  /** Counts a refused connection; logged with the others of the same second. */
  refused(address: string | undefined, reason: RefusalReason): void {
    this.refusedTotal[reason]++;
    this.o.metrics?.httpConnectionsRefused.inc({ reason });
    const key = address ? normalizeAddress(address) : "unknown";
    const p = this.pending.get(key) ?? { per_ip: 0, total: 0 };
    p[reason]++;
    this.pending.set(key, p);
    this.timer ??= setTimeout(() => this.flush(), this.o.logIntervalMs ?? 1_000).unref();
  }

  /** Logs the refusals not logged yet (one line), and stops the timer. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    let perIp = 0;
    let total = 0;
    const top: { address: string; refused: number }[] = [];
    for (const [address, p] of this.pending) {
      perIp += p.per_ip;
      total += p.total;
      top.push({ address, refused: p.per_ip + p.total });
    }
    top.sort((a, b) => b.refused - a.refused);
    const addresses = this.pending.size;
    this.pending.clear();
    this.o.logger.warn(
      {
        event: "ConnectionsRefused",
        refused: perIp + total,
        perIp,
        total,
        addresses,
        top: top.slice(0, 10),
        open: this.admitted,
      },
      `${perIp + total} connections closed at once: over the per-address cap (${perIp}) or the total cap (${total})`,
    );
  }

  stop(): void {
    this.flush();
  }
}
