/**
 * The environment, parsed once at boot by zod. Anything invalid stops the relay with a message naming the
 * variable and what is wrong with it; nothing else in the code reads process.env.
 */
import { hostname } from "node:os";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((v) => v === "true" || v === "1" || v === "yes" || v === "on");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((u) => protocols.includes(new URL(u).protocol), {
      message: `must start with ${protocols.join(" or ")}`,
    });

const schema = z
  .object({
    PORT: int(0, 65535).default(3000),
    HOST: z.string().min(1).default("0.0.0.0"),
    DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
    DATA_DIR: z.string().min(1).default("./.data"),
    RELAY_ADMIN_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
    CREDENTIALS_KEY: z
      .string()
      .refine((k) => decodeKey(k) !== undefined, "must be 32 bytes as 64 hex characters or base64")
      .optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    PUBLIC_URL: url(["http:", "https:"]).optional(),
    RAILWAY_PUBLIC_DOMAIN: z.string().optional(),
    INSTANCE_ID: z.string().min(1).max(64).optional(),
    WEBHOOK_MAX_BYTES: int(256, 1_048_576).default(16_384),
    WEBHOOK_RATE_PER_MINUTE: int(1, 1_000_000_000).default(120),
    WEBHOOK_RATE_BURST: int(1, 1_000_000_000).default(30),
    WEBHOOK_IP_ALLOWLIST: z.string().default(""),
    /** Requests no recorder owns (unknown token, refused before the lookup), per source address. */
    UNKNOWN_TOKEN_RATE_PER_MINUTE: int(1, 1_000_000_000).default(30),
    UNKNOWN_TOKEN_BURST: int(1, 1_000_000_000).default(10),
    /** Raw-log rows of their own for such requests, relay-wide, per minute; the rest are counted in aggregates. */
    UNKNOWN_TOKEN_ROWS_PER_MINUTE: int(1, 1_000_000_000).default(120),
    /** Retention of the raw webhook log: rows older than this are pruned in the background. */
    WEBHOOK_LOG_DAYS: int(1, 36_500).default(30),
    /** Size cap of the raw webhook log (estimated row bytes, MiB); the oldest prunable rows go first. */
    WEBHOOK_LOG_MAX_MB: int(1, 100_000_000).default(1_024),
    TRUSTED_PROXIES: z.string().default(""),
    /**
     * HTTP hardening (src/http/server.ts): a request's headers must arrive within HTTP_HEADERS_TIMEOUT_MS
     * and the whole request within that plus HTTP_BODY_TIMEOUT_MS, or its socket is cut (408); idle
     * keep-alive sockets close after HTTP_KEEP_ALIVE_TIMEOUT_MS; open connections are capped in total
     * (lowered to leave HTTP_FD_RESERVE file descriptors free) and per peer address (not for loopback or
     * TRUSTED_PROXIES). METRICS_TOKEN, when set, guards /metrics with a bearer token.
     */
    HTTP_HEADERS_TIMEOUT_MS: int(100, 120_000).default(5_000),
    HTTP_BODY_TIMEOUT_MS: int(100, 600_000).default(5_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 120_000).default(5_000),
    HTTP_MAX_REQUESTS_PER_SOCKET: int(0, 1_000_000).default(1_000),
    HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(4_096),
    HTTP_MAX_CONNECTIONS_PER_IP: int(1, 1_000_000).default(256),
    HTTP_FD_RESERVE: int(0, 1_000_000).default(1_024),
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    DISPATCH_CONCURRENCY: int(1, 100_000).default(1_000),
    EXECUTION_LEASE_MS: int(5_000, 3_600_000).default(60_000),
    ACCOUNT_LEASE_MS: int(1_000, 600_000).default(15_000),
    FILL_WAIT_MS: int(100, 120_000).default(10_000),
    /** Past this, a webhook whose commit has not finished is answered 503 (TradingView re-sends). */
    WEBHOOK_COMMIT_TIMEOUT_MS: int(100, 60_000).default(2_000),
    /**
     * Group commit at intake (src/intake/group-commit.ts): webhooks arriving while a commit is running are
     * committed together in one transaction, at most WEBHOOK_COMMIT_BATCH_MAX at a time, with at most
     * WEBHOOK_COMMIT_CONCURRENCY such transactions in flight.
     */
    WEBHOOK_COMMIT_BATCH_MAX: int(1, 1_000).default(64),
    WEBHOOK_COMMIT_CONCURRENCY: int(1, 64).default(1),
    /** A recorder with this many signals still waiting to execute has further entries refused (429). */
    RECORDER_MAX_PENDING_SIGNALS: int(1, 100_000).default(20),
    /**
     * The most contracts one order may have, relay-wide: alerts asking for more are refused at intake, and
     * recorder sizes above it by the API.
     */
    MAX_ORDER_CONTRACTS: int(1, 100_000).default(100),
    DEMO_SETUP: bool.default(true),
    TRADOVATE_DEMO_URL: url(["http:", "https:"]).default("https://demo.tradovateapi.com/v1"),
    TRADOVATE_LIVE_URL: url(["http:", "https:"]).default("https://live.tradovateapi.com/v1"),
    TRADOVATE_MD_URL: url(["ws:", "wss:"]).default("wss://md.tradovateapi.com/v1/websocket"),
    PROJECTX_API_URL: url(["http:", "https:"]).default("https://api.topstepx.com"),
    PROJECTX_RTC_URL: url(["http:", "https:", "ws:", "wss:"]).default("https://rtc.topstepx.com"),
    WEBULL_API_URL: url(["http:", "https:"]).default("https://api.webull.com"),
    /** Webull has no paper host; demo logins need one explicitly (e.g. the simulator). */
    WEBULL_DEMO_API_URL: url(["http:", "https:"]).optional(),
    /** Notifications go to Discord only when a bot token is set. */
    DISCORD_BOT_TOKEN: z.string().min(20).optional(),
    DISCORD_API_URL: url(["http:", "https:"]).default("https://discord.com/api"),
    /** Channel for events that belong to no recorder (kill switch, daily summary, sessions without one). */
    DISCORD_DEFAULT_CHANNEL_ID: z
      .string()
      .regex(/^\d{15,25}$/, "must be a Discord channel id")
      .optional(),
    /** Futures trading days roll at this local time, not at midnight; accounts may override. */
    TRADING_DAY_ROLL: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM")
      .default("17:00"),
    TRADING_DAY_TIME_ZONE: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, "is not a known time zone")
      .default("America/Chicago"),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL && !env.CREDENTIALS_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["CREDENTIALS_KEY"],
        message:
          "is required when DATABASE_URL is set (generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\")",
      });
    }
  });

export type Env = z.infer<typeof schema>;

export interface Config extends Env {
  /** Base URL printed in webhook URLs. */
  publicUrl: string;
  instanceId: string;
  /** True when the relay runs its own embedded PostgreSQL under DATA_DIR. */
  embeddedDatabase: boolean;
}

export class ConfigError extends Error {}

/** Parses the environment or throws a ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "environment"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const publicUrl = (
    e.PUBLIC_URL ??
    (e.RAILWAY_PUBLIC_DOMAIN ? `https://${e.RAILWAY_PUBLIC_DOMAIN}` : `http://localhost:${e.PORT}`)
  ).replace(/\/+$/, "");
  return {
    ...e,
    publicUrl,
    instanceId: e.INSTANCE_ID ?? hostname(),
    embeddedDatabase: e.DATABASE_URL === undefined,
  };
}

/** 32-byte key from 64 hex characters or base64; undefined if it is neither. */
export function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  const b = Buffer.from(trimmed, "base64");
  return b.length === 32 ? b : undefined;
}
