/**
 * An entry with its stop-loss and take-profit.
 *
 * - Auto OCO Brackets accounts: one Order/place with `stopLossBracket` / `takeProfitBracket` in signed
 *   ticks. The gateway holds the children (status 8, customTags `<tag>-SL` / `<tag>-TP`) and prices them
 *   from the real fill; the two cancel each other.
 * - Position Brackets accounts (the gateway's default): the entry alone, then, once its fill price is
 *   known, the two exits as separate orders linked by the adapter (see oco.ts), tagged `<tag>-SL` and
 *   `<tag>-TP` as well. No fill price, no stop: the outcome says the position is unprotected.
 * In `detect` (or a misconfigured `autoOco`) mode the Position Brackets refusal switches the account to
 * separate orders; the refused order was never live, so its tag is re-used [UNCONFIRMED: the gateway may
 * keep a refused order's tag taken; the refusal would then be reported, never worked around].
 */
import { add, type Dec, isPositive, times } from "../../domain/decimal";
import { asClientOrderId, type BrokerAccountId, type BrokerOrderId } from "../../domain/ids";
import type { Logger } from "../../log";
import type { BrokerOrder, Fill, OrderOutcome, OrderRequest } from "../port";
import type { BracketMode } from "./config";
import type { BracketTicks, OrderOps } from "./orders";

export interface BracketOutcome {
  mode: "native" | "separate";
  entry: OrderOutcome;
  stopLoss?: OrderOutcome;
  takeProfit?: OrderOutcome;
  /** Why the position may be open without its stop; the caller alerts. */
  unprotected?: string;
}

export interface BracketDeps {
  ops: OrderOps;
  logger: Logger;
  fillWaitMs: number;
  mode(account: BrokerAccountId): BracketMode;
  learn(account: BrokerAccountId, mode: BracketMode): void;
  waitForFill(account: BrokerAccountId, orderId: BrokerOrderId, timeoutMs: number): Promise<Fill | undefined>;
  placeOco(first: OrderRequest, second: OrderRequest): Promise<[OrderOutcome, OrderOutcome]>;
  find(account: BrokerAccountId, clientOrderId: string): Promise<BrokerOrder | null>;
}

const POSITION_BRACKETS = /Position Brackets|Auto OCO/i;

function isPositionBracketsRefusal(outcome: OrderOutcome): boolean {
  return outcome.kind === "rejected" && outcome.code === "2" && POSITION_BRACKETS.test(outcome.reason);
}

function checkTicks(value: number | undefined, what: string): number | undefined {
  if (value === undefined || value === 0) return undefined;
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${what} must be a positive whole number of ticks`);
  return value;
}

async function child(deps: BracketDeps, entry: OrderRequest, suffix: "SL" | "TP"): Promise<OrderOutcome> {
  const tag = `${entry.clientOrderId}-${suffix}`;
  const found = await deps.find(entry.brokerAccountId, tag).catch(() => null);
  return found
    ? { kind: "accepted", brokerOrderId: found.brokerOrderId, raw: found }
    : { kind: "unknown", reason: `bracket child ${tag} not listed yet` };
}

export async function placeWithBrackets(
  deps: BracketDeps,
  entry: OrderRequest,
  brackets: BracketTicks,
): Promise<BracketOutcome> {
  const sl = checkTicks(brackets.stopLossTicks, "stopLossTicks");
  const tp = checkTicks(brackets.takeProfitTicks, "takeProfitTicks");
  const account = entry.brokerAccountId;
  if ((sl || tp) && deps.mode(account) !== "positionBrackets") {
    const outcome = await deps.ops.place(entry, { stopLossTicks: sl, takeProfitTicks: tp });
    if (outcome.kind === "accepted") {
      deps.learn(account, "autoOco");
      const [stopLoss, takeProfit] = await Promise.all([
        sl ? child(deps, entry, "SL") : undefined,
        tp ? child(deps, entry, "TP") : undefined,
      ]);
      return {
        mode: "native",
        entry: outcome,
        ...(stopLoss ? { stopLoss } : {}),
        ...(takeProfit ? { takeProfit } : {}),
      };
    }
    if (!isPositionBracketsRefusal(outcome)) {
      return {
        mode: "native",
        entry: outcome,
        ...(outcome.kind === "unknown" ? { unprotected: `entry outcome unknown: ${outcome.reason}` } : {}),
      };
    }
    deps.learn(account, "positionBrackets");
    deps.logger.warn(
      { event: "BracketModeLearned", brokerAccountId: account, mode: "positionBrackets" },
      "account is in Position Brackets mode: exits become separate orders",
    );
  }
  return placeSeparate(deps, entry, sl, tp);
}

async function placeSeparate(
  deps: BracketDeps,
  entry: OrderRequest,
  sl: number | undefined,
  tp: number | undefined,
): Promise<BracketOutcome> {
  const placed = await deps.ops.place(entry);
  if (!sl && !tp) return { mode: "separate", entry: placed };
  if (placed.kind === "rejected") return { mode: "separate", entry: placed };
  if (placed.kind === "unknown")
    return {
      mode: "separate",
      entry: placed,
      unprotected: `entry outcome unknown: ${placed.reason}; no exits placed`,
    };
  const fill =
    placed.fill ?? (await deps.waitForFill(entry.brokerAccountId, placed.brokerOrderId, deps.fillWaitMs));
  if (!fill || !isPositive(fill.price)) {
    return {
      mode: "separate",
      entry: placed,
      unprotected: `no fill price for the entry within ${Math.round(deps.fillWaitMs / 1000)} s: no exits placed`,
    };
  }
  const long = entry.side === "buy";
  const tick = entry.contract.tickSize;
  const at = (ticks: number): Dec => add(fill.price, times(tick, ticks));
  const base = {
    brokerAccountId: entry.brokerAccountId,
    contract: entry.contract,
    side: long ? "sell" : "buy",
    qty: fill.qty,
  } as const;
  const stop: OrderRequest | undefined = sl
    ? {
        ...base,
        clientOrderId: asClientOrderId(`${entry.clientOrderId}-SL`),
        type: "stop",
        stopPrice: at(long ? -sl : sl),
      }
    : undefined;
  const target: OrderRequest | undefined = tp
    ? {
        ...base,
        clientOrderId: asClientOrderId(`${entry.clientOrderId}-TP`),
        type: "limit",
        price: at(long ? tp : -tp),
      }
    : undefined;
  let stopLoss: OrderOutcome | undefined;
  let takeProfit: OrderOutcome | undefined;
  if (stop && target) [takeProfit, stopLoss] = await deps.placeOco(target, stop);
  else if (stop) stopLoss = await deps.ops.place(stop);
  else if (target) takeProfit = await deps.ops.place(target);
  const result: BracketOutcome = {
    mode: "separate",
    entry: { ...placed, fill },
    ...(stopLoss ? { stopLoss } : {}),
    ...(takeProfit ? { takeProfit } : {}),
  };
  if (stopLoss && stopLoss.kind !== "accepted")
    result.unprotected = `stop loss not placed (${stopLoss.kind}): ${stopLoss.reason}`;
  return result;
}
