/**
 * Webull configuration: the credentials schema (validated at the API edge), hosts and endpoint paths.
 *
 * Hosts: live logins use the factory's `baseUrl` (WEBULL_API_URL, default https://api.webull.com).
 * Webull's OpenAPI has no public paper host, so a `demo` login uses `demoBaseUrl`, else `baseUrl` when
 * that is not a production Webull host (the simulator): a demo account never reaches the live host.
 */
import { z } from "zod";
import { MAX_BACKOFF_MS } from "../backoff";
import type { Environment } from "../port";

export const webullCredentialsSchema = z.object({
  appKey: z.string().trim().min(1, "appKey is required"),
  appSecret: z.string().trim().min(1, "appSecret is required"),
  /** 2FA token approved in the Webull app, sent as x-access-token. */
  accessToken: z.string().trim().min(1).optional(),
  /** The Webull account to trade; when absent every account of the app is listed. */
  accountId: z.string().trim().min(1).optional(),
});
export type WebullCredentials = z.infer<typeof webullCredentialsSchema>;

export const LIVE_BASE_URL = "https://api.webull.com";

export const ENDPOINTS = {
  place: "/openapi/trade/order/place",
  replace: "/openapi/trade/order/replace",
  cancel: "/openapi/trade/order/cancel",
  open: "/openapi/trade/order/open",
  detail: "/openapi/trade/order/detail",
  history: "/openapi/trade/order/history",
  accounts: "/openapi/account/list",
  balance: "/openapi/assets/balance",
  positions: "/openapi/assets/positions",
} as const;

/**
 * Documented: cancel is limited to 1 request per second per App ID. The gap kept between two cancels adds
 * 100 ms for clock and timer granularity on either side.
 */
export const CANCEL_SPACING_MS = 1_100;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;
/** Polling backs off up to this after 429s and failures: the reconnect cap of every broker. */
export const MAX_POLL_BACKOFF_MS = MAX_BACKOFF_MS;

export interface HostChoice {
  baseUrl?: string;
  demoBaseUrl?: string;
}

/** Production hosts (api.webull.com, api.webull.hk, ...): never used for a demo login. */
const LIVE_HOST = /^api\.webull(-uk)?\.[a-z.]+$/i;

/** The host for one environment, or an error in words a trader understands. */
export function resolveBaseUrl(
  environment: Environment,
  choice: HostChoice,
): { ok: true; url: string } | { ok: false; message: string } {
  if (environment === "live") return { ok: true, url: choice.baseUrl ?? LIVE_BASE_URL };
  const demo = choice.demoBaseUrl ?? choice.baseUrl;
  if (demo && !LIVE_HOST.test(new URL(demo).hostname)) return { ok: true, url: demo };
  return {
    ok: false,
    message:
      "Webull has no demo host configured (set WEBULL_DEMO_API_URL, or use a live account): " +
      "a demo login is never sent to the live Webull host",
  };
}

/** Where a login's ids live: `webull:<environment>:<API host>` (`none` when a demo login has no host). */
export function venueOf(
  environment: Environment,
  baseUrl: { ok: true; url: string } | { ok: false; message: string },
): string {
  return `webull:${environment}:${baseUrl.ok ? new URL(baseUrl.url).host.toLowerCase() : "none"}`;
}
