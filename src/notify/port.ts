/**
 * THE notification port: where a message goes and what became of it. The outbox and sender know only
 * this; src/notify/discord.ts is the one implementation (discord.js REST).
 *
 * Outcomes are classified for the outbox: `delivered`; `retry` (network, timeout, 5xx, 401, a rate limit
 * longer than the sender is willing to wait) with an optional earliest time; `rejected` when the target
 * refused the message for good (unknown channel, missing access, user closed DMs, invalid body).
 */
import type { Embed } from "./embed";

export type Target = { kind: "channel"; id: string } | { kind: "user"; id: string };

export interface OutboundMessage {
  /** Plain text shown in phone notifications; at most 2000 characters. */
  content: string;
  /** At most 10 embeds, 6000 characters in all. */
  embeds: Embed[];
}

export interface DeliverOptions {
  /** Stable per outbox message, so a resend after an ambiguous timeout is deduplicated by Discord. */
  nonce: string;
  /** Aborts the request when the sender stops. */
  signal?: AbortSignal;
}

export type DeliveryResult =
  | { kind: "delivered"; messageId: string }
  /** `counts` false when the failure is no fault of the message (a rate limit): it does not use up attempts. */
  | { kind: "retry"; error: string; afterMs?: number; counts: boolean }
  | { kind: "rejected"; error: string };

export interface Notifier {
  deliver(target: Target, message: OutboundMessage, options: DeliverOptions): Promise<DeliveryResult>;
  close(): void;
}

export const targetKey = (t: Target): string => `${t.kind}:${t.id}`;
