/**
 * Issue 12, item 6: broker order ids and fill ids repeat. The followers trade a round (entry, exit) on the
 * demo simulators; then their accounts move demo -> live (Tradovate, Webull) or to another ProjectX firm,
 * a simulator whose id counters start where the demo ones stood before that round, so the same order and
 * fill ids come back; then that simulator is restarted (a new instance, same logins, ids starting over
 * at the same place), `restarts` times. A round after each. New fills must be booked (the relay's book
 * equals the broker after the entry and after the exit), the exit must work, and the sessions must come
 * back by themselves after each restart.
 *
 * Only these followers trade on the secondary simulators, so restarting them disturbs nobody else, and
 * the ids really repeat (counted per broker in the scenario's figures).
 */
import { BROKER_NAMES, type BrokerName, type IdMark, type SimGeneration } from "../brokers";
import type { Follower, RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";
import {
  bookSettles,
  evidence,
  executionsOf,
  expectFlat,
  heldPosition,
  noteOutcomes,
  sendAlert,
  signalOf,
  type TruthOptions,
} from "./truth-support";

export interface RepeatedIdsOptions extends TruthOptions {
  recorder: RecorderHandle;
  /** Restarts of the secondary simulators (each followed by a round), after the move. */
  restarts: number;
}

/** Order and fill ids one instance used for an account. */
function idsOf(g: SimGeneration, account: string): { orders: Set<string>; fills: Set<number> } {
  return {
    orders: new Set(
      g
        .orders()
        .filter((o) => o.account === account)
        .map((o) => o.brokerOrderId),
    ),
    fills: new Set(g.tape.filter((f) => f.account === account).map((f) => f.fillId)),
  };
}

export async function repeatedIdsScenario(
  ctx: ScenarioContext,
  o: RepeatedIdsOptions,
): Promise<ScenarioResult> {
  const run = new ScenarioRun(
    "repeated-ids",
    "broker ids reused after a simulator restart and an account move",
  );
  const { h } = ctx;
  const r = o.recorder;
  const history = new Map<Follower, SimGeneration[]>();
  const remember = (f: Follower) => history.set(f, [...(history.get(f) ?? []), h.simOf(f)]);

  const round = async (label: string) => {
    const accounts = r.followers.map((f) => f.accountId);
    const missing = await h.waitSessions(accounts);
    for (const id of missing) {
      const f = h.followers.get(id);
      run.finding(
        "lost",
        "session_not_restored",
        `${run.name}:${label}:${f?.broker}:${f?.brokerAccountId}`,
        `${f?.broker} session not ready after ${label}`,
      );
    }
    const entry = await sendAlert(ctx, run, r, { action: "buy" });
    const opened = await noteOutcomes(ctx, run, `${label}: entry`, entry, r.followers);
    for (const f of r.followers) {
      const held = heldPosition(h, f);
      const book = await bookSettles(h, f, held);
      if (book !== held)
        run.finding(
          "mismatched",
          "fill_not_booked_after_id_reuse",
          `${run.name}:${label}:${f.broker}:${f.brokerAccountId}`,
          `${label}: the broker holds ${held}, the relay's book ${book}; ${evidence(h, f, opened)}`,
        );
    }
    const exit = await sendAlert(ctx, run, r, { action: "exit" });
    await noteOutcomes(ctx, run, `${label}: exit`, exit, r.followers);
    await expectFlat(ctx, run, r.followers, signalOf(exit), { what: `${label}: exit` });
    const closed = await executionsOf(h, signalOf(exit));
    for (const f of r.followers) {
      const book = await bookSettles(h, f, heldPosition(h, f));
      if (book !== heldPosition(h, f))
        run.finding(
          "mismatched",
          "fill_not_booked_after_id_reuse",
          `${run.name}:${label}:exit:${f.broker}:${f.brokerAccountId}`,
          `${label} exit: the broker holds ${heldPosition(h, f)}, the relay's book ${book}; ${evidence(h, f, closed)}`,
        );
      remember(f);
    }
  };

  // Round 1 on the demo simulators, from a known place of their id counters.
  const marks = new Map<BrokerName, IdMark>();
  for (const b of BROKER_NAMES) marks.set(b, h.brokers.slot(b, "primary").current.instance.idMark());
  await round("demo");
  // Live / the other firm: a simulator whose ids start where the demo ones stood before round 1.
  for (const b of BROKER_NAMES) await h.brokers.restart(b, "secondary", marks.get(b));
  for (const f of r.followers) {
    await h.move(f, "secondary");
    run.fault("accountMoves");
  }
  await sleep(o.settleMs);
  await round("moved to live / another firm");
  for (let i = 1; i <= o.restarts; i++) {
    for (const b of BROKER_NAMES) {
      await h.brokers.restart(b, "secondary", marks.get(b));
      run.fault("simRestarts");
    }
    await sleep(o.settleMs);
    await round(`simulator restart ${i}`);
  }

  // How many ids really repeated (per account, between consecutive instances it traded on).
  for (const [f, gens] of history) {
    for (let i = 1; i < gens.length; i++) {
      const a = gens[i - 1];
      const b = gens[i];
      if (!a || !b || a === b) continue;
      const x = idsOf(a, f.brokerAccountId);
      const y = idsOf(b, f.brokerAccountId);
      run.count(`repeatedOrderIds:${f.broker}`, [...y.orders].filter((id) => x.orders.has(id)).length);
      run.count(`repeatedFillIds:${f.broker}`, [...y.fills].filter((id) => x.fills.has(id)).length);
    }
  }
  return run.result;
}
