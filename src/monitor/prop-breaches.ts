/**
 * Prop-rule breaches of the current trading day: one per sub-account and rule. Detecting one closes the
 * entry gate at once (the map the gate reads), announces it like a loss-limit breach (BreachDetected with
 * the rule and its message), stores it in `prop_breaches` and acts: pause (nothing more), flatten (the
 * monitor's flatten job on that sub-account, `prop:<day>:<rule>` client order ids) or fail (the same
 * flatten, and the sub-account's traders disabled until someone re-enables them by hand).
 */
import { audit } from "../db/audit";
import type { Sql } from "../db/client";
import type { Directory } from "../directory";
import { type Dec, toStr } from "../domain/decimal";
import type { RuleAction } from "../domain/prop-rules";
import type { EventBus } from "../events";
import type { Logger } from "../log";
import { flattenAccount } from "./flatten-account";
import type { FlattenContext } from "./flatten-context";
import { FlattenJob } from "./job";
import {
  disableTraders,
  insertPropBreach,
  type PropBreachRow,
  type PropRuleName,
  updatePropBreach,
} from "./prop-repo";
import { breachMessage } from "./prop-text";

export interface PropBreach {
  id?: string;
  accountId: string;
  brokerAccountId: string;
  rule: PropRuleName;
  action: RuleAction;
  tradingDay: string;
  message: string;
  equity: Dec;
  threshold: Dec;
  at: Date;
  stored?: Promise<void>;
  job?: FlattenJob;
  flattenedAt?: Date;
  tradersDisabledAt?: Date;
  disabling?: boolean;
}

export interface PropBreachesDeps {
  sql: Sql;
  log: Logger;
  bus: EventBus;
  directory: Directory;
  ctx: FlattenContext;
  now: () => Date;
  dayOf(accountId: string): string;
  retryDelaysMs?: number[];
}

export const RULES: PropRuleName[] = ["trailingDrawdown", "dailyLossLimit", "dailyProfitTarget"];
const SEED: Record<PropRuleName, string> = {
  trailingDrawdown: "dd",
  dailyLossLimit: "dl",
  dailyProfitTarget: "pt",
};
export const subKey = (accountId: string, brokerAccountId: string) => `${accountId}|${brokerAccountId}`;

export class PropBreaches {
  readonly all = new Map<string, PropBreach>();

  constructor(private readonly d: PropBreachesDeps) {}

  /** Today's breach of a rule on a sub-account. */
  of(accountId: string, brokerAccountId: string, rule: PropRuleName): PropBreach | undefined {
    const b = this.all.get(`${subKey(accountId, brokerAccountId)}|${rule}`);
    return b && b.tradingDay === this.d.dayOf(accountId) ? b : undefined;
  }

  /** Why entries are refused on the sub-account, if a breach of today refuses them. */
  refusal(accountId: string, brokerAccountId: string): string | undefined {
    for (const rule of RULES) {
      const b = this.of(accountId, brokerAccountId, rule);
      // A fail keeps the gate shut until its traders are disabled; re-enabled by hand, they trade again.
      if (b && (b.action !== "fail" || !b.tradersDisabledAt)) return b.message;
    }
    return undefined;
  }

  onSessionReady(accountId: string): void {
    for (const b of this.all.values())
      if (b.accountId === accountId && (b.job?.state === "waiting" || b.job?.state === "stuck"))
        b.job.kick("sessionReady");
  }

