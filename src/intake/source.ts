/**
 * What the intake reads of a webhook request: a few headers and the body, bounded. Served by Node
 * (`@hono/node-server`), both come straight from the IncomingMessage: building a fetch `Request` and a web
 * stream over it just to read a few hundred bytes was the largest cost of an acknowledgment. In-process
 * (`app.request()` in tests) there is no IncomingMessage, and the fetch `Request` is read instead; both
 * give the same text, byte count and outcome (src/intake/body.ts).
 */
import type { IncomingMessage } from "node:http";
import { type BodyRead, decodeBody, readBody } from "./body";

export interface WebhookSource {
  /** A header's value, repeated values joined by ", " (as `Headers.get`); null when absent. */
  header(name: string): string | null;
  /** The body up to `limit` bytes (src/intake/body.ts). */
  body(limit: number): Promise<BodyRead>;
}

export function fromRequest(request: Request): WebhookSource {
  return {
    header: (name) => request.headers.get(name),
    body: (limit) => readBody(request, limit),
  };
}

export function fromIncoming(incoming: IncomingMessage): WebhookSource {
  return {
    header: (name) => incoming.headersDistinct[name]?.join(", ") ?? null,
    body: (limit) => readIncoming(incoming, limit),
  };
}

/**
 * Reads the body from Node's stream. Over the limit it stops reading (the server drains or closes the
 * rest once the reply is sent); a request that ends before its body is complete is `cut`.
 */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = Number(incoming.headersDistinct["content-length"]?.join(", ") ?? "");
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ ok: false, bytes: declared });
  if (incoming.destroyed || incoming.errored) return Promise.resolve({ ok: false, bytes: 0, cut: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const finish = (read: BodyRead) => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onCut);
      incoming.off("close", onCut);
      resolve(read);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > limit) {
        incoming.pause();
        finish({ ok: false, bytes });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, text: decodeBody(Buffer.concat(chunks, bytes)), bytes });
    const onCut = () => finish({ ok: false, bytes, cut: true });
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onCut);
    incoming.on("close", onCut);
  });
}
