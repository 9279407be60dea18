/**
 * One undici connection pool per broker origin, shared by every session of the process, and the
 * per-session half that stays apart: which requests are this session's, so its stop can end them.
 *
 * Why shared: each open connection carries its own HTTP parser and socket, so a pool per login cost every
 * idle session its own. A shared pool carries no login state: undici keeps no cookies, and every request
 * brings its own headers (bearer token, signature), built by its session at the moment it is sent, so one
 * login's credentials never ride on another's request. Counted: a session's stop releases its lease, and
 * the last lease of an origin closes its pool; a stop never closes the pool under other sessions.
 *
 * @example
 *   const lease = leasePool("https://api.topstepx.com", { keepAliveTimeout: 30_000, connectTimeoutMs: 5_000 });
 *   const requests = new SessionRequests();
 *   const scope = requests.begin(10_000); // aborted after 10 s, or when the session stops
 *   try { await lease.pool.request({ path, method: "POST", signal: scope.signal }); } finally { scope.end(); }
 *   requests.close(); // aborts this session's requests still in flight
 *   await lease.release();
 */
import { Pool } from "undici";

export interface SharedPoolOptions {
  /** Most connections the origin gets, for every session together; none: as many as requests at once. */
  connections?: number;
  keepAliveTimeout: number;
  connectTimeoutMs: number;
  /** Defaults for requests that do not set their own (undici's headersTimeout / bodyTimeout). */
  headersTimeout?: number;
  bodyTimeout?: number;
}

interface Entry {
  pool: Pool;
  users: number;
}

const pools = new Map<string, Entry>();

const keyOf = (origin: string, o: SharedPoolOptions) =>
  `${origin}|${o.connections ?? ""}|${o.keepAliveTimeout}|${o.connectTimeoutMs}|${o.headersTimeout ?? ""}|${o.bodyTimeout ?? ""}`;

export interface PoolLease {
  readonly pool: Pool;
  /** This session is done with the pool; the last release of an origin closes it. Idempotent. */
  release(): Promise<void>;
}

/** A lease on the shared pool of `origin` (scheme, host and port of a URL), created on first use. */
export function leasePool(origin: string, options: SharedPoolOptions): PoolLease {
  const key = keyOf(new URL(origin).origin, options);
  let entry = pools.get(key);
  if (!entry || entry.pool.destroyed || entry.pool.closed) {
    entry = {
      pool: new Pool(new URL(origin).origin, {
        ...(options.connections !== undefined ? { connections: options.connections } : {}),
        keepAliveTimeout: options.keepAliveTimeout,
        connect: { timeout: options.connectTimeoutMs },
        ...(options.headersTimeout !== undefined ? { headersTimeout: options.headersTimeout } : {}),
        ...(options.bodyTimeout !== undefined ? { bodyTimeout: options.bodyTimeout } : {}),
      }),
      users: 0,
    };
    pools.set(key, entry);
  }
  const held = entry;
  held.users += 1;
  let released = false;
  return {
    pool: held.pool,
    async release() {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      if (pools.get(key) === held) pools.delete(key);
      // destroy, not close: a request the server never answers must not hold the last stop open.
      if (!held.pool.destroyed) await held.pool.destroy();
    },
  };
}

/** The shared pools open now and how many sessions hold each (diagnostics and tests). */
export function sharedPools(): { origin: string; users: number }[] {
  return [...pools].map(([key, e]) => ({ origin: key.slice(0, key.indexOf("|")), users: e.users }));
}

/** One request's abort signal: fires at its deadline or when its session stops. */
export interface RequestScope {
  readonly signal: AbortSignal;
  /** The session stopped while the request was in flight (not its deadline). */
  readonly stopped: () => boolean;
  /** The request is over (answered or failed): forget it. */
  end(): void;
}

/**
 * The requests one session has in flight on a shared pool. Destroying the pool would end them, but it
 * also belongs to other sessions: a stopping session aborts its own requests instead.
 */
export class SessionRequests {
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  begin(timeoutMs: number): RequestScope {
    const controller = new AbortController();
    if (this.closed) controller.abort();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    this.inFlight.add(controller);
    const closed = () => this.closed;
    return {
      signal: controller.signal,
      stopped: closed,
      end: () => {
        clearTimeout(timer);
        this.inFlight.delete(controller);
      },
    };
  }

  /** Aborts every request still in flight; later ones are aborted at once. */
  close(): void {
    this.closed = true;
    for (const c of this.inFlight) c.abort();
    this.inFlight.clear();
  }
}
