/**
 * Turning a crossing into a breach: the in-memory entry the gate reads (at once, before any I/O), the
 * BreachDetected event, and the flatten job whose state changes are stored in `breaches` and announced
 * as BreachFlattened. Restored rows come back the same way after a restart.
 */
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import { toStr } from "../domain/decimal";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import { type Breach, breachReason, persistBreach, subjectKey } from "./breaches";
import { flattenAccount } from "./flatten-account";
import type { FlattenContext } from "./flatten-context";
import { flattenTrader } from "./flatten-trader";
import { FlattenJob } from "./job";
import type { BreachRow, Detection } from "./repo";
import { updateBreach } from "./repo";

export interface BreachJobsDeps {
  sql: Sql;
  log: Logger;
  bus: EventBus;
  directory: Directory;
  ctx: FlattenContext;
  now: () => Date;
  timeZoneOf(accountId: string): string;
  subAccountsOf(accountId: string): string[];
  retryDelaysMs?: number[];
}

export type { Detection };

export class BreachJobs {
  constructor(private readonly d: BreachJobsDeps) {}

  /** A new breach: recorded in `into` synchronously (the gate closes now), announced, flattened. */
  detect(x: Detection, into: Map<string, Breach>): Breach {
    const at = this.d.now();
    const key = subjectKey(x.scope, x.traderId ?? x.accountId);
    const b: Breach = {
      ...x,
      at,
      timeZone: this.d.timeZoneOf(x.accountId),
      job: this.job(key, () => b, 0, "detected"),
    };
    into.set(key, b);
    const names = this.names(b);
    const { limit, pnl, ...who } = x;
    this.d.log.warn(
      { event: "BreachDetected", ...who, limit: toStr(limit), pnl: toStr(pnl) },
      breachReason(b),
    );
    this.d.bus.emit({
      type: "BreachDetected",
      at,
      ...who,
      ...names,
      limit: toStr(limit),
      pnl: toStr(pnl),
    });
    b.job.kick("start");
    return b;
  }

  /** A stored breach of the current day back in memory; flattened again if it never finished. */
  restore(row: BreachRow, accountId: string, into: Map<string, Breach>): void {
    const key = subjectKey(row.scope, row.traderId ?? accountId);
    const b: Breach = {
      scope: row.scope,
      traderId: row.traderId,
      accountId,
      tradingDay: row.tradingDay,
      limit: row.limit,
      pnl: row.pnl,
      at: row.breachedAt,
      timeZone: this.d.timeZoneOf(accountId),
      id: row.id,
      ...(row.flattenedAt ? { flattenedAt: row.flattenedAt } : {}),
      job: this.job(key, () => b, row.attempts, row.status === "flat" ? "flat" : "detected"),
    };
    into.set(key, b);
    if (row.status !== "flat") b.job.kick("start");
  }

  names(b: { traderId: string | null; accountId: string }): { accountName: string; recorderIds: string[] } {
    const d = this.d.directory;
    const recorderIds = b.traderId
      ? [d.trader(b.traderId)?.recorderId].filter((x): x is NonNullable<typeof x> => !!x)
      : [...new Set(d.allTraders().flatMap((t) => (t.accountId === b.accountId ? [t.recorderId] : [])))];
    return { accountName: d.account(b.accountId)?.name ?? b.accountId, recorderIds };
  }

  private job(key: string, breach: () => Breach, attempts: number, initial: "detected" | "flat"): FlattenJob {
    const { d } = this;
    return new FlattenJob(
      key,
      {
        attempt: async () => {
          const b = breach();
          // Stored alongside the flatten, not before it: the liquidation should not wait on a commit.
          const stored = persistBreach(d.sql, b).catch((error: unknown) => {
            d.log.error({ event: "BreachNotStored", key, error: String(error) }, "breach not stored yet");
          });
          const reason = breachReason(b);
          const result =
            b.scope === "trader" && b.traderId
              ? await flattenTrader(d.ctx, b.traderId, `loss:${b.tradingDay}`, reason)
              : await flattenAccount(
                  d.ctx,
                  b.accountId,
                  d.subAccountsOf(b.accountId),
                  `lossacct:${b.tradingDay}`,
                  reason,
                );
          await stored;
          return result;
        },
        changed: async (state, info) => {
          const b = breach();
          const id = await persistBreach(d.sql, b);
          if (state === "flat") b.flattenedAt = d.now();
          await updateBreach(d.sql, id, {
            status: state === "detected" ? "flattening" : state,
            attempts: info.attempts,
            lastError: info.error,
            ...(state === "flat" ? { flattenedAt: b.flattenedAt ?? null } : {}),
          });
          if (state !== "flat") return;
          d.log.warn({ event: "BreachFlattened", key, attempts: info.attempts }, "flat after the loss limit");
          d.bus.emit({
            type: "BreachFlattened",
            at: d.now(),
            scope: b.scope,
            traderId: b.traderId,
            accountId: b.accountId,
            ...this.names(b),
            attempts: info.attempts,
            tradingDay: b.tradingDay,
          });
        },
      },
      d.log,
      d.retryDelaysMs,
      attempts,
      initial,
    );
  }
}
