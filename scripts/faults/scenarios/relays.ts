/**
 * Issue 16: three relays on one database. Two more relay processes join the fault harness's relay; the
 * followers' accounts spread over the three (each login's session on one relay). Alerts go to the first
 * relay, so most executions run on another relay, woken by NOTIFY. At a seeded point of each fan-out one
 * of the two joined relays is SIGKILLed; the others must take its accounts over once the lease lapses and
 * finish its executions asking the broker first, nothing lost or doubled. The killed relay then starts
 * again and takes its share back. At the end the two joined relays stop, handing their accounts back.
 */
import { freePort } from "../../../src/db/embedded";
import type { RecorderHandle } from "../harness";
import type { RelayProcess } from "../relay-process";
import {
  describeReply,
  nextAction,
  type ScenarioContext,
  type ScenarioResult,
  ScenarioRun,
  until,
} from "../scenario";
import { OrderWatch } from "../watch";

export interface RelaysOptions {
  recorder: RecorderHandle;
  /** Fan-outs with a SIGKILL each. */
  kills: number;
}

/** Every follower's account held by a live relay, and `relays` relays holding some. */
async function spread(ctx: ScenarioContext, accountIds: string[], relays: number): Promise<boolean> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const rows = await ctx.h.sql`
      select relay, count(*)::int as n from account_owners
       where account_id = any(${accountIds}::uuid[]) and lease_until > clock_timestamp() group by relay`;
    const held = rows.reduce((n, r) => n + (r.n as number), 0);
    if (held === accountIds.length && rows.length === relays) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function relaysScenario(ctx: ScenarioContext, o: RelaysOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun("relays", "three relays on one database, one SIGKILLed mid fan-out");
  const { h, rng } = ctx;
  const r = o.recorder;
  const n = r.followers.length;
  const accountIds = r.followers.map((f) => f.accountId);
  const joined: RelayProcess[] = [];
  try {
    for (const id of ["fault-relay-2", "fault-relay-3"]) {
      const relay = h.relay.sibling(id, await freePort());
      await relay.start();
      joined.push(relay);
    }
    if (!(await spread(ctx, accountIds, 3)))
      run.note("the accounts did not spread over three relays in 90 s");
    for (let cycle = 0; cycle < o.kills; cycle++) {
      const action = await nextAction(h, r);
      const victim = joined[cycle % joined.length] as RelayProcess;
      const { key, body } = run.alert(action);
      const watch = new OrderWatch(h.sim);
      const kind = action === "buy" ? "market" : "any";
      const at = rng.int(1, Math.max(1, (action === "buy" ? n : 3 * n) - 1));
      watch.at(kind, at, () => victim.kill());
      const startedAt = Date.now();
      let where = "";
      try {
        const rec = await h.client.send(run.name, key, r.token, body);
        const fired = await until(() => watch.fired, 60_000);
        if (!fired) {
          victim.kill();
          run.note(`cycle ${cycle}: the ${kind} order #${at} never came; killed after the fan-out`);
        }
        where = `at ${kind} order #${at} (reply ${describeReply(rec)})`;
      } finally {
        watch.dispose();
      }
      run.fault("kills");
      await victim.waitExit();
      const open = await h.waitQuiet();
      run.note(
        `cycle ${cycle}: ${action} ${key}, ${victim.logFile().split("/").at(-1)} killed ${where}; all executions ended ${Date.now() - startedAt} ms after the alert${open ? `, ${open} still open` : ""}`,
      );
      ctx.log(`  ${run.result.notes.at(-1)}`);
      await victim.start();
      if (!(await spread(ctx, accountIds, 3)))
        run.note(`cycle ${cycle}: the restarted relay got no share in 90 s`);
    }
  } finally {
    for (const relay of joined) {
      await relay.stop(30_000).catch(() => undefined);
      relay.dispose();
    }
  }
  if (!(await spread(ctx, accountIds, 1)))
    run.note("the first relay did not hold every account again in 90 s");
  await h.waitQuiet();
  return run.result;
}
