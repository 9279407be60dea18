/**
 * What a call result means for an order: broker words (failureReason/failureText, errorText, HTTP 4xx)
 * are `rejected`; no trustworthy answer (timeout, drop, 5xx, unreadable) is `unknown`; 429, captcha,
 * exhausted penalties and "never sent" are rejections that say the order was not placed. No I/O.
 */
import type { OrderOutcome } from "../port";
import type { CallResult } from "./calls";
import { failureOf } from "./parse";
import { OrderResult } from "./wire";

export type Read =
  | { ok: true; result: OrderResult }
  | { ok: false; outcome: Extract<OrderOutcome, { kind: "rejected" | "unknown" }> };

/** What a call result means for an order, before looking at ids. */
export function readResult(r: CallResult): Read {
  switch (r.kind) {
    case "ok": {
      const parsed = OrderResult.safeParse(r.body ?? {});
      if (!parsed.success)
        return { ok: false, outcome: { kind: "unknown", reason: "Tradovate answered in an unknown format" } };
      const failure = failureOf(parsed.data);
      if (failure) return { ok: false, outcome: { kind: "rejected", ...failure, raw: r.body } };
      return { ok: true, result: parsed.data };
    }
    case "http-error":
      if (r.status >= 500)
        return { ok: false, outcome: { kind: "unknown", reason: `Tradovate answered HTTP ${r.status}` } };
      return {
        ok: false,
        outcome: {
          kind: "rejected",
          reason: `Tradovate refused the request (HTTP ${r.status}${r.text ? `: ${r.text}` : ""})`,
          code: `HTTP${r.status}`,
        },
      };
    case "rate-limited":
      return {
        ok: false,
        outcome: {
          kind: "rejected",
          code: "RateLimited",
          reason:
            "Tradovate rate limit reached (HTTP 429): the order was not placed; slow down and retry later",
        },
      };
    case "captcha":
      return {
        ok: false,
        outcome: {
          kind: "rejected",
          code: "Captcha",
          reason: "Tradovate requires a captcha for this login; wait about an hour and try again",
        },
      };
    case "throttled":
      return {
        ok: false,
        outcome: {
          kind: "rejected",
          code: "Throttled",
          reason: `Tradovate kept issuing penalty tickets for ${Math.round(r.waitedMs / 1000)} s; the order was not placed`,
        },
      };
    case "unknown":
      return { ok: false, outcome: { kind: "unknown", reason: r.reason } };
    case "not-sent":
      return {
        ok: false,
        outcome: { kind: "rejected", code: "NotSent", reason: `Not sent to Tradovate: ${r.reason}` },
      };
  }
}
