/**
 * Issue 12, item 4: an exit alert older than the recorder's maxSignalAgeSeconds is still executed (202,
 * its age reported): a late exit is better than a position left open. A late entry is refused (422 stale)
 * and nothing reaches the broker.
 */
import type { RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun } from "../scenario";
import {
  describeOrders,
  expectFlat,
  heldPosition,
  noteOutcomes,
  ordersAt,
  sendAlert,
  signalOf,
  type TruthOptions,
} from "./truth-support";

export async function staleExitScenario(
  ctx: ScenarioContext,
  o: TruthOptions & { recorder: RecorderHandle; maxAgeSeconds: number },
): Promise<ScenarioResult> {
  const run = new ScenarioRun("stale-exit", "exits older than maxSignalAgeSeconds, and a stale entry");
  const { h } = ctx;
  const r = o.recorder;
  const old = () => new Date(Date.now() - (o.maxAgeSeconds + 30) * 1000).toISOString();
  for (const action of ["exit", "close"] as const) {
    const entry = await sendAlert(ctx, run, r, { action: "buy", time: new Date().toISOString() });
    await noteOutcomes(ctx, run, "fresh entry", entry, r.followers);
    const open = r.followers.filter((f) => heldPosition(h, f) === 1);
    const exit = await sendAlert(ctx, run, r, { action, time: old() });
    run.fault("staleExits");
    await noteOutcomes(ctx, run, `"${action}" ${o.maxAgeSeconds + 30} s old`, exit, open);
    if (exit.status !== 202)
      run.finding(
        "lost",
        "stale_exit_refused",
        `${run.name}:${action}`,
        `a "${action}" alert ${o.maxAgeSeconds + 30} s old got ${exit.status ?? exit.error} ${JSON.stringify(exit.body).slice(0, 200)}: followers stay in the market`,
      );
    await expectFlat(ctx, run, open, signalOf(exit), { what: `after a stale "${action}"` });
  }
  const before = Date.now();
  const entry = await sendAlert(ctx, run, r, { action: "buy", time: old() });
  run.fault("staleEntries");
  const body = entry.body as { status?: string } | undefined;
  if (entry.status !== 422 || body?.status !== "stale")
    run.finding(
      "mismatched",
      "stale_entry_accepted",
      `${run.name}:entry`,
      `an entry ${o.maxAgeSeconds + 30} s old got ${entry.status ?? entry.error} ${JSON.stringify(entry.body).slice(0, 200)}`,
    );
  for (const f of r.followers) {
    const placed = ordersAt(h, f, before).filter((x) => !x.manual);
    if (placed.length > 0)
      run.finding(
        "mismatched",
        "stale_entry_sent",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `a stale entry reached the broker: ${describeOrders(placed)}`,
      );
  }
  return run.result;
}
