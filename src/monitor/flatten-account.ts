/**
 * One attempt to flatten a whole account (account-scope breach, kill switch): every contract the broker
 * shows with a position or working orders on each of the login's sub-accounts is liquidated by the broker
 * itself, which closes the position and cancels its orders together (never stops first, then a close that
 * might fail). When one trader owns the whole position the liquidation books onto that trader; otherwise
 * every trader's booked position in the contract is closed in the book at the liquidation price.
 */
import type { BrokerOrder, BrokerPosition } from "../brokers/port";
import { asBrokerAccountId } from "../domain/ids";
import { bookedInContract } from "./book-reads";
import { type AttemptResult, type FlattenContext, readySession, why } from "./flatten-context";
import { liquidate } from "./flatten-native";

export async function flattenAccount(
  ctx: FlattenContext,
  accountId: string,
  brokerAccountIds: string[],
  seed: string,
  reason: string,
): Promise<AttemptResult> {
  const session = await readySession(ctx, accountId);
  if (!session) return { flat: false, reason: "the broker session is not ready", sessionDown: true };
  const results = await Promise.all(
    brokerAccountIds.map(async (brokerAccountId): Promise<AttemptResult[]> => {
      const account = asBrokerAccountId(brokerAccountId);
      let positions: BrokerPosition[];
      let working: BrokerOrder[];
      try {
        [positions, working] = await Promise.all([
          session.positions(account),
          session.workingOrders(account),
        ]);
      } catch (error) {
        return [{ flat: false, reason: `${brokerAccountId}: could not read the broker: ${why(error)}` }];
      }
      const contracts = new Set([
        ...positions.filter((p) => p.netPos !== 0).map((p) => p.contract),
        ...working.map((o) => o.contract),
      ]);
      return Promise.all(
        [...contracts].map(async (contract): Promise<AttemptResult> => {
          const key = { accountId, brokerAccountId, contract };
          const snapshot = {
            brokerNet: positions.find((p) => p.contract === contract)?.netPos ?? 0,
            working: working.filter((o) => o.contract === contract),
          };
          try {
            const booked = await bookedInContract(ctx.sql, key);
            const only = booked.length === 1 ? booked[0] : undefined;
            const owner = only && only.netQty === snapshot.brokerNet ? only.traderId : null;
            const seedOf = `${seed}:${brokerAccountId}:${contract}`;
            return await liquidate(
              ctx,
              session,
              { ...key, seed: seedOf, subject: accountId, owner, why: reason },
              snapshot,
            );
          } catch (error) {
            return { flat: false, reason: `${contract}: ${why(error)}` };
          }
        }),
      );
    }),
  );
  const failed = results.flat().filter((r): r is Extract<AttemptResult, { flat: false }> => !r.flat);
  if (failed.length === 0) return { flat: true };
  return { flat: false, reason: failed.map((f) => f.reason).join("; ") };
}
