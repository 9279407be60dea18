/**
 * Flatten one contract on one account: Position/closeContract first, then cancel the contract's working
 * orders (suspended bracket children included). Never the other way round: if the close fails, the stops
 * are still there protecting the position. The close executes as a market order that carries no customTag and whose
 * id the gateway does not return, so the outcome is settled by polling positions until flat and taking
 * the newest untagged market order on the contract from Order/search.
 *
 * An account already flat (PositionNotFound) is reported as accepted with `raw: {alreadyFlat: true}` and
 * the placeholder order id "flat".
 */
import type { ContractSpec } from "../../domain/contract";
import { dec, isPositive } from "../../domain/decimal";
import { asBrokerOrderId, type BrokerAccountId, type ClientOrderId } from "../../domain/ids";
import type { Logger } from "../../log";
import type { OrderOutcome } from "../port";
import type { CloseBook } from "./closes";
import type { ProjectXHttp } from "./http";
import { type OrderOps, outcomeOf } from "./orders";
import { accountNumber, parseTime, WireType } from "./parse";
import { envelopeSchema } from "./wire";

export interface FlattenDeps {
  http: ProjectXHttp;
  ops: OrderOps;
  /** Remembers the close under the flatten's client order id, for `findOrder`. */
  closes: CloseBook;
  logger: Logger;
  /** How long to wait for the position to read flat before the outcome is `unknown`. */
  settleMs: number;
}

export async function flattenContract(
  deps: FlattenDeps,
  account: BrokerAccountId,
  contract: ContractSpec,
  clientOrderId: ClientOrderId,
): Promise<OrderOutcome> {
  const accountId = accountNumber(account);
  if (accountId === undefined)
    return { kind: "rejected", reason: `not sent: not a ProjectX account id: ${account}` };
  const contractId = await deps.ops.contractIdOf(contract);
  if (typeof contractId !== "string") return contractId;
  const started = Date.now();
  const log = { brokerAccountId: account, contractId, clientOrderId };
  const cancelWorking = async () => {
    try {
      const working = (await deps.ops.working(accountId)).filter((o) => o.contractId === contractId);
      await Promise.all(working.map((o) => deps.ops.cancel(account, asBrokerOrderId(String(o.id)))));
    } catch (error) {
      // The position is closed or closing; leftovers are found and cancelled by reconciliation.
      deps.logger.warn(
        { event: "FlattenCancelSkipped", ...log, reason: String(error) },
        "working orders unknown",
      );
    }
  };
  deps.closes.requested(clientOrderId, accountId, contractId);
  const result = await deps.http.post(
    "/api/Position/closeContract",
    { accountId, contractId },
    envelopeSchema,
  );
  if (result.kind === "failed" && result.errorCode === 2) {
    deps.closes.forget(clientOrderId);
    deps.logger.info({ event: "PositionAlreadyFlat", ...log });
    await cancelWorking();
    return { kind: "accepted", brokerOrderId: asBrokerOrderId("flat"), raw: { alreadyFlat: true } };
  }
  if (result.kind !== "ok") {
    const outcome = outcomeOf(result, "closeContract");
    // Refused: no close was placed. No answer: the close may exist; findOrder looks for it.
    if (outcome.kind === "rejected") deps.closes.forget(clientOrderId);
    deps.logger.warn({ event: "FlattenFailed", ...log, outcome }, "ProjectX closeContract failed");
    return outcome;
  }
  deps.logger.info({ event: "PositionCloseRequested", ...log });
  // The close is accepted: now the exits would only re-open a position if they triggered.
  await cancelWorking();
  const outcome = await settleClose(deps, accountId, contractId, started);
  const closeId = outcome.kind === "accepted" ? Number(outcome.brokerOrderId) : Number.NaN;
  if (Number.isSafeInteger(closeId)) deps.closes.settled(clientOrderId, closeId);
  return outcome;
}

async function settleClose(
  deps: FlattenDeps,
  accountId: number,
  contractId: string,
  started: number,
): Promise<OrderOutcome> {
  const deadline = Date.now() + deps.settleMs;
  for (;;) {
    const flat = await deps.ops
      .positions(accountId)
      .then((rows) => !rows.some((p) => p.contractId === contractId))
      .catch(() => false);
    if (flat) {
      const orders = await deps.ops.search(accountId, started - 5_000).catch(() => []);
      const close = orders
        .filter((o) => o.contractId === contractId && o.type === WireType.market && !o.customTag)
        .sort((a, b) => b.id - a.id)[0];
      const price = close?.filledPrice ? dec(close.filledPrice) : undefined;
      return {
        kind: "accepted",
        brokerOrderId: asBrokerOrderId(close ? String(close.id) : `close:${contractId}`),
        ...(close && price && isPositive(price)
          ? {
              fill: {
                price,
                qty: close.fillVolume ?? close.size,
                cumQty: close.fillVolume ?? close.size,
                at: parseTime(close.updateTimestamp, Date.now()),
              },
            }
          : {}),
        raw: close,
      };
    }
    if (Date.now() > deadline)
      return { kind: "unknown", reason: "ProjectX accepted the close but the position is not flat yet" };
    await new Promise((r) => setTimeout(r, 250));
  }
}
