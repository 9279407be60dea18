/**
 * ProjectX adapter configuration: the credentials a login stores (validated by zod at the API edge), the
 * factory options and the resolution of REST and hub endpoints per login.
 *
 * Defaults are TopstepX (`https://api.topstepx.com`, `https://rtc.topstepx.com`), overridable by the
 * PROJECTX_API_URL / PROJECTX_RTC_URL environment variables, by factory options, and per login by
 * `firmHost` / `firmRtcHost` (other prop firms run `api.<firm>.projectx.com` / `rtc.<firm>.projectx.com`).
 */
import { z } from "zod";
import type { DayRule } from "../../domain/trading-day";
import type { Logger } from "../../log";
import type { Environment } from "../port";

export const DEFAULT_API_URL = "https://api.topstepx.com";
export const DEFAULT_RTC_URL = "https://rtc.topstepx.com";

/**
 * How entry brackets are placed. `positionBrackets` (the gateway's default account mode): entry first, then
 * a stop and a target as separate orders linked by the adapter. `autoOco`: native `stopLossBracket` /
 * `takeProfitBracket` in ticks. `detect`: try native, fall back (and remember) on the Position Brackets
 * refusal.
 */
export type BracketMode = "positionBrackets" | "autoOco" | "detect";

const host = (field: string) =>
  z
    .string({ error: `${field} must be a host name` })
    .trim()
    .min(1, `${field} must not be empty`)
    .max(200, `${field} is too long`)
    .regex(
      /^(https?:\/\/|wss?:\/\/)?[A-Za-z0-9.-]+(:\d+)?\/?$/,
      `${field} must be a host name such as api.firm.projectx.com`,
    );

export const credentialsSchema = z.object({
  userName: z.string({ error: "userName is required" }).trim().min(1, "userName is required"),
  apiKey: z.string({ error: "apiKey is required" }).trim().min(1, "apiKey is required"),
  firmHost: host("firmHost").optional(),
  firmRtcHost: host("firmRtcHost").optional(),
  bracketMode: z
    .enum(["positionBrackets", "autoOco", "detect"], {
      error: "bracketMode must be positionBrackets, autoOco or detect",
    })
    .optional(),
});
export type ProjectXCredentials = z.infer<typeof credentialsSchema>;

export interface ProjectXFactoryOptions {
  logger: Logger;
  /** REST base; default PROJECTX_API_URL or https://api.topstepx.com. */
  apiUrl?: string;
  /** Hub base (`/hubs/user`, `/hubs/market` are appended); http(s) or ws(s). */
  rtcUrl?: string;
  /** Every REST request; a reply that takes longer is an `unknown` outcome. Default 10 s. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Client-side sliding window; default 200 requests / 60 s like the gateway. */
  rateLimit?: { max: number; windowMs: number };
  /** Longest a request waits for a rate-limit slot (or retries 429s) before it is refused unsent. */
  rateLimitWaitMs?: number;
  /** Refresh the token with /api/Auth/validate this long after it was issued; default 23 h. */
  tokenRefreshAfterMs?: number;
  /** First delays between reconnect attempts; then doubling, at most 30 s apart, forever (backoff.ts). */
  reconnectDelaysMs?: number[];
  hubServerTimeoutMs?: number;
  hubKeepAliveMs?: number;
  /** Default bracket mode for logins that do not set one. */
  bracketMode?: BracketMode;
  /** How long entry+bracket placement waits for the entry fill before leaving it unprotected. */
  fillWaitMs?: number;
  /** Order/search window for findOrder and reconciliation. Default 3 days. */
  orderLookbackMs?: number;
  /** Trading day boundary for realized P&L: the relay's rule; default 17:00 America/Chicago. */
  tradingDay?: DayRule;
  env?: Record<string, string | undefined>;
}

export interface ResolvedConfig {
  apiUrl: string;
  /** Always http(s): the SignalR client switches to ws(s) itself. */
  rtcUrl: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  rateLimit: { max: number; windowMs: number };
  rateLimitWaitMs: number;
  tokenRefreshAfterMs: number;
  reconnectDelaysMs: number[];
  hubServerTimeoutMs: number;
  hubKeepAliveMs: number;
  bracketMode: BracketMode;
  fillWaitMs: number;
  orderLookbackMs: number;
  tradingDay: DayRule;
}

function asUrl(value: string, scheme: "https" | "wss"): string {
  const trimmed = value.trim().replace(/\/+$/, "");
  return /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `${scheme}://${trimmed}`;
}

const httpScheme = (url: string) => url.replace(/^ws(s?):\/\//i, "http$1://");

export function resolveConfig(
  options: ProjectXFactoryOptions,
  credentials: ProjectXCredentials,
): ResolvedConfig {
  const env = options.env ?? process.env;
  const apiUrl = credentials.firmHost
    ? asUrl(credentials.firmHost, "https")
    : asUrl(options.apiUrl ?? env.PROJECTX_API_URL ?? DEFAULT_API_URL, "https");
  let rtc = options.rtcUrl ?? env.PROJECTX_RTC_URL ?? DEFAULT_RTC_URL;
  if (credentials.firmRtcHost) rtc = credentials.firmRtcHost;
  else if (credentials.firmHost) rtc = asUrl(credentials.firmHost, "https").replace(/:\/\/api\./i, "://rtc.");
  return {
    apiUrl,
    rtcUrl: httpScheme(asUrl(rtc, "https")),
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    rateLimit: options.rateLimit ?? { max: 200, windowMs: 60_000 },
    rateLimitWaitMs: options.rateLimitWaitMs ?? 30_000,
    tokenRefreshAfterMs: options.tokenRefreshAfterMs ?? 23 * 3_600_000,
    reconnectDelaysMs: options.reconnectDelaysMs ?? [0, 1_000, 2_000, 5_000, 10_000, 30_000],
    hubServerTimeoutMs: options.hubServerTimeoutMs ?? 30_000,
    hubKeepAliveMs: options.hubKeepAliveMs ?? 15_000,
    bracketMode: credentials.bracketMode ?? options.bracketMode ?? "positionBrackets",
    fillWaitMs: options.fillWaitMs ?? 10_000,
    orderLookbackMs: options.orderLookbackMs ?? 3 * 86_400_000,
    tradingDay: options.tradingDay ?? { roll: "17:00", timeZone: "America/Chicago" },
  };
}

/** Where this login's ids live: `projectx:<environment>:<REST host>` (the firm's own host when it has one). */
export function venueOf(environment: Environment, config: Pick<ResolvedConfig, "apiUrl">): string {
  return `projectx:${environment}:${new URL(config.apiUrl).host.toLowerCase()}`;
}

/** A firm host given without `api.` needs its hub host spelled out. */
export function credentialsProblem(credentials: ProjectXCredentials): string | undefined {
  if (credentials.firmHost && !credentials.firmRtcHost && !/^([a-z]+:\/\/)?api\./i.test(credentials.firmHost))
    return "firmRtcHost is required when firmHost does not start with api.";
  return undefined;
}
