/**
 * The console does nothing the API cannot: every read and every change goes through the admin API's own
 * routes, in-process (no socket, no token), so validation, auditing and error messages are the API's.
 *
 * @example
 *   const r = await kit.api("POST", "/recorders", { name: "ES scalper" });
 *   if (!r.ok) return page(r.error.message);
 */
import type { Hono } from "hono";
import { CONSOLE_CALL } from "../http/auth";
import type { Env, Services } from "../http/context";
import type { ConsoleSessions } from "./session";

export interface ApiError {
  code: string;
  message: string;
  /** The field the API named, if it named one: path -> message. */
  fields: Record<string, string>;
}

export type ApiResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; error: ApiError };

export type ApiCall = <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
) => Promise<ApiResult<T>>;

/** What every console page receives. */
export interface ConsoleKit {
  s: Services;
  api: ApiCall;
  sessions: ConsoleSessions;
}

export function apiCaller(api: Hono<Env>): ApiCall {
  return async <T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> => {
    const res = await api.request(
      path,
      {
        method,
        ...(body !== undefined
          ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
          : {}),
      },
      { [CONSOLE_CALL]: true },
    );
    const text = await res.text();
    const type = res.headers.get("content-type") ?? "";
    const parsed: unknown = type.includes("json") && text ? JSON.parse(text) : text;
    if (res.ok) return { ok: true, status: res.status, body: parsed as T };
    const e = (parsed as { error?: { code?: string; message?: string } })?.error;
    const message = e?.message ?? `The relay answered ${res.status}.`;
    // The API names the field first ("stopLossTicks: Too big: …", src/http/validate.ts).
    const named = /^([A-Za-z][\w.]*): (.+)$/s.exec(message);
    return {
      ok: false,
      status: res.status,
      error: {
        code: e?.code ?? "error",
        message,
        fields: named?.[1] && named[2] ? { [named[1]]: named[2] } : {},
      },
    };
  };
}
