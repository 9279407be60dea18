/** Position and trade routes: Position/searchOpen, closeContract, partialCloseContract, Trade/search. */
import { z } from "zod";
import { closeContract, type Result } from "../commands";
import { tradeModel } from "../models";
import { okResult, type Route, route, type SimState } from "../state";
import { inRange } from "./orders";

function recordClose(state: SimState, accountId: number, contractId: string, result: Result, size?: number) {
  state.recorder.closes.push({
    accountId,
    contractId,
    ...(size !== undefined ? { size } : {}),
    success: result.errorCode === 0,
    errorCode: result.errorCode,
    at: state.now(),
  });
  return result;
}

export const positionRoutes: Record<string, Route> = {
  "/api/Position/searchOpen": route(
    z.object({ accountId: z.number().int() }).loose(),
    (state, user, body) => {
      if (!state.account(user, body.accountId)) return { errorCode: 1, errorMessage: "Account not found." };
      return okResult({ positions: state.book.openPositions(body.accountId) });
    },
  ),
  "/api/Position/closeContract": route(
    z.object({ accountId: z.number().int(), contractId: z.string() }).loose(),
    (state, user, body) =>
      recordClose(
        state,
        body.accountId,
        body.contractId,
        closeContract(state.book, state.account(user, body.accountId), body.contractId),
      ),
  ),
  "/api/Position/partialCloseContract": route(
    z.object({ accountId: z.number().int(), contractId: z.string(), size: z.number() }).loose(),
    (state, user, body) =>
      recordClose(
        state,
        body.accountId,
        body.contractId,
        closeContract(state.book, state.account(user, body.accountId), body.contractId, body.size),
        body.size,
      ),
  ),
  "/api/Trade/search": route(
    z
      .object({
        accountId: z.number().int(),
        startTimestamp: z.string().nullish(),
        endTimestamp: z.string().nullish(),
      })
      .loose(),
    (state, user, body) => {
      if (!state.account(user, body.accountId)) return { errorCode: 1, errorMessage: "Account not found." };
      const trades = state.book.trades
        .filter((t) => t.accountId === body.accountId)
        .filter((t) => inRange(t.createdAt, body.startTimestamp, body.endTimestamp))
        .map(tradeModel);
      return okResult({ trades });
    },
  ),
};
