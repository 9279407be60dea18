/**
 * The webhook sender: every request and its reply is recorded (status, parsed body, timing, error). Each
 * request carries a `user-agent` tag `fault/<key>/<attempt>` that the relay keeps in its raw webhook log,
 * so the auditor can tell which attempt of which logical alert the relay recorded.
 */
import type { Readable } from "node:stream";
import { Agent, request } from "undici";

export interface WebhookRecord {
  seq: number;
  scenario: string;
  /** The logical alert (all re-sends of one alert share it). */
  key: string;
  /** 1 for the first delivery, 2.. for re-sends. */
  attempt: number;
  /** The user-agent sent, as the relay logs it. */
  tag: string;
  startedAt: number;
  endedAt?: number;
  status?: number;
  body?: unknown;
  /** No reply: connection refused or reset, timeout. */
  error?: string;
}

export interface SendOptions {
  contentType?: string;
  headers?: Record<string, string>;
  attempt?: number;
  /** Cancel after this long without a reply (TradingView cancels after 3 s). Default 3000. */
  timeoutMs?: number;
  /** Extra text after the tag in the user-agent (header abuse). */
  userAgentSuffix?: string;
  /** Close the connection after this request (no keep-alive reuse races after a 413). */
  freshConnection?: boolean;
}

export interface TradingViewOptions extends SendOptions {
  /** TradingView re-sends 5 s apart. */
  resendDelayMs?: number;
  /** Up to 3 re-sends. */
  maxResends?: number;
}

export class WebhookClient {
  readonly records: WebhookRecord[] = [];
  private readonly agent = new Agent({ connections: 256, keepAliveTimeout: 4_000, pipelining: 1 });
  private seq = 0;

  constructor(private readonly baseUrl: string) {}

  tagOf(key: string, attempt: number): string {
    return `fault/${key}/${attempt}`;
  }

  async send(
    scenario: string,
    key: string,
    token: string,
    body: string | Uint8Array | Readable,
    o: SendOptions = {},
  ): Promise<WebhookRecord> {
    const attempt = o.attempt ?? 1;
    const tag = this.tagOf(key, attempt);
    const rec: WebhookRecord = { seq: ++this.seq, scenario, key, attempt, tag, startedAt: Date.now() };
    this.records.push(rec);
    try {
      const res = await request(`${this.baseUrl}/webhook/${encodeURIComponent(token)}`, {
        method: "POST",
        dispatcher: this.agent,
        headers: {
          "content-type": o.contentType ?? "application/json",
          "user-agent": `${tag}${o.userAgentSuffix ?? ""}`,
          ...o.headers,
        },
        body,
        ...(o.freshConnection ? { reset: true } : {}),
        headersTimeout: o.timeoutMs ?? 3_000,
        bodyTimeout: o.timeoutMs ?? 3_000,
        signal: AbortSignal.timeout(o.timeoutMs ?? 3_000),
      });
      const text = await res.body.text();
      rec.status = res.statusCode;
      rec.body = parseJson(text);
    } catch (error) {
      rec.error = errorText(error);
    }
    rec.endedAt = Date.now();
    return rec;
  }

  /** Sends like TradingView: re-sends the same body on 500-599 except 504, `resendDelayMs` apart. */
  async sendLikeTradingView(
    scenario: string,
    key: string,
    token: string,
    body: string,
    o: TradingViewOptions = {},
  ): Promise<WebhookRecord[]> {
    const out: WebhookRecord[] = [];
    const resends = o.maxResends ?? 3;
    for (let attempt = 1; attempt <= resends + 1; attempt++) {
      const rec = await this.send(scenario, key, token, body, { ...o, attempt });
      out.push(rec);
      const s = rec.status;
      if (s === undefined || s < 500 || s > 599 || s === 504) break;
      if (attempt <= resends) await new Promise((r) => setTimeout(r, o.resendDelayMs ?? 5_000));
    }
    return out;
  }

  forScenario(scenario: string): WebhookRecord[] {
    return this.records.filter((r) => r.scenario === scenario);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function errorText(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : typeof e?.name === "string" ? e.name : "Error";
  return `${code}: ${typeof e?.message === "string" ? e.message : String(error)}`;
}

/** `{status, signalId, traders}` of a relay reply, when it has them. */
export function replyFields(body: unknown): {
  status?: string;
  signalId?: string;
  traders?: number;
  code?: string;
} {
  if (typeof body !== "object" || body === null) return {};
  const b = body as Record<string, unknown>;
  const error = typeof b.error === "object" && b.error !== null ? (b.error as Record<string, unknown>) : {};
  return {
    ...(typeof b.status === "string" ? { status: b.status } : {}),
    ...(typeof b.signalId === "string" ? { signalId: b.signalId } : {}),
    ...(typeof b.traders === "number" ? { traders: b.traders } : {}),
    ...(typeof error.code === "string" ? { code: error.code } : {}),
  };
}
