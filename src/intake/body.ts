/**
 * Reads a request body up to a byte limit without buffering more than the limit, and decodes it as UTF-8
 * (invalid bytes become U+FFFD) so even hostile bodies can be logged and answered.
 */
export type BodyRead =
  | { ok: true; text: string; bytes: number }
  /** Over the limit, or `cut`: the sender stopped before the body was complete. */
  | { ok: false; bytes: number; cut?: boolean };

export async function readBody(request: Request, limit: number): Promise<BodyRead> {
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => undefined);
    return { ok: false, bytes: declared };
  }
  if (!request.body) return { ok: true, text: "", bytes: 0 };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    let next: Awaited<ReturnType<typeof reader.read>>;
    try {
      next = await reader.read();
    } catch {
      return { ok: false, bytes, cut: true };
    }
    const { done, value } = next;
    if (done) break;
    bytes += value.byteLength;
    if (bytes > limit) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, bytes };
    }
    chunks.push(value);
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { ok: true, text: decodeBody(all), bytes };
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** UTF-8 as the fetch API decodes it: invalid bytes become U+FFFD, a leading byte-order mark is dropped. */
export function decodeBody(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Text safe to store in Postgres `text` (no NUL), cut to a maximum length. */
export function storable(text: string, max = 65_536): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  return cut.includes("\u0000") ? cut.replaceAll("\u0000", "\uFFFD") : cut;
}
