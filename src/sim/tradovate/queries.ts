/**
 * Entity queries (`<entity>/list|item|items|find|deps|suggest`), the cash balance snapshot and the
 * user/syncrequest snapshot. Private entities are limited to the caller's accounts.
 */
import { add, toNum, ZERO } from "../../domain/decimal";
import type { SimUser } from "./auth";
import {
  accessDenied,
  badRequest,
  type CallContext,
  notFound,
  ok,
  type Reply,
  type SimWorld,
} from "./context";
import { AccountOnly, issueText, SyncRequest } from "./requests";
import type { TvAccount, TvUser } from "./types";

interface Row {
  id: number;
}

interface Source {
  rows: (world: SimWorld, user: SimUser) => Row[];
  /** The id `deps?masterid=` selects on. */
  master?: (row: Row) => number | undefined;
  name?: (row: Row) => string;
}

const field = (key: string) => (row: Row) => {
  const v = (row as unknown as Record<string, unknown>)[key];
  return typeof v === "number" ? v : undefined;
};

const mine = (world: SimWorld, user: SimUser) => world.store.forAccounts(new Set(user.accountById.keys()));

export function tvUser(world: SimWorld, user: SimUser): TvUser {
  return {
    id: user.id,
    name: user.name,
    timestamp: new Date(world.now()).toISOString(),
    email: `${user.name}@example.com`,
    status: "Active",
    professional: false,
  };
}

export function tvAccounts(world: SimWorld, user: SimUser, only?: ReadonlySet<number>): TvAccount[] {
  const list = only ? [...only].flatMap((id) => user.accountById.get(id) ?? []) : user.accounts;
  return list.map((a) => ({
    id: a.id,
    name: a.name,
    userId: user.id,
    accountType: "Customer",
    active: true,
    clearingHouseId: 2,
    riskCategoryId: 2,
    autoLiqProfileId: a.id,
    marginAccountType: "Speculator",
    legalStatus: "Individual",
    archived: false,
    timestamp: new Date(world.now()).toISOString(),
  }));
}

const SOURCES: Record<string, Source> = {
  account: { rows: tvAccounts, master: field("userId"), name: (r) => (r as TvAccount).name },
  user: { rows: (w, u) => [tvUser(w, u)], name: (r) => (r as TvUser).name },
  order: { rows: (w, u) => mine(w, u).orders, master: field("accountId") },
  orderversion: { rows: (w, u) => mine(w, u).orderVersions, master: field("orderId") },
  command: { rows: (w, u) => mine(w, u).commands, master: field("orderId") },
  commandreport: { rows: (w, u) => mine(w, u).commandReports, master: field("commandId") },
  executionreport: { rows: (w, u) => mine(w, u).executionReports, master: field("orderId") },
  fill: { rows: (w, u) => mine(w, u).fills, master: field("orderId") },
  fillpair: { rows: (w, u) => mine(w, u).fillPairs, master: field("positionId") },
  position: { rows: (w, u) => mine(w, u).positions, master: field("accountId") },
  cashbalance: { rows: (w, u) => mine(w, u).cashBalances, master: field("accountId") },
  contract: {
    rows: (w) => w.catalog.entries.map((e) => e.contract),
    master: field("contractMaturityId"),
    name: (r) => String((r as unknown as { name: string }).name),
  },
  contractmaturity: { rows: (w) => w.catalog.entries.map((e) => e.maturity), master: field("productId") },
  product: {
    rows: (w) => [...new Map(w.catalog.entries.map((e) => [e.product.id, e.product])).values()],
    name: (r) => String((r as unknown as { name: string }).name),
  },
};

const ids = (text: string | null): number[] =>
  (text ?? "")
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n));

function missing(world: SimWorld, what: string): Reply {
  return world.findMissing === "empty" ? ok(undefined) : notFound(`Not found: ${what}`);
}

/** Answers a query endpoint, or undefined when the endpoint is not a query. */
export function query(world: SimWorld, ctx: CallContext, body: unknown): Reply | undefined {
  const user = ctx.user;
  if (!user) return undefined;
  if (ctx.endpoint === "cashbalance/getcashbalancesnapshot") return cashSnapshot(world, user, body);
  const [entity = "", op = ""] = ctx.endpoint.split("/");
  const source = SOURCES[entity];
  if (!source) return undefined;
  const q = ctx.query;
  switch (op) {
    case "list":
      return ok(source.rows(world, user));
    case "item": {
      const id = Number(q.get("id"));
      const row = source.rows(world, user).find((r) => r.id === id);
      return row ? ok(row) : missing(world, `${entity} ${q.get("id") ?? ""}`);
    }
    case "items": {
      const wanted = new Set(ids(q.get("ids")));
      return ok(source.rows(world, user).filter((r) => wanted.has(r.id)));
    }
    case "deps":
    case "ldeps": {
      const masters = new Set(ids(q.get("masterid") ?? q.get("masterids")));
      const master = source.master;
      if (!master) return badRequest(`${entity} has no master`);
      return ok(source.rows(world, user).filter((r) => masters.has(master(r) ?? Number.NaN)));
    }
    case "find": {
      const name = (q.get("name") ?? "").trim();
      const byName = source.name;
      if (!byName) return badRequest(`${entity} has no name`);
      const row = source.rows(world, user).find((r) => byName(r).toUpperCase() === name.toUpperCase());
      return row ? ok(row) : missing(world, `${entity} ${name}`);
    }
    case "suggest": {
      if (entity !== "contract") return ok([]);
      return ok(world.catalog.suggest(q.get("t") ?? "", Number(q.get("l") ?? "10") || 10));
    }
    default:
      return undefined;
  }
}

