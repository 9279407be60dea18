/**
 * Issue 12, item 5: deleting what still trades. DELETE /api/traders/:id with a position or working orders
 * is refused (409 conflict), `?force=true` included; `?flatten=true` cancels the trader's orders, closes
 * its position at the broker and then deletes (204). DELETE /api/accounts/:id likewise for everything on
 * the login. A trader created while its account is being deleted is refused (409). Afterwards no order of
 * ours is left working for a trader or account that no longer exists, and no enabled trader points at a
 * deleted account.
 */
import type { FaultHarness, Follower, RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";
import {
  describeOrders,
  heldPosition,
  noteOutcomes,
  sendAlert,
  type TruthOptions,
  workingOurs,
} from "./truth-support";

export interface DeleteOptions extends TruthOptions {
  /** Followers whose traders get deleted. */
  traders: RecorderHandle;
  /** Followers whose accounts (logins) get deleted. */
  accounts: RecorderHandle;
  /** A second recorder, to link an account while it is being deleted. */
  spare: RecorderHandle;
}

const codeOf = (body: unknown): string | undefined =>
  (body as { error?: { code?: string } } | undefined)?.error?.code;

/** Polls until the follower's broker is flat with none of our orders working (true) or the deadline. */
async function cleared(h: FaultHarness, f: Follower, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (heldPosition(h, f) === 0 && workingOurs(h, f).length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
}

function leftAtBroker(h: FaultHarness, f: Follower): string {
  return `broker position ${heldPosition(h, f)}, our working orders: ${describeOrders(workingOurs(h, f))}`;
}

export async function deleteOpenScenario(ctx: ScenarioContext, o: DeleteOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun("delete-open", "traders and accounts deleted with an open position");
  const { h } = ctx;

  // Traders.
  const entry = await sendAlert(ctx, run, o.traders, { action: "buy" });
  await noteOutcomes(ctx, run, "entry (traders)", entry, o.traders.followers);
  for (const f of o.traders.followers) {
    const id = `${run.name}:${f.broker}:${f.brokerAccountId}`;
    const plain = await h.apiCall("DELETE", `/api/traders/${f.traderId}`);
    run.fault("deletes");
    if (plain.status < 400) {
      await sleep(o.settleMs);
      run.finding(
        "mismatched",
        "trader_deleted_while_open",
        id,
        `DELETE /api/traders/:id with a position answered ${plain.status}; left behind at the broker: ${leftAtBroker(h, f)}`,
      );
      continue;
    }
    if (plain.status !== 409 || codeOf(plain.body) !== "conflict")
      run.note(
        `${f.broker}: DELETE /api/traders/:id with a position refused with ${plain.status} ${plain.text.slice(0, 120)} (the contract says 409 conflict)`,
      );
    const force = await h.apiCall("DELETE", `/api/traders/${f.traderId}?force=true`);
    run.fault("deletes");
    if (force.status < 400) {
      await sleep(o.settleMs);
      run.finding(
        "mismatched",
        "trader_force_deleted_while_open",
        id,
        `DELETE ?force=true answered ${force.status}; left behind at the broker: ${leftAtBroker(h, f)}`,
      );
      continue;
    }
    // `force` is refused as a parameter the relay no longer accepts (422, since issue 12), whatever the position.
    if (force.status !== 422)
      run.note(
        `${f.broker}: DELETE ?force=true with a position refused with ${force.status} (the contract says 422: force is no longer accepted)`,
      );
    const flatten = await h.apiCall("DELETE", `/api/traders/${f.traderId}?flatten=true`);
    run.fault("deletes");
    if (flatten.status !== 204) {
      run.finding(
        "mismatched",
        "trader_flatten_delete_refused",
        id,
        `DELETE ?flatten=true answered ${flatten.status} ${flatten.text.slice(0, 200)}; ${leftAtBroker(h, f)}`,
      );
      continue;
    }
    if (!(await cleared(h, f)))
      run.finding(
        "lost",
        "left_after_trader_delete",
        id,
        `after DELETE ?flatten=true: ${leftAtBroker(h, f)}`,
      );
  }

  // Accounts, with a trader being created while its account is being deleted.
  const entry2 = await sendAlert(ctx, run, o.accounts, { action: "buy" });
  await noteOutcomes(ctx, run, "entry (accounts)", entry2, o.accounts.followers);
  for (const f of o.accounts.followers) {
    const id = `${run.name}:${f.broker}:${f.brokerAccountId}:account`;
    const plain = await h.apiCall("DELETE", `/api/accounts/${f.accountId}`);
    run.fault("deletes");
    if (plain.status < 400) {
      await sleep(o.settleMs);
      run.finding(
        "mismatched",
        "account_deleted_while_open",
        id,
        `DELETE /api/accounts/:id with a position answered ${plain.status}; left behind at the broker: ${leftAtBroker(h, f)}`,
      );
      continue;
    }
    if (plain.status !== 409 || codeOf(plain.body) !== "conflict")
      run.note(
        `${f.broker}: DELETE /api/accounts/:id with a position refused with ${plain.status} ${plain.text.slice(0, 120)} (the contract says 409 conflict)`,
      );
    const deleting = h.apiCall("DELETE", `/api/accounts/${f.accountId}?flatten=true`);
    await sleep(20);
    const link = await h.apiCall<{ id?: string }>("POST", "/api/traders", {
      recorderId: o.spare.id,
      accountId: f.accountId,
    });
    const deleted = await deleting;
    run.fault("deletes");
    run.fault("linksDuringDelete");
    run.note(
      `${f.broker} ${f.brokerAccountId}: DELETE ?flatten=true ${deleted.status}, POST /api/traders during it ${link.status}`,
    );
    if (deleted.status !== 204) {
      run.finding(
        "mismatched",
        "account_flatten_delete_refused",
        id,
        `DELETE /api/accounts/:id?flatten=true answered ${deleted.status} ${deleted.text.slice(0, 200)}; ${leftAtBroker(h, f)}`,
      );
      if (link.status === 201 && link.body.id) await h.apiCall("DELETE", `/api/traders/${link.body.id}`);
      continue;
    }
    if (!(await cleared(h, f)))
      run.finding(
        "lost",
        "left_after_account_delete",
        id,
        `after DELETE ?flatten=true: ${leftAtBroker(h, f)}`,
      );
    const orphans = (await h.sql`
      select t.id from traders t join accounts a on a.id = t.account_id
       where t.account_id = ${f.accountId} and a.deleted_at is not null and t.deleted_at is null and t.enabled`) as unknown as {
      id: string;
    }[];
    if (orphans.length > 0)
      run.finding(
        "mismatched",
        "trader_on_deleted_account",
        id,
        `${orphans.length} enabled trader(s) on the deleted account (POST /api/traders during the delete answered ${link.status} ${link.text.slice(0, 160)})`,
      );
    else if (link.status !== 409 && link.status !== 404 && link.status !== 422)
      run.note(
        `${f.broker}: POST /api/traders during the account delete answered ${link.status}, but nothing was left enabled`,
      );
  }
  await h.waitQuiet();
  return run.result;
}
