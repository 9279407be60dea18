/**
 * Counts refused requests into aggregate rows of the raw log: one row per (minute, source address, outcome,
 * reply), holding how many requests, their body bytes, first and last arrival and a few token prefixes.
 *
 * Writes are grouped like commits: while one batch is being written, every request that arrives joins the
 * next one, and each request's promise resolves when the batch holding it is written. So a flood costs one
 * small upsert per batch, whatever its rate, and each refused request is counted in Postgres before its
 * reply, as every other rejection is. A batch that cannot be written is tried again with the next one for
 * about ten seconds, then given up with an error log line that carries its counts.
 *
 * Bounded: at most `maxSourcesPerMinute` distinct addresses per minute get rows of their own; the rest of
 * that minute's addresses share one row whose source is `other`.
 */
import type { Sql } from "../db/client";
import {
  AGGREGATE_PREFIXES,
  recordWebhookAggregates,
  type WebhookAggregate,
  type WebhookOutcome,
} from "../db/webhooks";
import type { Logger } from "../log";

export interface TallyEntry {
  at: Date;
  /** The address key (unknown-tokens.ts), null when the sender's address is unknown. */
  source: string | null;
  outcome: WebhookOutcome;
  httpStatus: number;
  error: string;
  bytes: number;
  tokenPrefix: string | null;
}

/** Pauses between attempts at a batch that could not be written (~10 s in all), as for rejection rows. */
const RETRY_MS = [100, 400, 1_200, 3_000, 6_000];

/**
 * Like Postgres's commit_delay: after writing a batch of at least BUSY_BATCH requests (a flood is on), the
 * next batch waits BUSY_DELAY_MS, so a flood updates each aggregate row ~20 times a second instead of once
 * per round trip (each update leaves a dead row version behind until it is pruned). A lone request, as an
 * ordinary mistyped URL is, is written at once.
 */
const BUSY_BATCH = 8;
const BUSY_DELAY_MS = 50;

/** The shared source of a minute's addresses beyond the ones tracked one by one. */
export const OTHER_SOURCES = "other";

interface Batch {
  rows: Map<string, WebhookAggregate>;
  done: Promise<void>;
  resolve: () => void;
}

function newBatch(): Batch {
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return { rows: new Map(), done, resolve };
}

export class FloodTally {
  private next: Batch = newBatch();
  private flushing = false;
  private closed = false;
  private failures = 0;
  /** Addresses with rows of their own, per minute (the last few minutes only). */
  private readonly sources = new Map<number, Set<string>>();

  constructor(private readonly d: { sql: Sql; logger: Logger; maxSourcesPerMinute: number }) {}

  /** Counts one request; resolves when the count is written (or given up, which is logged). */
  add(e: TallyEntry): Promise<void> {
    const minuteMs = Math.floor(e.at.getTime() / 60_000) * 60_000;
    const source = this.sourceOf(minuteMs, e.source);
    const key = `${minuteMs}|${source ?? ""}|${e.outcome}|${e.httpStatus}`;
    const row = this.next.rows.get(key);
    if (row) {
      row.requests += 1;
      row.totalBytes += e.bytes;
      row.maxBytes = Math.max(row.maxBytes, e.bytes);
      if (e.at < row.firstAt) row.firstAt = e.at;
      if (e.at > row.lastAt) row.lastAt = e.at;
      if (
        e.tokenPrefix !== null &&
        row.tokenPrefixes.length < AGGREGATE_PREFIXES &&
        !row.tokenPrefixes.includes(e.tokenPrefix)
      )
        row.tokenPrefixes.push(e.tokenPrefix);
    } else {
      this.next.rows.set(key, {
        minute: new Date(minuteMs),
        sourceIp: source,
        outcome: e.outcome,
        httpStatus: e.httpStatus,
        error: e.error,
        requests: 1,
        totalBytes: e.bytes,
        maxBytes: e.bytes,
        firstAt: e.at,
        lastAt: e.at,
        tokenPrefixes: e.tokenPrefix === null ? [] : [e.tokenPrefix],
      });
    }
    const { done } = this.next;
    this.kick();
    return done;
  }

