/**
 * Shared pieces of the "broker is the truth" scenarios (issue 12): alerts with any fields, what a
 * follower's broker holds (position, our working orders, the order log in words), what the relay did with
 * a signal (each execution's status and reason), and the checks every scenario ends with.
 */
import type { SimOrder } from "../brokers";
import type { WebhookRecord } from "../client";
import type { FaultHarness, Follower, RecorderHandle } from "../harness";
import { customAlert, type ScenarioContext, type ScenarioRun, sleep } from "../scenario";

export interface TruthOptions {
  /** Followers per broker (Tradovate, ProjectX, Webull) of each recorder a scenario makes. */
  perBroker: number;
  /** How long after a manual action at the broker the next alert comes (the broker's events reach the relay). */
  settleMs: number;
}

/** Sends an alert with these fields and waits until every execution ended. */
export async function sendAlert(
  ctx: ScenarioContext,
  run: ScenarioRun,
  r: RecorderHandle,
  fields: Record<string, unknown>,
  o: { wait?: boolean; withId?: boolean } = {},
): Promise<WebhookRecord> {
  const { key, body } = customAlert(run, fields, o.withId === false ? { withId: false } : {});
  const rec = await ctx.h.client.send(run.name, key, r.token, body, { timeoutMs: 10_000 });
  if (o.wait !== false) await ctx.h.waitQuiet();
  return rec;
}

export const signalOf = (rec: WebhookRecord): string | undefined => {
  const b = rec.body as { signalId?: unknown } | undefined;
  return typeof b?.signalId === "string" ? b.signalId : undefined;
};

export interface ExecutionView {
  id: string;
  trader_id: string;
  status: string;
  decision: string | null;
  reason: string | null;
  error: string | null;
}

export async function executionsOf(h: FaultHarness, signalId: string | undefined): Promise<ExecutionView[]> {
  if (!signalId) return [];
  return (await h.sql`
    select id, trader_id, status, decision, reason, error from executions where signal_id = ${signalId}`) as unknown as ExecutionView[];
}

/** "done opened" / "failed: reason" of the follower's execution of a signal. */
export function outcomeOf(executions: readonly ExecutionView[], f: Follower): string {
  const e = executions.find((x) => x.trader_id === f.traderId);
  if (!e) return "no execution";
  const why = [e.reason, e.error].filter(Boolean).join(" / ");
  return `${e.status}${e.decision ? ` ${e.decision}` : ""}${why ? `: ${why.slice(0, 240)}` : ""}`;
}

/** The broker's net position of the follower in a root's front month. */
export function heldPosition(h: FaultHarness, f: Follower, root = "MNQ"): number {
  const g = h.simOf(f);
  return g.venue.position(f.brokerAccountId, g.instance.venueContract(root))?.netPos ?? 0;
}

/** Orders of ours (not the human's) working or held at the follower's broker. */
export function workingOurs(h: FaultHarness, f: Follower): SimOrder[] {
  return h
    .simOf(f)
    .orders()
    .filter(
      (o) =>
        o.account === f.brokerAccountId &&
        !o.manual &&
        (o.order.status === "working" || o.order.status === "held"),
    );
}

/** Every order at the follower's current broker instance, oldest first (after `since`, ms). */
export function ordersAt(h: FaultHarness, f: Follower, since = 0): SimOrder[] {
  return h
    .simOf(f)
    .orders()
    .filter((o) => o.account === f.brokerAccountId && o.order.createdAt >= since)
    .sort((a, b) => a.venueId - b.venueId);
}

/** One line per order, as the report shows them. */
export function describeOrders(orders: readonly SimOrder[]): string {
  if (orders.length === 0) return "no orders";
  return orders
    .map((o) => {
      const v = o.order;
      const px = v.type === "limit" ? ` @${v.price}` : v.type === "stop" ? ` stop ${v.stopPrice}` : "";
      const fill = v.filledQty ? ` filled ${v.filledQty}@${v.avgFillPrice}` : "";
      return `[${o.gen.label} #${o.brokerOrderId} ${o.manual ? "MANUAL" : (o.clientOrderId ?? "untagged")} ${v.side} ${v.qty} ${v.type}${px} ${v.status}${fill}${v.rejectReason ? ` (${v.rejectReason})` : ""}]`;
    })
    .join(" ");
}

