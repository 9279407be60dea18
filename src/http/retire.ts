/**
 * Deleting a trader or a login without leaving anything of ours at the broker. Without `flatten`, a trader
 * (or login) that still holds a position or working orders is refused with what it holds; with it, its
 * orders are cancelled and its positions closed first (the loss monitor's flatten, through the order
 * kernel), and it is deleted only once nothing is left. A login being deleted takes no new traders.
 */
import { abandonAccountDelete, beginAccountDelete, softDeleteAccount } from "../db/accounts";
import { announceSessionReset } from "../db/owners";
import {
  getTrader,
  type Holdings,
  holdsAnything,
  listTraders,
  softDeleteTrader,
  traderHoldings,
  updateTrader,
} from "../db/traders";
import { RelayError } from "../errors";
import { NotOwner } from "../sessions/ownership";
import type { Services } from "./context";

const describe = (h: Holdings): string => {
  const parts = h.positions.map(
    (p) => `${p.netQty > 0 ? "long" : "short"} ${Math.abs(p.netQty)} ${p.contract}`,
  );
  if (h.orders > 0) parts.push(`${h.orders} working order${h.orders === 1 ? "" : "s"} at the broker`);
  return parts.join(", ");
};

export interface Retired {
  flattened: boolean;
  held: string;
}

/** Deletes a trader; `flatten` closes and cancels what it holds first. Throws a RelayError otherwise. */
export async function retireTrader(s: Services, id: string, flatten: boolean): Promise<Retired> {
  const trader = await getTrader(s.sql, id);
  if (!trader) throw new RelayError("not_found", "No such trader.");
  const held = await settle(s, id, trader.accountId, flatten, trader.enabled);
  if (!(await softDeleteTrader(s.sql, id))) throw new RelayError("not_found", "No such trader.");
  await s.directory.refresh();
  return { flattened: held !== "", held };
}

/** Deletes a login with its traders; `flatten` closes and cancels what they hold first. */
export async function retireAccount(s: Services, id: string, flatten: boolean): Promise<Retired[]> {
  const begun = await beginAccountDelete(s.sql, id);
  if (begun === "missing") throw new RelayError("not_found", "No such account.");
  if (begun === "busy") throw new RelayError("conflict", "This account is already being deleted.");
  let release: (() => void) | undefined;
  try {
    const traders = await listTraders(s.sql, { accountId: id });
    if (traders.length > 0 && !flatten) {
      throw new RelayError(
        "conflict",
        `This account is linked to ${traders.length} trader(s); delete those links first, or pass ?flatten=true to cancel their orders, close their positions and delete them with the account.`,
      );
    }
    // Its orders are looked up and cancelled through its session: on this relay, whichever relay holds it.
    release = await holdHere(s, id);
    const done: Retired[] = [];
    for (const t of traders) done.push({ flattened: true, held: await settle(s, t.id, id, true, t.enabled) });
    const leftovers = await s.lossMonitor.cancelUnowned(id, []);
    if (leftovers.length > 0) {
      throw new RelayError(
        "conflict",
        `Orders of ours are still working on this account and could not be cancelled (${leftovers.join("; ")}); nothing was deleted.`,
      );
    }
    for (const t of traders) await softDeleteTrader(s.sql, t.id);
    if (!(await softDeleteAccount(s.sql, id))) throw new RelayError("not_found", "No such account.");
    await s.pool.remove(id);
    await announceSessionReset(s.sql, id, s.config.instanceId).catch(() => undefined);
    await s.directory.refresh();
    return done;
  } catch (error) {
    await abandonAccountDelete(s.sql, id);
    await s.directory.refresh();
    throw error;
  } finally {
    release?.();
  }
}

/**
 * The account's session on this relay for the action (issue 16: its holder hands it over), or a 409 that
 * says where it runs. One relay alone holds every account: this costs nothing then.
 */
async function holdHere(s: Services, accountId: string): Promise<() => void> {
  if (!s.ownership) return () => undefined;
  try {
    return await s.ownership.bringHere(accountId);
  } catch (error) {
    if (!(error instanceof NotOwner)) throw error;
    throw new RelayError(
      "conflict",
      `This login's broker session runs on another relay (${error.holder}), which did not hand it over within 15 s (something of it is still running there); nothing was changed. Try again shortly.`,
    );
  }
}

/**
 * Makes sure a trader holds nothing at the broker: refuses when it does and `flatten` is off; otherwise
 * disables it (no new signal reaches it), flattens, and checks nothing is left. On failure the trader is
 * enabled again as it was. Returns what it held ("" when nothing).
 */
async function settle(
  s: Services,
  traderId: string,
  accountId: string,
  flatten: boolean,
  wasEnabled: boolean,
): Promise<string> {
  const before = await traderHoldings(s.sql, traderId);
  if (before.executions > 0) {
    throw new RelayError(
      "conflict",
      "This trader has a signal still being executed (or waiting for its broker); try again once it has finished.",
    );
  }
  if (!holdsAnything(before)) return "";
  const held = describe(before);
  if (!flatten) {
    throw new RelayError(
      "conflict",
      `This trader holds ${held}; deleting it would leave them unmanaged at the broker. Pass ?flatten=true to cancel its orders and close its position first.`,
    );
  }
  // The flatten runs where the account's session is: brought to this relay if another holds it.
  const release = await holdHere(s, accountId);
  try {
    if (wasEnabled) {
      await updateTrader(s.sql, traderId, { enabled: false });
      await s.directory.refresh();
    }
    const result = await s.lossMonitor.retireTrader(traderId);
    const after = await traderHoldings(s.sql, traderId);
    if (result.flat && !holdsAnything(after)) return held;
    if (wasEnabled) {
      await updateTrader(s.sql, traderId, { enabled: true });
      await s.directory.refresh();
    }
    const why = result.flat ? `still ${describe(after)}` : result.reason;
    throw new RelayError(
      "conflict",
      `Could not flatten the trader (${why}); nothing was deleted. It held ${held}.`,
    );
  } finally {
    release();
  }
}
