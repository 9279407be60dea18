/**
 * Webull broker: the factory registered for kind "webull". See README.md.
 *
 * @example
 *   const factory = new WebullFactory({ logger, baseUrl: config.WEBULL_API_URL });
 *   const session = factory.create({ accountId, name, kind: "webull", environment: "live", credentials });
 *   await session.start();
 */
import type { Logger } from "pino";
import type { BrokerFactory, BrokerSession, SessionContext } from "../port";
import {
  CANCEL_SPACING_MS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  resolveBaseUrl,
  webullCredentialsSchema,
} from "./config";
import { WebullSession } from "./session";

export interface WebullFactoryOptions {
  logger: Logger;
  /** Live host (WEBULL_API_URL); default https://api.webull.com. */
  baseUrl?: string;
  /** Host for `demo` logins; default `baseUrl` unless that is a production Webull host. */
  demoBaseUrl?: string;
  /** Deadline of every HTTP request (default 5 s). */
  requestTimeoutMs?: number;
  /** Event polling interval (default 2 s). */
  pollIntervalMs?: number;
  /** Gap between two cancels of one app key (default 1.1 s: the documented 1/s plus a margin). */
  cancelSpacingMs?: number;
  now?: () => number;
}

export class WebullFactory implements BrokerFactory {
  readonly kinds = ["webull"] as const;

  constructor(private readonly options: WebullFactoryOptions) {}

  validateCredentials(credentials: unknown): { ok: true } | { ok: false; message: string } {
    const parsed = webullCredentialsSchema.safeParse(credentials);
    if (parsed.success) return { ok: true };
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "credentials";
    return { ok: false, message: `Webull credentials: ${field} ${issue?.message ?? "is invalid"}` };
  }

  create(context: SessionContext): BrokerSession {
    const parsed = webullCredentialsSchema.safeParse(context.credentials);
    if (!parsed.success) {
      throw new Error("Webull credentials are invalid: validate them with validateCredentials first");
    }
    const o = this.options;
    return new WebullSession({
      accountId: context.accountId,
      environment: context.environment,
      credentials: parsed.data,
      baseUrl: resolveBaseUrl(context.environment, {
        ...(o.baseUrl !== undefined ? { baseUrl: o.baseUrl } : {}),
        ...(o.demoBaseUrl !== undefined ? { demoBaseUrl: o.demoBaseUrl } : {}),
      }),
      logger: o.logger,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      pollIntervalMs: o.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      cancelSpacingMs: o.cancelSpacingMs ?? CANCEL_SPACING_MS,
      ...(o.now ? { now: o.now } : {}),
    });
  }
}

export const createWebullFactory = (options: WebullFactoryOptions): WebullFactory =>
  new WebullFactory(options);

export type { WebullCredentials } from "./config";
export { webullCredentialsSchema } from "./config";
export { WebullSession } from "./session";