  /** No more attempts after this (shutdown): what is still unwritten is logged as given up. */
  close(): void {
    this.closed = true;
    if (!this.flushing && this.next.rows.size > 0) this.giveUp(this.next, "the relay is stopping");
  }

  private sourceOf(minuteMs: number, source: string | null): string | null {
    if (source === null) return null;
    let seen = this.sources.get(minuteMs);
    if (!seen) {
      seen = new Set();
      this.sources.set(minuteMs, seen);
      for (const m of this.sources.keys()) if (m < minuteMs - 120_000) this.sources.delete(m);
    }
    if (seen.has(source)) return source;
    if (seen.size >= this.d.maxSourcesPerMinute) return OTHER_SOURCES;
    seen.add(source);
    return source;
  }

  private kick(): void {
    if (this.flushing) return;
    if (this.closed) {
      this.giveUp(this.next, "the relay is stopping");
      return;
    }
    this.flushing = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.next.rows.size > 0 && !this.closed) await this.flushOnce();
      if (this.closed && this.next.rows.size > 0) this.giveUp(this.next, "the relay is stopping");
    } finally {
      this.flushing = false;
    }
  }

  private async flushOnce(): Promise<void> {
    const batch = this.next;
    this.next = newBatch();
    const rows = [...batch.rows.values()];
    try {
      const created = await recordWebhookAggregates(this.d.sql, rows);
      this.failures = 0;
      batch.resolve();
      for (const c of created)
        this.d.logger.warn(
          { event: "WebhooksAggregated", sourceIp: c.sourceIp, outcome: c.outcome, httpStatus: c.httpStatus },
          "requests no recorder owns from this address are counted in one raw-log row for this minute",
        );
      if (rows.reduce((n, r) => n + r.requests, 0) >= BUSY_BATCH)
        await new Promise((r) => setTimeout(r, BUSY_DELAY_MS).unref());
    } catch (error) {
      this.failures++;
      if (this.failures > RETRY_MS.length) {
        this.failures = 0;
        this.giveUp(batch, String(error));
        return;
      }
      this.d.logger.warn(
        { event: "WebhookLogRetried", outcome: "aggregate", attempt: this.failures, error: String(error) },
        "the raw webhook log write failed; trying again",
      );
      // Put the counts back: they are written with the next batch, and their requests wait for that one.
      for (const [key, row] of batch.rows) this.merge(key, row);
      void this.next.done.then(batch.resolve);
      await new Promise((r) => setTimeout(r, RETRY_MS[this.failures - 1]).unref());
    }
  }

  private merge(key: string, row: WebhookAggregate): void {
    const into = this.next.rows.get(key);
    if (!into) {
      this.next.rows.set(key, row);
      return;
    }
    into.requests += row.requests;
    into.totalBytes += row.totalBytes;
    into.maxBytes = Math.max(into.maxBytes, row.maxBytes);
    if (row.firstAt < into.firstAt) into.firstAt = row.firstAt;
    if (row.lastAt > into.lastAt) into.lastAt = row.lastAt;
    for (const p of row.tokenPrefixes)
      if (into.tokenPrefixes.length < AGGREGATE_PREFIXES && !into.tokenPrefixes.includes(p))
        into.tokenPrefixes.push(p);
  }

  private giveUp(batch: Batch, error: string): void {
    const rows = [...batch.rows.values()];
    this.d.logger.error(
      {
        event: "WebhookNotLogged",
        outcome: "aggregate",
        requests: rows.reduce((n, r) => n + r.requests, 0),
        sources: rows.length,
        error,
      },
      "could not write the raw webhook log's aggregate counts",
    );
    batch.rows.clear();
    batch.resolve();
  }
}