/** What the report says about one follower: its broker, account, position, outcome, order log. */
export function evidence(
  h: FaultHarness,
  f: Follower,
  executions: readonly ExecutionView[],
  o: { root?: string; since?: number } = {},
): string {
  return `${f.broker} account ${f.brokerAccountId}: broker position ${heldPosition(h, f, o.root)}; relay: ${outcomeOf(
    executions,
    f,
  )}; broker orders: ${describeOrders(ordersAt(h, f, o.since ?? 0))}`;
}

/** The relay's book of one follower (its trader's net in the contract of a root). */
export async function bookPosition(h: FaultHarness, f: Follower, root = "MNQ"): Promise<number> {
  const rows = (await h.sql`
    select contract, net_qty from positions where trader_id = ${f.traderId}`) as unknown as {
    contract: string;
    net_qty: number;
  }[];
  const g = h.simOf(f);
  const contract = g.instance.relayContract(g.instance.venueContract(root));
  return rows.filter((r) => r.contract === contract).reduce((n, r) => n + r.net_qty, 0);
}

/** Polls until the relay's book of the follower equals `want` (fill bookings land a moment late). */
export async function bookSettles(
  h: FaultHarness,
  f: Follower,
  want: number,
  root = "MNQ",
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const net = await bookPosition(h, f, root);
    if (net === want || Date.now() > deadline) return net;
    await sleep(200);
  }
}

/**
 * The end of an exit: every follower flat at its broker with none of our orders left working there, else
 * findings with the relay's outcome and the broker's order log.
 */
export async function expectFlat(
  ctx: ScenarioContext,
  run: ScenarioRun,
  followers: readonly Follower[],
  signalId: string | undefined,
  o: { root?: string; since?: number; what: string; waitMs?: number },
): Promise<number> {
  const { h } = ctx;
  // Exits are allowed to take a moment (cancels are paced at some brokers): poll before judging.
  const deadline = Date.now() + (o.waitMs ?? 5_000);
  const done = () =>
    followers.every((f) => heldPosition(h, f, o.root) === 0 && workingOurs(h, f).length === 0);
  while (!done() && Date.now() < deadline) await sleep(200);
  const executions = await executionsOf(h, signalId);
  let bad = 0;
  for (const f of followers) {
    const net = heldPosition(h, f, o.root);
    const left = workingOurs(h, f);
    if (net !== 0) {
      bad++;
      run.finding(
        "lost",
        "position_left_open",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `${o.what}: ${evidence(h, f, executions, o)}`,
      );
    } else if (left.length > 0) {
      bad++;
      run.finding(
        "mismatched",
        "orders_left_working",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `${o.what}: flat at the broker, ${left.length} of our orders still working: ${describeOrders(left)}; relay: ${outcomeOf(executions, f)}`,
      );
    }
  }
  return bad;
}

/** Notes each follower's outcome of a signal, one line per broker, for the report. */
export async function noteOutcomes(
  ctx: ScenarioContext,
  run: ScenarioRun,
  label: string,
  rec: WebhookRecord,
  followers: readonly Follower[],
): Promise<ExecutionView[]> {
  const executions = await executionsOf(ctx.h, signalOf(rec));
  const parts = followers.map((f) => `${f.broker}: ${outcomeOf(executions, f)}`);
  run.note(`${label} -> ${rec.status ?? rec.error}; ${parts.join("; ")}`);
  return executions;
}

/** The followers of a recorder on each broker, for per-broker verdicts. */
export function byBroker(followers: readonly Follower[]): Map<string, Follower[]> {
  const out = new Map<string, Follower[]>();
  for (const f of followers) out.set(f.broker, [...(out.get(f.broker) ?? []), f]);
  return out;
}
