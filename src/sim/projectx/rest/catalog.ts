/** Account and contract routes: Account/search, Contract/search, searchById, available. */
import { z } from "zod";
import { contractModel } from "../contracts";
import { okResult, type Route, route } from "../state";

export const catalogRoutes: Record<string, Route> = {
  "/api/Account/search": route(
    z.object({ onlyActiveAccounts: z.boolean().optional() }).loose(),
    (state, user, body) => {
      const owner = user ? state.users.get(user) : undefined;
      const accounts = (owner?.accountIds ?? [])
        .map((id) => state.book.accounts.get(id))
        .filter((a) => a !== undefined)
        .filter((a) => !body.onlyActiveAccounts || a.active)
        .map((a) => state.book.accountModel(a));
      return okResult({ accounts });
    },
  ),
  "/api/Contract/search": route(
    z.object({ searchText: z.string().nullish(), live: z.boolean().optional() }).loose(),
    (state, _user, body) =>
      okResult({ contracts: state.contracts.search(body.searchText ?? "").map(contractModel) }),
  ),
  "/api/Contract/searchById": route(z.object({ contractId: z.string() }).loose(), (state, _user, body) => {
    const contract = state.contracts.get(body.contractId);
    return okResult({ contract: contract ? contractModel(contract) : null });
  }),
  "/api/Contract/available": route(z.object({ live: z.boolean().optional() }).loose(), (state) =>
    okResult({
      contracts: state.contracts
        .all()
        .filter((c) => c.activeContract)
        .map(contractModel),
    }),
  ),
};
