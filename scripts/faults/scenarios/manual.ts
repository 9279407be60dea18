/**
 * Issue 12, items 1 and 2: the trader acts by hand at the broker and the relay must follow the broker.
 *
 * `manual-close`: an entry with take-profit and stop; the human closes the position at the broker
 * (everything, or part of it; cancelling the exits first, or leaving them working), then the exit alert.
 * Every follower must end flat with none of our orders working, and no order of ours may fill against a
 * flat or opposite position (the auditor's `unplanned_position`).
 *
 * `manual-flatten-restart`: an entry; the human flattens (cancel all, close); the relay is SIGKILLed and
 * started again. Its reconciliation must not place exits on the flat account, its book must follow the
 * broker (flat, drift `book_corrected` reported), and when the market then runs through the old
 * take-profit and stop prices nothing of ours fills. It trades MES so its price moves touch nobody else.
 */
import { add, type Dec, dec, max, min, sub, times, toStr } from "../../../src/domain/decimal";
import type { Follower, RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";
import {
  bookSettles,
  describeOrders,
  evidence,
  executionsOf,
  expectFlat,
  heldPosition,
  noteOutcomes,
  ordersAt,
  sendAlert,
  signalOf,
  type TruthOptions,
  workingOurs,
} from "./truth-support";

/** What the human does; each follower gets one, in turn from a seeded start. */
const MANUAL_MODES = ["flatten", "cancel-then-close", "close-leave-exits", "partial-close"] as const;
type ManualMode = (typeof MANUAL_MODES)[number];

function act(ctx: ScenarioContext, f: Follower, mode: ManualMode, root: string): void {
  const sim = ctx.h.simOf(f).instance;
  const account = f.brokerAccountId;
  switch (mode) {
    case "flatten":
      sim.flatten(account, root);
      break;
    case "cancel-then-close":
      sim.cancelAll(account, root);
      sim.close(account, root);
      break;
    case "close-leave-exits":
      sim.close(account, root);
      break;
    case "partial-close":
      sim.close(account, root, 1);
      break;
  }
}

export async function manualCloseScenario(
  ctx: ScenarioContext,
  o: TruthOptions & { recorder: RecorderHandle },
): Promise<ScenarioResult> {
  const run = new ScenarioRun("manual-close", "closed by hand at the broker, then the exit alert");
  const { h, rng } = ctx;
  const r = o.recorder;
  const entry = await sendAlert(ctx, run, r, { action: "buy", quantity: 2 });
  await noteOutcomes(ctx, run, "entry (2 contracts)", entry, r.followers);
  const open = r.followers.filter((f) => heldPosition(h, f) === 2);
  if (open.length < r.followers.length)
    run.note(`${r.followers.length - open.length} followers did not open 2 contracts; they are left out`);

  const start = rng.int(0, MANUAL_MODES.length - 1);
  const modes = new Map<Follower, ManualMode>();
  open.forEach((f, i) => {
    const mode = MANUAL_MODES[(start + i) % MANUAL_MODES.length] as ManualMode;
    modes.set(f, mode);
    act(ctx, f, mode, "MNQ");
    run.fault("manualCloses");
    run.count(`manual:${mode}`);
  });
  run.note(`by hand: ${[...modes].map(([f, m]) => `${f.broker} ${f.brokerAccountId} ${m}`).join(", ")}`);
  await sleep(o.settleMs);

  const exit = await sendAlert(ctx, run, r, { action: "exit" });
  await noteOutcomes(ctx, run, "exit after the manual close", exit, open);
  if (exit.status !== 202)
    run.finding(
      "lost",
      "exit_refused",
      `${run.name}:exit`,
      `the exit alert got ${exit.status ?? exit.error}`,
    );
  await expectFlat(ctx, run, open, signalOf(exit), { what: "after the manual close and the exit alert" });
  return run.result;
}

export async function manualFlattenRestartScenario(
  ctx: ScenarioContext,
  o: TruthOptions & { recorder: RecorderHandle },
): Promise<ScenarioResult> {
  const run = new ScenarioRun(
    "manual-flatten-restart",
    "flattened by hand at the broker, relay SIGKILLed and restarted",
  );
  const { h } = ctx;
  const r = o.recorder;
  const root = "MES";
  const base = h.brokers.prices.get(root);
  if (base === undefined) throw new Error("no MES price");
  const entry = await sendAlert(ctx, run, r, { ticker: "MES1!", action: "buy", quantity: 1 });
  await noteOutcomes(ctx, run, "entry", entry, r.followers);
  const open = r.followers.filter((f) => heldPosition(h, f, root) === 1);
  if (open.length < r.followers.length)
    run.note(`${r.followers.length - open.length} followers did not open; they are left out`);

  // The exit prices the relay placed, to run the market through them later.
  const prices: Dec[] = [];
  for (const f of open)
    for (const x of workingOurs(h, f)) {
      if (x.order.price !== undefined) prices.push(x.order.price);
      if (x.order.stopPrice !== undefined) prices.push(x.order.stopPrice);
    }

  for (const f of open) {
    h.simOf(f).instance.flatten(f.brokerAccountId, root);
    run.fault("manualFlattens");
  }
  await sleep(o.settleMs);
  const flattenedAt = Date.now();
  await h.restart();
  run.fault("relayKills");
  const missing = await h.waitSessions(open.map((f) => f.accountId));
  for (const id of missing)
    run.finding("lost", "session_not_restored", `${run.name}:${id}`, "no ready session after the restart");
  // Startup reconciliation ran before the port opened; give the sessions' first events a moment too.
  await sleep(o.settleMs);
  await h.waitQuiet();

  const executions = await executionsOf(h, signalOf(entry));
  for (const f of open) {
    const placed = ordersAt(h, f, flattenedAt).filter((x) => !x.manual);
    if (placed.length > 0)
      run.finding(
        "mismatched",
        "exits_placed_on_flat",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `after the restart the relay placed ${describeOrders(placed)} on an account flat at the broker`,
      );
    const book = await bookSettles(h, f, 0, root);
    if (book !== 0)
      run.finding(
        "mismatched",
        "book_not_corrected",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `the relay's book says ${book}, the broker ${heldPosition(h, f, root)}; ${evidence(h, f, executions, { root })}`,
      );
    const drift = (await h.sql`
      select kind, detail from drift where account_id = ${f.accountId} and kind = 'book_corrected'`) as unknown as {
      kind: string;
      detail: string;
    }[];
    if (drift.length === 0) {
      const kinds = (await h.sql`
        select kind, detail from drift where account_id = ${f.accountId}`) as unknown as {
        kind: string;
        detail: string;
      }[];
      run.finding(
        "mismatched",
        "drift_not_reported",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `no book_corrected drift for the manual flatten (drift rows: ${kinds.map((k) => `${k.kind}: ${k.detail.slice(0, 120)}`).join("; ") || "none"})`,
      );
    }
  }

  // The market runs through every old exit price and back: nothing of ours may fill.
  const tick = dec("0.25");
  const high = prices.reduce((a, b) => max(a, b), base);
  const low = prices.reduce((a, b) => min(a, b), base);
  const beyond = times(tick, 4);
  const path: Dec[] = [add(high, beyond), base, sub(low, beyond), base];
  run.note(
    `old exit prices ${prices.map(toStr).join(", ") || "none"}; market path ${path.map(toStr).join(" -> ")}`,
  );
  for (const p of path) {
    h.brokers.setPrice(root, p);
    run.fault("priceMoves");
    await sleep(300);
  }
  await sleep(o.settleMs);
  for (const f of open) {
    const filled = ordersAt(h, f, flattenedAt).filter((x) => !x.manual && x.order.filledQty > 0);
    if (filled.length > 0 || heldPosition(h, f, root) !== 0)
      run.note(
        `${f.broker} ${f.brokerAccountId}: after the price moves the broker holds ${heldPosition(h, f, root)}; ${describeOrders(filled)}`,
      );
  }
  await expectFlat(ctx, run, open, signalOf(entry), {
    root,
    since: flattenedAt,
    what: "after the manual flatten, the restart and the price moves",
  });
  return run.result;
}
