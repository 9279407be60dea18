/**
 * The REST side of the simulator: POST + JSON on every endpoint (GET /api/Status/ping excepted), the
 * `{success,errorCode,errorMessage,...}` envelope with HTTP 200 for business failures, 401 for a bad or
 * expired token, 429 over the rate limit, 400 ProblemDetails for a malformed body. Fault controls apply
 * here: forced 429s, one-shot rejections, delayed and swallowed replies.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Faults, SlidingWindow } from "../faults";
import type { RecordedRequest } from "../options";
import type { Route, RouteResult, SimState } from "../state";
import { authRoutes } from "./auth";
import { catalogRoutes } from "./catalog";
import { orderRoutes } from "./orders";
import { positionRoutes } from "./positions";

const ROUTES: Record<string, Route> = { ...authRoutes, ...catalogRoutes, ...orderRoutes, ...positionRoutes };
const MAX_BODY = 1_000_000;

export function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
}

function problem(status: number, title: string, errors?: Record<string, string[]>) {
  return {
    type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    title,
    status,
    ...(errors ? { errors } : {}),
    traceId: randomUUID(),
  };
}

export class RestHandler {
  /** Replies held back by `swallowReplies`; destroyed on stop. */
  private readonly swallowed = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly state: SimState,
    private readonly faults: Faults,
    private readonly limiter: SlidingWindow,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => this.dispatch(req, res, Buffer.concat(chunks).toString("utf8")));
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const res of this.swallowed) res.socket?.destroy();
    this.swallowed.clear();
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, text: string) {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    let body: unknown;
    let malformed = false;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      malformed = true;
      body = text;
    }
    const token = bearer(req);
    const user = this.state.tokens.verify(token);
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path,
      body,
      ...(user ? { user } : {}),
      at: this.state.now(),
      status: 0,
      connection: this.state.connections.idOf(req.socket),
    };
    this.state.recorder.requests.push(record);
    const send = (status: number, payload?: unknown) => {
      record.status = status;
      res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };

    if (req.method === "GET" && path === "/api/Status/ping") return send(200, "pong");
    if (req.method === "POST" && /^\/hubs\/(user|market)\/negotiate$/.test(path)) {
      const id = randomUUID();
      return send(200, {
        negotiateVersion: 1,
        connectionId: id,
        connectionToken: id,
        availableTransports: [{ transport: "WebSockets", transferFormats: ["Text", "Binary"] }],
      });
    }
    const route = ROUTES[path];
    if (!route) return send(404, problem(404, "Not Found"));
    if (req.method !== "POST") return send(405, problem(405, "Method Not Allowed"));

    const loginName =
      typeof body === "object" && body !== null && "userName" in body ? String(body.userName) : undefined;
    const limitKey = user ?? loginName ?? req.socket.remoteAddress ?? "anonymous";
    if (this.faults.takeForced429() || !this.limiter.allow(limitKey)) return send(429);
    if (route.auth && !user) {
      record.status = 401;
      res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' });
      res.end();
      return;
    }
    const parsed = malformed ? undefined : route.schema.safeParse(body ?? {});
    if (!parsed?.success) {
      const errors: Record<string, string[]> = {};
      for (const issue of parsed?.error.issues ?? [{ path: ["$"], message: "The JSON value is invalid." }])
        errors[issue.path.join(".") || "$"] = [issue.message];
      return send(400, problem(400, "One or more validation errors occurred.", errors));
    }
    const rejection = this.faults.takeRejection(path);
    let result: RouteResult;
    if (rejection) result = { errorCode: rejection.errorCode, errorMessage: rejection.errorMessage };
    else result = route.handle(this.state, user, parsed.data);
    const reply = () => {
      if ("problem" in result) return send(result.problem, problem(result.problem, result.title));
      send(200, {
        ...result.payload,
        success: result.errorCode === 0,
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
      });
    };
    if (this.faults.takeSwallow(path)) {
      record.swallowed = true;
      this.swallowed.add(res);
      res.on("close", () => this.swallowed.delete(res));
      return;
    }
    const delay = this.faults.delayFor(path);
    if (delay <= 0) return reply();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.destroyed) reply();
    }, delay);
    this.timers.add(timer);
  }
}
