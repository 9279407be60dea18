/**
 * The relay's HTTP server: the Hono app on Node's http server, hardened against clients that hold sockets.
 *
 * - Headers must arrive within `headersTimeoutMs`, the whole request (headers and body) within
 *   `headersTimeoutMs + bodyTimeoutMs`; otherwise Node answers 408 and destroys the socket. Node checks
 *   these every `connectionsCheckingInterval` (30 s by default, with a 300 s request timeout: a trickled
 *   body held its socket 5 minutes); here at most every second. A request whose body has arrived is never
 *   cut while the relay works on it (waiting for the database, say): the timeouts cover receiving only.
 * - Idle keep-alive sockets close after `keepAliveTimeoutMs`; a socket serves `maxRequestsPerSocket`
 *   requests, then its last reply says `Connection: close` (0 = no limit).
 * - Open connections are capped in total (Node's `maxConnections`, lowered so that the connections, the
 *   descriptors already open and `fdReserve` stay under the soft RLIMIT_NOFILE) and per peer address
 *   (ConnectionGate); excess connections are closed as soon as they are accepted, before any parsing.
 *
 * @example
 *   const server = await startRelayServer({ fetch: app.fetch, port: 3000, hostname: "0.0.0.0",
 *     limits: httpLimits(config), logger });
 *   await server.close();
 */
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import { ConnectionGate } from "./connection-gate";
import { connectionBudget, type FdInfo, readFdInfo } from "./fd-budget";

export interface HttpLimits {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0 = no limit. */
  maxRequestsPerSocket: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Descriptors kept free for everything but HTTP (broker sockets, the pool, logs). */
  fdReserve: number;
}

export function httpLimits(config: Config): HttpLimits {
  return {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: config.HTTP_BODY_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxRequestsPerSocket: config.HTTP_MAX_REQUESTS_PER_SOCKET,
    maxConnections: config.HTTP_MAX_CONNECTIONS,
    maxConnectionsPerIp: config.HTTP_MAX_CONNECTIONS_PER_IP,
    fdReserve: config.HTTP_FD_RESERVE,
  };
}

type FetchCallback = Parameters<typeof createAdaptorServer>[0]["fetch"];

export interface RelayServerOptions {
  fetch: FetchCallback;
  port: number;
  hostname: string;
  limits: HttpLimits;
  logger: Logger;
  metrics?: Metrics;
  /** Peers the per-address cap does not apply to (see sharedPeer); none by default. */
  exempt?: (address: string) => boolean;
  /** Descriptor limits and usage; read from /proc by default, null when unknown. */
  fd?: FdInfo | null;
}

export interface RelayServer {
  server: Server;
  port: number;
  /** The total connection cap in force (the configured one, or lower to keep the descriptor reserve). */
  maxConnections: number;
  gate: ConnectionGate;
  /** Stops accepting and closes idle connections; resolves once every connection has ended. */
  close(): Promise<void>;
}

/** Resolves once the server listens; rejects when it cannot (port taken, ...). */
export async function startRelayServer(o: RelayServerOptions): Promise<RelayServer> {
  const l = o.limits;
  const requestTimeout = l.headersTimeoutMs + l.bodyTimeoutMs;
  const server = createAdaptorServer({
    fetch: o.fetch,
    hostname: o.hostname,
    serverOptions: {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      // How often Node looks for requests past their timeouts: the cut happens at most this much late.
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1_000, Math.floor(Math.min(l.headersTimeoutMs, l.bodyTimeoutMs) / 4)),
      ),
    },
  }) as Server;
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = requestTimeout;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;

  const fd = o.fd === undefined ? readFdInfo() : (o.fd ?? undefined);
  const budget = connectionBudget(l.maxConnections, l.fdReserve, fd);
  server.maxConnections = budget.maxConnections;

  const gate = new ConnectionGate({
    maxPerIp: l.maxConnectionsPerIp,
    exempt: o.exempt ?? (() => false),
    logger: o.logger,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  // The gate runs before Node's own connection listener (which sets up the HTTP parser) and keeps a
  // refused socket from ever reaching it.
  const parsers = server.listeners("connection") as ((socket: Socket) => void)[];
  if (parsers.length === 0)
    throw new Error("the HTTP server has no connection listener to put the gate before");
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    if (!gate.admit(socket)) return;
    for (const listener of parsers) listener.call(server, socket);
  });
  // Over the total cap Node closes the connection before it becomes a socket and tells us here.
  server.on("drop", (data) => gate.refused(data?.remoteAddress, "total"));

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once("error", failed);
    server.listen(o.port, o.hostname, () => {
      server.off("error", failed);
      resolve();
    });
  });
  // After listening, an accept error (EMFILE when the process is out of descriptors anyway) is logged,
  // never an unhandled 'error' that would stop the relay.
  server.on("error", (error) =>
    o.logger.error({ event: "HttpServerError", error: String(error) }, "the HTTP server reported an error"),
  );
  const port = (server.address() as AddressInfo).port;

  const fields = {
    event: "HttpServerLimits",
    headersTimeoutMs: l.headersTimeoutMs,
    requestTimeoutMs: requestTimeout,
    keepAliveTimeoutMs: l.keepAliveTimeoutMs,
    maxRequestsPerSocket: l.maxRequestsPerSocket,
    maxConnections: budget.maxConnections,
    maxConnectionsConfigured: l.maxConnections,
    maxConnectionsPerIp: l.maxConnectionsPerIp,
    limitedBy: budget.limitedBy,
    fdReserve: l.fdReserve,
    ...(fd
      ? {
          fdSoftLimit: Number.isFinite(fd.soft) ? fd.soft : "unlimited",
          fdHardLimit: Number.isFinite(fd.hard) ? fd.hard : "unlimited",
          fdInUse: fd.inUse,
        }
      : { fdSoftLimit: "unknown" }),
  };
  if (budget.limitedBy === "config") {
    o.logger.info(fields, "HTTP limits");
  } else {
    const limit = `the open file limit (${fd?.soft}, ${fd?.inUse} in use)`;
    o.logger.warn(
      fields,
      budget.limitedBy === "fd_limit"
        ? `${limit} leaves room for ${budget.maxConnections} HTTP connections, not ${l.maxConnections}, with ${l.fdReserve} descriptors kept for broker sockets and the database; raise the hard limit (ulimit -Hn, --ulimit nofile=)`
        : `${limit} cannot keep ${l.fdReserve} descriptors in reserve: HTTP gets ${budget.maxConnections} connections, half of the free descriptors; raise the hard limit (ulimit -Hn, --ulimit nofile=)`,
    );
  }

  return {
    server,
    port,
    maxConnections: budget.maxConnections,
    gate,
    close: () =>
      new Promise<void>((resolve) => {
        gate.stop();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