function cashSnapshot(world: SimWorld, user: SimUser, body: unknown): Reply {
  const parsed = AccountOnly.safeParse(body);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const account = user.accountById.get(parsed.data.accountId);
  if (!account) return { status: 200, body: { errorText: "Access is denied" } };
  const venueAccount = world.venue.account(String(account.id));
  const cash = world.store.cashOf(account.id);
  let open = ZERO;
  let hasOpen = false;
  for (const p of world.venue.listPositions(String(account.id))) {
    if (p.netPos === 0) continue;
    hasOpen = true;
    open = add(open, world.venue.unrealized(p));
  }
  const balance = venueAccount?.balance ?? ZERO;
  const realized = venueAccount?.realizedToday ?? ZERO;
  return ok({
    totalCashValue: toNum(balance),
    totalPnL: toNum(add(realized, open)),
    initialMargin: 0,
    maintenanceMargin: 0,
    netLiq: toNum(add(balance, open)),
    ...(hasOpen ? { openPnL: toNum(open) } : {}),
    ...(cash && cash.realizedPnL !== 0 ? { realizedPnL: cash.realizedPnL } : {}),
    ...(cash ? { weekRealizedPnL: cash.weekRealizedPnL } : {}),
  });
}

/**
 * user/syncrequest: the snapshot for the requested users or accounts, and the account ids the socket
 * then receives props for.
 */
export function syncSnapshot(
  world: SimWorld,
  ctx: CallContext,
  body: unknown,
): { reply: Reply; accounts?: Set<number> } {
  const user = ctx.user;
  if (!user) return { reply: accessDenied() };
  const parsed = SyncRequest.safeParse(body ?? {});
  if (!parsed.success) return { reply: badRequest(issueText(parsed.error)) };
  const { users, accounts, entityTypes } = parsed.data;
  if (users?.some((id) => id !== user.id)) return { reply: { status: 401, body: "Access is denied" } };
  if (accounts?.some((id) => !user.accountById.has(id)))
    return { reply: { status: 401, body: "Access is denied" } };
  const selected = new Set(accounts && accounts.length > 0 ? accounts : user.accountById.keys());
  const entities = world.store.forAccounts(selected);
  const contractIds = new Set([...entities.orders, ...entities.positions].map((e) => e.contractId));
  const catalog = [...contractIds].flatMap((id) => {
    const e = world.catalog.contractById(id);
    return e ? [e] : [];
  });
  const snapshot: Record<string, unknown> = {
    users: [tvUser(world, user)],
    accounts: tvAccounts(world, user, selected),
    accountRiskStatuses: [],
    marginSnapshots: [],
    userAccountAutoLiqs: [],
    cashBalances: entities.cashBalances,
    currencies: [{ id: 1, name: "USD", symbol: "$" }],
    positions: entities.positions,
    fillPairs: entities.fillPairs,
    orders: entities.orders,
    contracts: catalog.map((e) => e.contract),
    contractMaturities: [...new Map(catalog.map((e) => [e.maturity.id, e.maturity])).values()],
    products: [...new Map(catalog.map((e) => [e.product.id, e.product])).values()],
    exchanges: [{ id: 1, name: "CME" }],
    spreadDefinitions: [],
    commands: entities.commands,
    commandReports: entities.commandReports,
    executionReports: entities.executionReports,
    orderVersions: entities.orderVersions,
    fills: entities.fills,
    orderStrategies: [],
    orderStrategyLinks: [],
    orderStrategyTypes: [],
    contractGroups: [],
    userProperties: [],
    properties: [],
    userPlugins: [],
    userReadStatuses: [],
  };
  if (entityTypes && entityTypes.length > 0) {
    const wanted = new Set(entityTypes.map((t) => t.toLowerCase()));
    for (const k of Object.keys(snapshot)) {
      if (k === "users" || k === "contractGroups") continue;
      if (!wanted.has(k.replace(/s$/, "").toLowerCase()) && !wanted.has(k.toLowerCase())) snapshot[k] = [];
    }
  }
  return { reply: ok(snapshot), accounts: selected };
}
