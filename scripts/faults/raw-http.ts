/**
 * HTTP the way a well-behaved client never sends it, over a raw TCP socket: huge or many headers, bogus
 * content-lengths, bodies trickled slowly or cut short, pipelined requests. Returns the first status line's
 * code and the reply body, or that no reply came.
 */
import { connect } from "node:net";

export type Piece = string | Uint8Array | { pauseMs: number } | { end: true };

export interface RawReply {
  status?: number;
  /** Every status code seen, in order (pipelined requests get several). */
  statuses: number[];
  body: string;
  error?: string;
}

/** Writes the pieces in order (pausing where asked), then reads until the server closes or `timeoutMs`. */
export function rawRequest(port: number, pieces: Piece[], timeoutMs = 10_000): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      // Interim 1xx replies (100 Continue) are not answers.
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)]
        .map((m) => Number(m[1]))
        .filter((code) => code >= 200);
      const final = text.search(/HTTP\/1\.[01] [2-5]\d\d/);
      const rest = final >= 0 ? text.slice(final) : text;
      const split = rest.indexOf("\r\n\r\n");
      resolve({
        ...(statuses[0] !== undefined ? { status: statuses[0] } : {}),
        statuses,
        body: split >= 0 ? rest.slice(split + 4) : "",
        ...(error && statuses.length === 0 ? { error } : {}),
      });
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("end", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    socket.on("error", (e) => finish(`${(e as NodeJS.ErrnoException).code ?? "error"}: ${e.message}`));
    socket.on("connect", async () => {
      for (const p of pieces) {
        if (settled) return;
        if (typeof p === "string" || p instanceof Uint8Array) socket.write(p);
        else if ("pauseMs" in p) await new Promise((r) => setTimeout(r, p.pauseMs));
        else socket.end();
      }
    });
  });
}

/** A request head: method line, headers (in order, repeats allowed), blank line. */
export function head(path: string, headers: [string, string][], version = "HTTP/1.1"): string {
  return `POST ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
}
