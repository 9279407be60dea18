/**
 * Scenario 1: the relay is SIGKILLed at seeded points of a fan-out and started again (same INSTANCE_ID,
 * same database), cycle after cycle. Kill points: while the webhook is being committed, right after its
 * 202, after the n-th entry reached the broker, while exits are being placed, and during an exit signal's
 * cancels and closes. The restarted relay must resume its own executions, asking the broker first.
 */
import type { RecorderHandle } from "../harness";
import {
  type Action,
  describeReply,
  nextAction,
  plainSignal,
  type ScenarioContext,
  type ScenarioResult,
  ScenarioRun,
  sleep,
  until,
} from "../scenario";
import { OrderWatch } from "../watch";

export type KillPoint = "before-commit" | "after-commit" | "mid-fanout" | "during-protect" | "during-exits";

export const KILL_POINTS: KillPoint[] = [
  "before-commit",
  "after-commit",
  "mid-fanout",
  "during-protect",
  "during-exits",
];

export interface KillOptions {
  recorder: RecorderHandle;
  /** Kill points in the order to use them; every one is used once per pass. */
  points: KillPoint[];
}

const needs: Partial<Record<KillPoint, Action>> = {
  "mid-fanout": "buy",
  "during-protect": "buy",
  "during-exits": "exit",
};

export async function killScenario(ctx: ScenarioContext, o: KillOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun("kill", "SIGKILL at seeded points of a fan-out, then restart");
  const { h, rng } = ctx;
  const r = o.recorder;
  const n = r.followers.length;
  for (const [cycle, point] of o.points.entries()) {
    let action: Action = await nextAction(h, r);
    const wanted = needs[point];
    if (wanted && wanted !== action) {
      // Get the book where this kill point needs it (flat for an entry, open for an exit).
      await plainSignal(ctx, run, r, action);
      action = await nextAction(h, r);
    }
    const { key, body } = run.alert(action);
    const watch = new OrderWatch(h.sim);
    const kill = () => h.relay.kill();
    let where = "";
    try {
      if (point === "before-commit") {
        const delay = rng.int(0, 6);
        const sending = h.client.send(run.name, key, r.token, body);
        await sleep(delay);
        kill();
        const rec = await sending;
        where = `${delay} ms after sending; reply ${describeReply(rec)}`;
      } else if (point === "after-commit") {
        const rec = await h.client.send(run.name, key, r.token, body);
        kill();
        where = `on its reply ${describeReply(rec)}, ${watch.counts.any} orders already at the broker`;
      } else {
        // mid-fanout: n entries; during-protect: 2n exit legs; during-exits: ~2n cancels and n closes.
        const [kind, total] =
          point === "mid-fanout"
            ? (["market", n] as const)
            : point === "during-protect"
              ? (["exit", 2 * n] as const)
              : (["any", 3 * n] as const);
        const at = rng.int(1, Math.max(1, total - 1));
        watch.at(kind, at, kill);
        const rec = await h.client.send(run.name, key, r.token, body);
        const fired = await until(() => watch.fired, 60_000);
        if (!fired) {
          kill();
          run.note(`cycle ${cycle}: the ${kind} order #${at} never came; killed after the fan-out`);
        }
        where = `at ${kind} order #${at} of ~${total} (reply ${describeReply(rec)})`;
      }
    } finally {
      watch.dispose();
    }
    run.fault("kills");
    await h.relay.waitExit();
    const restartAt = Date.now();
    await h.relay.start();
    const open = await h.waitQuiet();
    run.note(
      `cycle ${cycle}: ${action} ${key} killed ${point} ${where}; restart took ${Date.now() - restartAt} ms${open ? `, ${open} executions still open` : ""}`,
    );
    ctx.log(`  ${run.result.notes.at(-1)}`);
  }
  return run.result;
}
