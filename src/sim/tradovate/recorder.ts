/**
 * What the simulator saw, for tests: every request (REST and WS), every connection, every order placed
 * (with its clOrdId and isAutomated flag) and every revoked session. Secrets in bodies are masked.
 */
import type {
  RecordedConnection,
  RecordedOrder,
  RecordedRequest,
  RecordedRevocation,
  RequestOutcome,
  SocketKind,
  Transport,
} from "./types";

const SECRET_FIELDS = new Set(["password", "sec", "accessToken", "mdAccessToken", "p-ticket"]);

function mask(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(mask);
  if (typeof body !== "object" || body === null) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) out[k] = SECRET_FIELDS.has(k) ? "***" : mask(v);
  return out;
}

export interface RequestFilter {
  endpoint?: string;
  transport?: Transport;
  user?: string;
  outcome?: RequestOutcome;
}

export class Recorder {
  private readonly requestLog: RecordedRequest[] = [];
  private readonly connectionLog = new Map<number, RecordedConnection>();
  private readonly orderLog: RecordedOrder[] = [];
  private readonly revocationLog: RecordedRevocation[] = [];
  private seq = 1;

  request(entry: Omit<RecordedRequest, "seq" | "outcome" | "body"> & { body: unknown }): RecordedRequest {
    const row: RecordedRequest = { ...entry, seq: this.seq++, body: mask(entry.body), outcome: "pending" };
    this.requestLog.push(row);
    return row;
  }

  connection(id: number, kind: SocketKind, openedAt: number): RecordedConnection {
    const row: RecordedConnection = { id, kind, openedAt, heartbeats: 0 };
    this.connectionLog.set(id, row);
    return row;
  }

  order(row: RecordedOrder): void {
    this.orderLog.push(row);
  }

  revocation(row: RecordedRevocation): void {
    this.revocationLog.push(row);
  }

  requests(filter: RequestFilter = {}): RecordedRequest[] {
    const endpoint = filter.endpoint?.replace(/^\//, "").toLowerCase();
    return this.requestLog.filter(
      (r) =>
        (endpoint === undefined || r.endpoint.toLowerCase() === endpoint) &&
        (filter.transport === undefined || r.transport === filter.transport) &&
        (filter.user === undefined || r.user === filter.user) &&
        (filter.outcome === undefined || r.outcome === filter.outcome),
    );
  }

  connections(kind?: SocketKind): RecordedConnection[] {
    return [...this.connectionLog.values()].filter((c) => kind === undefined || c.kind === kind);
  }

  orders(): RecordedOrder[] {
    return [...this.orderLog];
  }

  revocations(): RecordedRevocation[] {
    return [...this.revocationLog];
  }

  /** clOrdIds that reached the venue more than once (must be empty in every test). */
  duplicateClOrdIds(): string[] {
    const seen = new Map<string, number>();
    for (const o of this.orderLog)
      if (o.clOrdId !== undefined) seen.set(o.clOrdId, (seen.get(o.clOrdId) ?? 0) + 1);
    return [...seen.entries()].filter(([, n]) => n > 1).map(([id]) => id);
  }

  clear(): void {
    this.requestLog.length = 0;
    this.orderLog.length = 0;
    this.revocationLog.length = 0;
  }
}