  /** Fails whose traders could not be disabled yet are tried again. */
  tick(): void {
    for (const b of this.all.values())
      if (b.action === "fail" && !b.tradersDisabledAt && !b.disabling) void this.disable(b);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all.values()].map((b) => b.job?.stop()));
  }

  private names(accountId: string, brokerAccountId: string): { accountName: string; recorderIds: string[] } {
    const d = this.d.directory;
    const account = d.account(accountId);
    const sub = account?.brokerAccounts.find((b) => b.id === brokerAccountId)?.name ?? brokerAccountId;
    const recorderIds = [
      ...new Set(
        d
          .allTraders()
          .flatMap((t) =>
            t.accountId === accountId && t.brokerAccountId === brokerAccountId
              ? [t.recorderId as string]
              : [],
          ),
      ),
    ];
    return { accountName: `${account?.name ?? accountId} (${sub})`, recorderIds };
  }

  /** A rule reached: the gate closes now, then the announcement, the row and the action. */
  detect(
    s: { accountId: string; brokerAccountId: string; key: string },
    rule: PropRuleName,
    action: RuleAction,
    equity: Dec,
    threshold: Dec,
  ): void {
    const day = this.d.dayOf(s.accountId);
    const key = `${s.key}|${rule}`;
    const existing = this.all.get(key);
    if (existing && existing.tradingDay === day) return;
    const b: PropBreach = {
      accountId: s.accountId,
      brokerAccountId: s.brokerAccountId,
      rule,
      action,
      tradingDay: day,
      message: breachMessage(rule, action, equity, threshold),
      equity,
      threshold,
      at: this.d.now(),
    };
    this.all.set(key, b);
    const names = this.names(s.accountId, s.brokerAccountId);
    this.d.log.warn(
      {
        event: "PropRuleBreached",
        accountId: s.accountId,
        brokerAccountId: s.brokerAccountId,
        rule,
        action,
        equity: toStr(equity),
        threshold: toStr(threshold),
      },
      b.message,
    );
    this.d.bus.emit({
      type: "BreachDetected",
      at: b.at,
      scope: "account",
      traderId: null,
      accountId: s.accountId,
      ...names,
      limit: toStr(threshold),
      pnl: toStr(equity),
      tradingDay: day,
      rule,
      message: b.message,
    });
    b.stored = insertPropBreach(this.d.sql, {
      accountId: b.accountId,
      brokerAccountId: b.brokerAccountId,
      rule,
      action,
      tradingDay: day,
      message: b.message,
      equity,
      threshold,
      breachedAt: b.at,
    }).then(
      (row) => {
        b.id = row.id;
      },
      (error: unknown) =>
        this.d.log.error({ event: "PropBreachNotStored", key, error: String(error) }, "kept in memory only"),
    );
    if (action !== "pause") this.flatten(b, 0, "detected");
    if (action === "fail") void this.disable(b);
  }

  restore(row: PropBreachRow): void {
    const b: PropBreach = {
      id: row.id,
      accountId: row.accountId,
      brokerAccountId: row.brokerAccountId,
      rule: row.rule,
      action: row.action,
      tradingDay: row.tradingDay,
      message: row.message,
      equity: row.equity,
      threshold: row.threshold,
      at: row.breachedAt,
      stored: Promise.resolve(),
      ...(row.flattenedAt ? { flattenedAt: row.flattenedAt } : {}),
      ...(row.tradersDisabledAt ? { tradersDisabledAt: row.tradersDisabledAt } : {}),
    };
    this.all.set(`${subKey(row.accountId, row.brokerAccountId)}|${row.rule}`, b);
    if (row.action !== "pause") this.flatten(b, row.attempts, row.status === "flat" ? "flat" : "detected");
  }

  private flatten(b: PropBreach, attempts: number, initial: "detected" | "flat"): void {
    const { d } = this;
    const key = `${subKey(b.accountId, b.brokerAccountId)}|${b.rule}`;
    b.job = new FlattenJob(
      key,
      {
        attempt: () =>
          flattenAccount(
            d.ctx,
            b.accountId,
            [b.brokerAccountId],
            `prop:${b.tradingDay}:${SEED[b.rule]}`,
            b.message,
          ),
        changed: async (state, info) => {
          await b.stored;
          if (state === "flat") b.flattenedAt = d.now();
          if (b.id)
            await updatePropBreach(d.sql, b.id, {
              status: state === "detected" ? "flattening" : state,
              attempts: info.attempts,
              lastError: info.error,
              ...(state === "flat" && b.flattenedAt ? { flattenedAt: b.flattenedAt } : {}),
            });
          if (state !== "flat") return;
          d.log.warn({ event: "PropBreachFlattened", key, attempts: info.attempts }, b.message);
          d.bus.emit({
            type: "BreachFlattened",
            at: d.now(),
            scope: "account",
            traderId: null,
            accountId: b.accountId,
            ...this.names(b.accountId, b.brokerAccountId),
            attempts: info.attempts,
            tradingDay: b.tradingDay,
            rule: b.rule,
            message: b.message,
          });
        },
      },
      d.log,
      d.retryDelaysMs,
      attempts,
      initial,
    );
    if (initial !== "flat") b.job.kick("start");
  }

  /**
   * A position back on a sub-account flattened today (a late fill): flattened again, bounded. After a fail
   * whose traders someone re-enabled by hand, new positions are that person's decision: left alone.
   */
  reopened(s: { accountId: string; brokerAccountId: string; key: string }): void {
    const day = this.d.dayOf(s.accountId);
    const reenabled = this.d.directory
      .allTraders()
      .some((t) => t.accountId === s.accountId && t.brokerAccountId === s.brokerAccountId && t.enabled);
    for (const rule of RULES) {
      const b = this.all.get(`${s.key}|${rule}`);
      if (b?.tradingDay !== day || b.job?.state !== "flat" || b.action === "pause") continue;
      if (b.action === "fail" && b.tradersDisabledAt && reenabled) continue;
      b.job.kick("reopened");
    }
  }

  /** Fail: the sub-account's traders off until someone turns them back on. */
  async disable(b: PropBreach): Promise<void> {
    if (b.disabling || b.tradersDisabledAt) return;
    b.disabling = true;
    try {
      const ids = await disableTraders(this.d.sql, b.accountId, b.brokerAccountId);
      await audit(this.d.sql, "loss-monitor", "traders.disable", b.accountId, {
        brokerAccountId: b.brokerAccountId,
        traders: ids,
        reason: b.message,
      });
      await this.d.directory.refresh();
      b.tradersDisabledAt = this.d.now();
      await b.stored;
      if (b.id) await updatePropBreach(this.d.sql, b.id, { tradersDisabledAt: b.tradersDisabledAt });
      this.d.log.warn(
        {
          event: "PropTradersDisabled",
          accountId: b.accountId,
          brokerAccountId: b.brokerAccountId,
          traders: ids,
        },
        "traders disabled until re-enabled by hand",
      );
    } catch (error) {
      this.d.log.error(
        { event: "PropTradersNotDisabled", accountId: b.accountId, error: String(error) },
        "entries stay refused; retried",
      );
    } finally {
      b.disabling = false;
    }
  }
}
