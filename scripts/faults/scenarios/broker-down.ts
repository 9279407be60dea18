/**
 * Issue 12, items 3 and 8: brokers unreachable for a while (their proxies refuse connections and drop the
 * open ones) while exits arrive. Exits are never abandoned: the executions wait (`waiting_for_broker`)
 * and their orders go out, once each, when the sessions are back, which they must be by themselves. An
 * entry sent during the outage by a recorder with a short maxSignalAgeSeconds expires instead (`failed`,
 * the broker unreachable and the signal expired) and never reaches the broker.
 *
 * Phase 1 cuts every broker for `outageMs` (about 10 s in the issue). Phase 2 (when `longOutageMs` > 0)
 * cuts ProjectX alone for longer than the relay's 30 s reconnect cap: its session must still come back.
 */
import { BROKER_NAMES, type BrokerName } from "../brokers";
import type { RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";
import {
  describeOrders,
  executionsOf,
  expectFlat,
  heldPosition,
  noteOutcomes,
  ordersAt,
  outcomeOf,
  sendAlert,
  signalOf,
  type TruthOptions,
} from "./truth-support";

export interface BrokerDownOptions extends TruthOptions {
  /** Followers that are long when the brokers go down; they get the exit. */
  exits: RecorderHandle;
  /** Followers of a recorder with a short maxSignalAgeSeconds; they get an entry during the outage. */
  entries: RecorderHandle;
  outageMs: number;
  /** A second, ProjectX-only outage this long (0: none). */
  longOutageMs: number;
}

async function outage(
  ctx: ScenarioContext,
  run: ScenarioRun,
  o: BrokerDownOptions,
  brokers: readonly BrokerName[],
  ms: number,
  label: string,
): Promise<void> {
  const { h } = ctx;
  const exitFollowers = o.exits.followers.filter((f) => brokers.includes(f.broker));
  // The late entry only when every broker is down (elsewhere it would simply open).
  const everyBroker = BROKER_NAMES.every((b) => brokers.includes(b));
  const entryFollowers = everyBroker ? o.entries.followers : [];
  const entry = await sendAlert(ctx, run, o.exits, { action: "buy" });
  await noteOutcomes(ctx, run, `${label}: entry before the outage`, entry, exitFollowers);
  const open = exitFollowers.filter((f) => heldPosition(h, f) === 1);

  await h.brokers.cut(brokers);
  const cutAt = Date.now();
  run.fault("brokerOutages");
  run.count(`outage:${brokers.join("+")}`);
  const exit = await sendAlert(ctx, run, o.exits, { action: "exit" }, { wait: false });
  const late = everyBroker
    ? await sendAlert(ctx, run, o.entries, { action: "buy" }, { wait: false })
    : undefined;
  const exitSignal = signalOf(exit);
  const entrySignal = late ? signalOf(late) : undefined;
  if (exit.status !== 202)
    run.finding(
      "lost",
      "exit_refused",
      `${run.name}:${label}:exit`,
      `the exit alert got ${exit.status ?? exit.error}`,
    );
  // What each execution went through while the brokers were down.
  const seen = new Map<string, Set<string>>();
  while (Date.now() < cutAt + ms) {
    for (const e of [...(await executionsOf(h, exitSignal)), ...(await executionsOf(h, entrySignal))]) {
      const set = seen.get(e.id) ?? new Set<string>();
      set.add(e.status);
      seen.set(e.id, set);
    }
    await sleep(250);
  }
  await h.brokers.restore(brokers);
  run.note(`${label}: ${brokers.join(", ")} cut for ${Date.now() - cutAt} ms`);

  const accounts = [...exitFollowers, ...entryFollowers].map((f) => f.accountId);
  const missing = await h.waitSessions(accounts);
  for (const id of missing) {
    const f = h.followers.get(id);
    run.finding(
      "lost",
      "session_not_restored",
      `${run.name}:${label}:${f?.broker}:${f?.brokerAccountId}`,
      `${f?.broker} session of account ${f?.brokerAccountId} not ready again within 90 s of the end of the outage (${label})`,
    );
  }
  await h.waitQuiet();

  // Exits: waited for the broker, then went out; every follower flat.
  const exits = await executionsOf(h, exitSignal);
  for (const f of open) {
    const e = exits.find((x) => x.trader_id === f.traderId);
    const statuses = e ? [...(seen.get(e.id) ?? [])] : [];
    if (e && !statuses.includes("waiting_for_broker"))
      run.finding(
        "mismatched",
        "exit_not_waiting",
        `${run.name}:${label}:${f.broker}:${f.brokerAccountId}`,
        `the exit's execution was ${statuses.join(" -> ") || "never seen"} during the outage, never waiting_for_broker; now ${outcomeOf(exits, f)}`,
      );
  }
  await noteOutcomes(ctx, run, `${label}: exit sent during the outage`, exit, open);
  await expectFlat(ctx, run, open, exitSignal, { what: `${label}: after the outage`, waitMs: 15_000 });

  // The entry: expired, never at the broker.
  if (!late) return;
  const entries = await executionsOf(h, entrySignal);
  await noteOutcomes(
    ctx,
    run,
    `${label}: entry sent during the outage (short max age)`,
    late,
    entryFollowers,
  );
  for (const f of entryFollowers) {
    const id = `${run.name}:${label}:${f.broker}:${f.brokerAccountId}`;
    const e = entries.find((x) => x.trader_id === f.traderId);
    const placed = ordersAt(h, f, cutAt).filter((x) => !x.manual);
    if (placed.length > 0 || heldPosition(h, f) !== 0)
      run.finding(
        "mismatched",
        "expired_entry_sent",
        id,
        `an entry older than its max age reached the broker after the outage: ${describeOrders(placed)}; relay: ${outcomeOf(entries, f)}`,
      );
    else if (e && e.status !== "failed")
      run.finding(
        "mismatched",
        "expired_entry_not_failed",
        id,
        `nothing reached the broker, but the expired entry ended ${outcomeOf(entries, f)} instead of failed`,
      );
  }
}

export async function brokerDownScenario(
  ctx: ScenarioContext,
  o: BrokerDownOptions,
): Promise<ScenarioResult> {
  const run = new ScenarioRun(
    "broker-down-exits",
    `every broker unreachable ${o.outageMs} ms while exits arrive${o.longOutageMs ? `, then ProjectX ${o.longOutageMs} ms` : ""}`,
  );
  await outage(ctx, run, o, BROKER_NAMES, o.outageMs, "all brokers down");
  if (o.longOutageMs > 0) await outage(ctx, run, o, ["projectx"], o.longOutageMs, "ProjectX down long");
  return run.result;
}
