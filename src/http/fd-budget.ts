/**
 * File descriptors: how many the HTTP server may hold so that a flood of connections can never take the
 * ones the broker sockets, the database pool and the logs need.
 *
 * Node has no setrlimit, but it needs none: at start-up Node itself raises its soft RLIMIT_NOFILE to the
 * hard limit (node::PlatformInit), so /proc/self/limits already shows the most this process can open
 * without privileges. Raising the hard limit needs CAP_SYS_RESOURCE (the container's `--ulimit nofile=`,
 * systemd's LimitNOFILE=). What is left to do is to size the connection cap below that limit.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface FdInfo {
  /** Soft RLIMIT_NOFILE (Infinity when unlimited). */
  soft: number;
  hard: number;
  /** Descriptors open when the server starts (pool, broker sockets already warmed, logs, ...). */
  inUse: number;
}

/** The process's descriptor limits and usage from /proc (Linux); undefined where /proc is not there. */
export function readFdInfo(): FdInfo | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
    if (!m) return undefined;
    const num = (v: string | undefined) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v));
    const soft = num(m[1]);
    const hard = num(m[2]);
    if (Number.isNaN(soft) || Number.isNaN(hard)) return undefined;
    // Counting the entries opens one more descriptor for the directory itself; it is closed again.
    const inUse = Math.max(0, readdirSync("/proc/self/fd").length - 1);
    return { soft, hard, inUse };
  } catch {
    return undefined;
  }
}

export interface ConnectionBudget {
  /** The cap on open HTTP connections to apply. */
  maxConnections: number;
  /** Why it is what it is: the configured value, or the descriptors left after the reserve. */
  limitedBy: "config" | "fd_limit" | "fd_limit_reserve_cut";
}

/**
 * The total connection cap: the configured one, lowered so that cap + descriptors in use + reserve stays
 * under the soft limit. When even the reserve does not fit, HTTP gets half of the free descriptors and the
 * rest stays for everything else.
 */
export function connectionBudget(
  configured: number,
  reserve: number,
  fd: FdInfo | undefined,
): ConnectionBudget {
  if (!fd || !Number.isFinite(fd.soft)) return { maxConnections: configured, limitedBy: "config" };
  const free = Math.max(0, fd.soft - fd.inUse);
  const afterReserve = free - reserve;
  if (afterReserve >= configured) return { maxConnections: configured, limitedBy: "config" };
  const half = Math.floor(free / 2);
  if (afterReserve >= half) return { maxConnections: Math.max(1, afterReserve), limitedBy: "fd_limit" };
  return { maxConnections: Math.max(1, Math.min(configured, half)), limitedBy: "fd_limit_reserve_cut" };
}
