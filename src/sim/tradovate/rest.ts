/**
 * The REST side of the simulator: `/v1/<endpoint>` with a JSON body (GET or POST, the server does not
 * care), Bearer tokens, and the shared request pipeline. 429 replies have an empty body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Router } from "./router";

const MAX_BODY = 1_000_000;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(undefined));
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status, { "content-length": "0" });
    res.end();
    return;
  }
  const text = typeof body === "string" && status >= 400 ? body : JSON.stringify(body);
  const type = typeof body === "string" && status >= 400 ? "text/plain; charset=utf-8" : "application/json";
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function restHandler(router: Router, connectionIdOf: (socket: Socket) => number) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://sim.local");
    if (!url.pathname.startsWith("/v1/")) {
      send(res, 404, `Not found: ${url.pathname}`);
      return;
    }
    const text = await readBody(req);
    if (text === undefined) {
      send(res, 413, "Request body too large");
      return;
    }
    let body: unknown;
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        send(res, 400, "Invalid JSON body");
        return;
      }
    }
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
    const outcome = await router.handle({
      transport: "rest",
      connectionId: connectionIdOf(req.socket),
      rawEndpoint: url.pathname.slice("/v1/".length),
      queryText: url.search.replace(/^\?/, ""),
      body,
      ...(bearer ? { bearer } : {}),
    });
    // A swallowed request holds the HTTP exchange open until the client gives up or the sim stops.
    if (outcome.kind === "reply") send(res, outcome.reply.status, outcome.reply.body);
  };
}
