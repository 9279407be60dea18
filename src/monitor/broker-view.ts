/**
 * The broker's own view of an account, for account limits and account-wide flattens: which sub-accounts
 * it covers, and its current positions read from the broker (events only report changes, so this seeds
 * the book at start, after a reconnect, and before an account breach is declared).
 */
import type { Directory } from "../directory";
import { asBrokerAccountId } from "../domain/ids";
import type { Logger } from "../log";
import type { SessionPool } from "../sessions/pool";
import type { Market } from "./market";
import type { PnlBook } from "./pnl-book";

/** Sub-accounts an account limit (or a flatten of the account) covers. */
export function subAccountsOf(directory: Directory, book: PnlBook, accountId: string): string[] {
  const out = new Set<string>();
  for (const s of directory.account(accountId)?.brokerAccounts ?? []) out.add(s.id);
  for (const t of directory.allTraders()) if (t.accountId === accountId) out.add(t.brokerAccountId);
  for (const h of book.brokerHoldingsOf(accountId)) out.add(h.brokerAccountId);
  return [...out];
}

/**
 * Replaces the book's broker positions of the account with what the broker shows now. False when the
 * session is not ready (nothing could be read).
 */
export async function readBrokerPositions(
  d: { pool: SessionPool; book: PnlBook; market: Market; directory: Directory; log: Logger },
  accountId: string,
): Promise<boolean> {
  const session = d.pool.peek(accountId);
  if (session?.status().state !== "ready") return false;
  for (const brokerAccountId of subAccountsOf(d.directory, d.book, accountId)) {
    try {
      const positions = await session.positions(asBrokerAccountId(brokerAccountId));
      const seen = new Set(positions.map((p) => p.contract));
      for (const h of d.book.brokerHoldingsOf(accountId))
        if (h.brokerAccountId === brokerAccountId && !seen.has(h.contract))
          d.book.setBrokerHolding({ ...h, netQty: 0 });
      for (const p of positions) {
        d.book.setBrokerHolding({
          accountId,
          brokerAccountId,
          contract: p.contract,
          netQty: p.netPos,
          ...(p.avgPrice !== undefined ? { avgPrice: p.avgPrice } : {}),
        });
        if (p.netPos !== 0) d.market.watch(accountId, p.contract);
      }
    } catch (error) {
      d.log.warn({ event: "BrokerPositionsUnknown", accountId, brokerAccountId, error: String(error) });
    }
  }
  return true;
}
