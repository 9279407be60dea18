/**
 * What the broker really holds in one contract of one sub-account: the number every close, flatten and
 * protect decision starts from (src/domain/broker-truth.ts). "Could not ask" is never "flat".
 */
import type { BrokerSession } from "../brokers/port";
import type { BrokerAccountId } from "../domain/ids";
import { BrokerUnreachable, why } from "./unreachable";

/** The broker's signed net position; throws BrokerUnreachable when it cannot be read. */
export async function brokerNet(
  session: BrokerSession,
  brokerAccountId: BrokerAccountId,
  contract: string,
  /** Ask the broker itself, past a socket's mirror: before acting on a difference with the book. */
  fresh = false,
): Promise<number> {
  let last: unknown;
  for (const pause of [0, 250, 1_000]) {
    if (pause) await new Promise((r) => setTimeout(r, pause));
    try {
      const positions = await session.positions(brokerAccountId, { fresh });
      return positions.find((p) => p.contract === contract)?.netPos ?? 0;
    } catch (error) {
      last = error;
    }
  }
  throw new BrokerUnreachable(`could not read the broker's position in ${contract} (${why(last)})`);
}
