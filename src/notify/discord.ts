/**
 * The Discord implementation of the notification port, on discord.js's REST client (no gateway). Channel
 * messages go to `Routes.channelMessages`; a DM first opens (and caches) the DM channel for the user.
 *
 * discord.js queues requests per route and channel, reads X-RateLimit-* headers and waits out 429s
 * (Retry-After / Reset-After) before retrying. A wait longer than `maxRateLimitWaitMs` is not sat out
 * here: the request is rejected and the outbox schedules the message after the wait instead, so the
 * sender is never parked. discord.js's own retries are off (`retries: 0`); the outbox retries, and every
 * message carries a nonce with `enforce_nonce`, so a resend after an ambiguous timeout is not doubled.
 */
import {
  type APIChannel,
  type APIMessage,
  DiscordAPIError,
  HTTPError,
  RateLimitError,
  REST,
  type RESTPostAPIChannelMessageJSONBody,
  Routes,
} from "discord.js";
import type { Logger } from "../log";
import type { Scrubber } from "./format";
import type { DeliverOptions, DeliveryResult, Notifier, OutboundMessage, Target } from "./port";

export interface DiscordNotifierOptions {
  token: string;
  /** DISCORD_API_URL, without the version ("https://discord.com/api"). */
  apiUrl: string;
  logger: Logger;
  scrubber: Scrubber;
  /** Per request; a timeout is retried later by the outbox (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest rate-limit wait sat out inside discord.js; longer ones go back to the outbox (default 15 s). */
  maxRateLimitWaitMs?: number;
}

const UNKNOWN_CHANNEL = 10003;

export class DiscordNotifier implements Notifier {
  private readonly rest: REST;
  private readonly dmChannels = new Map<string, string>();
  private readonly timeoutMs: number;

  constructor(private readonly o: DiscordNotifierOptions) {
    this.timeoutMs = o.requestTimeoutMs ?? 10_000;
    const maxWait = o.maxRateLimitWaitMs ?? 15_000;
    this.rest = new REST({
      api: o.apiUrl.replace(/\/+$/, ""),
      version: "10",
      timeout: this.timeoutMs,
      retries: 0,
      rejectOnRateLimit: (info) => Math.max(info.timeToReset, info.retryAfter) > maxWait,
    });
    this.rest.setToken(o.token);
    this.rest.on("response", (request, response) => {
      if (response.status !== 429) return;
      o.logger.warn(
        {
          event: "DiscordRateLimited",
          route: request.route,
          retryAfter: response.headers.get("retry-after"),
          resetAfter: response.headers.get("x-ratelimit-reset-after"),
          global: response.headers.has("x-ratelimit-global"),
        },
        "Discord answered 429; discord.js waits it out",
      );
    });
  }

  async deliver(target: Target, message: OutboundMessage, options: DeliverOptions): Promise<DeliveryResult> {
    // discord.js forgets the token after a 401; set it again so a bad moment does not stick.
    this.rest.setToken(this.o.token);
    try {
      const channelId =
        target.kind === "channel" ? target.id : await this.dmChannel(target.id, options.signal);
      const body: RESTPostAPIChannelMessageJSONBody = {
        content: message.content,
        embeds: message.embeds,
        nonce: options.nonce,
        enforce_nonce: true,
        allowed_mentions: { parse: [] },
      };
      const sent = (await this.rest.post(Routes.channelMessages(channelId), {
        body,
        ...(options.signal ? { signal: options.signal } : {}),
      })) as APIMessage;
      return { kind: "delivered", messageId: sent.id };
    } catch (error) {
      if (target.kind === "user" && error instanceof DiscordAPIError && error.code === UNKNOWN_CHANNEL) {
        // The cached DM channel is gone: open a new one on the next attempt.
        this.dmChannels.delete(target.id);
        return { kind: "retry", error: this.describe(error), counts: true };
      }
      return this.classify(error, options.signal);
    }
  }

  close(): void {
    this.rest.clearHashSweeper();
    this.rest.clearHandlerSweeper();
    this.rest.removeAllListeners();
  }

  private async dmChannel(userId: string, signal: AbortSignal | undefined): Promise<string> {
    const known = this.dmChannels.get(userId);
    if (known) return known;
    const channel = (await this.rest.post(Routes.userChannels(), {
      body: { recipient_id: userId },
      ...(signal ? { signal } : {}),
    })) as APIChannel;
    this.dmChannels.set(userId, channel.id);
    return channel.id;
  }

  private classify(error: unknown, signal: AbortSignal | undefined): DeliveryResult {
    if (error instanceof RateLimitError) {
      const afterMs = Math.max(error.timeToReset, error.retryAfter, 0);
      return {
        kind: "retry",
        error: `rate limited by Discord for ${Math.ceil(afterMs / 1000)} s${error.global ? " (global)" : ""}`,
        afterMs,
        counts: false,
      };
    }
    if (error instanceof DiscordAPIError) {
      const text = this.describe(error);
      // 401: the token was refused; may be a Discord hiccup or a rotated token picked up on restart.
      if (error.status === 401 || error.status === 429 || error.status >= 500) {
        return { kind: "retry", error: text, counts: true };
      }
      return { kind: "rejected", error: text };
    }
    if (error instanceof HTTPError) return { kind: "retry", error: this.describe(error), counts: true };
    if (signal?.aborted)
      return { kind: "retry", error: "stopped before Discord answered", afterMs: 0, counts: false };
    if (error instanceof Error && error.name === "AbortError") {
      return { kind: "retry", error: `no answer from Discord within ${this.timeoutMs} ms`, counts: true };
    }
    return { kind: "retry", error: this.describe(error), counts: true };
  }

  private describe(error: unknown): string {
    if (error instanceof DiscordAPIError) {
      return this.o.scrubber.clean(`${error.status} (code ${error.code}): ${error.message}`);
    }
    if (error instanceof HTTPError) return this.o.scrubber.clean(`${error.status}: ${error.message}`);
    if (error instanceof Error) {
      const code = (error as { code?: unknown }).code;
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail = typeof cause?.message === "string" ? ` (${cause.message})` : "";
      return this.o.scrubber.clean(
        `${typeof code === "string" ? code : error.name}: ${error.message}${detail}`,
      );
    }
    return this.o.scrubber.clean(String(error));
  }
}
