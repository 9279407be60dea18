/**
 * Differences between a broker and the relay's book, reported once each: recorded in the `drift` table
 * (one open row per account, sub-account, contract and kind), logged, and announced to notifications.
 * Reconciliation, the one close and the fill recorder all report through here.
 */
import type { Sql } from "../db/client";
import { recordDrift } from "../db/drift";
import type { Directory } from "../directory";
import type { EventBus } from "../events";
import type { Logger } from "../log";

export interface Drift {
  accountId: string;
  brokerAccountId: string;
  contract: string;
  /**
   * unknown_position | position_mismatch | book_corrected | missing_exit | orphan_exit | order_settled |
   * fill_conflict
   */
  kind: string;
  detail: string;
  /** True when the relay fixed it (its own book or its own orders); false when it is only reported. */
  fixed: boolean;
}

export class DriftDesk {
  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly directory: Directory,
    private readonly bus: EventBus,
  ) {}

  /** Records and announces a drift; true when it was not already open. Never throws. */
  async report(d: Drift): Promise<boolean> {
    let fresh: boolean;
    try {
      fresh = await recordDrift(this.sql, d);
    } catch (error) {
      this.logger.error({ event: "DriftNotRecorded", ...d, error: String(error) }, d.detail);
      return false;
    }
    if (!fresh) return false;
    this.logger.warn({ event: "ReconciliationDrift", ...d }, d.detail);
    const account = this.directory.account(d.accountId);
    this.bus.emit({
      type: "ReconciliationDrift",
      at: new Date(),
      ...d,
      accountName: account?.name ?? d.accountId,
      recorderIds: [
        ...new Set(
          this.directory
            .allTraders()
            .filter((t) => t.accountId === d.accountId && t.brokerAccountId === d.brokerAccountId)
            .map((t) => t.recorderId as string),
        ),
      ],
    });
    return true;
  }
}
