/**
 * The auditor: once a scenario has settled, compares what the relay says (signals, executions,
 * broker_orders, positions, the raw webhook log; read-only queries) with what the sender saw (every reply)
 * and what the broker saw (the simulator's order log and matching engine). Nothing lost, nothing doubled:
 *
 * - every 202 is a committed signal with one execution per trader it announced;
 * - every execution ends, and a failed or unknown one carries its reason;
 * - each client order id reached the broker at most once; every order at the broker is one the relay
 *   wrote down first; every order the relay believes acknowledged exists at the broker with that id;
 * - the relay booked each order's fills exactly as the broker filled it, and its positions add up to the
 *   broker's, unless an execution of that account ended unknown (or done with stated problems): then it is
 *   listed as "explained", the relay said it does not know. A "failed" execution excuses nothing: it
 *   claims nothing went through, so a fill at the broker contradicts it;
 * - each logical alert (all re-sends of one body) became at most one signal, and a 5xx is only a 503
 *   `not_recorded` for an attempt that really was not recorded, sent while the database was cut.
 */
import type { TradovateSim } from "../../src/sim/tradovate/index";
import { replyFields, type WebhookRecord } from "./client";
import type { ReadOnlySql } from "./harness";

export type FindingClass = "lost" | "duplicated" | "fiveXX" | "mismatched" | "explained";

export interface Finding {
  class: FindingClass;
  kind: string;
  id: string;
  detail: string;
}

export interface AuditInput {
  sql: ReadOnlySql;
  sim: TradovateSim;
  replies: readonly WebhookRecord[];
  /** Periods the database was cut: a 503 `not_recorded` sent during one is legitimate. */
  outages: readonly { from: number; to: number }[];
}

export interface AuditReport {
  signals: number;
  executions: number;
  executionStatus: Record<string, number>;
  brokerOrders: number;
  simOrders: number;
  replies: number;
  findings: Finding[];
}

export const findingKey = (f: Finding) => `${f.class}|${f.kind}|${f.id}`;

interface ExecRow {
  id: string;
  signal_id: string;
  trader_id: string;
  account_id: string;
  broker_account_id: string;
  status: string;
  decision: string | null;
  reason: string | null;
  error: string | null;
}

interface OrderRow {
  client_order_id: string;
  execution_id: string | null;
  broker_account_id: string;
  contract: string;
  leg: string;
  status: string;
  broker_order_id: string | null;
  filled_qty: number;
  qty: number;
  reason: string | null;
}

export async function audit(input: AuditInput): Promise<AuditReport> {
  const { sql, sim } = input;
  const findings: Finding[] = [];
  const add = (cls: FindingClass, kind: string, id: string, detail: string) =>
    findings.push({ class: cls, kind, id, detail });

  const signals = (await sql`
    select s.id, w.headers ->> 'user-agent' as ua from signals s join webhooks w on w.id = s.webhook_id`) as unknown as {
    id: string;
    ua: string | null;
  }[];
  const executions = (await sql`
    select e.id, e.signal_id, e.trader_id, e.account_id, t.broker_account_id, e.status, e.decision, e.reason, e.error
      from executions e join traders t on t.id = e.trader_id`) as unknown as ExecRow[];
  const orders = (await sql`
    select client_order_id, execution_id, broker_account_id, contract, leg, status, broker_order_id, filled_qty, qty, reason
      from broker_orders`) as unknown as OrderRow[];
  const positions = (await sql`
    select broker_account_id, contract, sum(net_qty)::int as net from positions p
      join accounts a on a.id = p.account_id where a.broker = 'tradovate'
     group by broker_account_id, contract`) as unknown as {
    broker_account_id: string;
    contract: string;
    net: number;
  }[];
  const logged = new Set(
    (
      (await sql`select headers ->> 'user-agent' as ua from webhooks where headers ? 'user-agent'`) as unknown as {
        ua: string;
      }[]
    ).map((r) => tagOf(r.ua)),
  );

  // Replies: what the sender was told.
  const signalIds = new Set(signals.map((s) => s.id));
  const execCount = new Map<string, number>();
  for (const e of executions) execCount.set(e.signal_id, (execCount.get(e.signal_id) ?? 0) + 1);
  const signalsOfKey = new Map<string, { id: string; attempt: number }[]>();
  for (const s of signals) {
    const m = /^fault\/(.+)\/(\d+)$/.exec(tagOf(s.ua ?? ""));
    if (!m?.[1]) continue;
    const list = signalsOfKey.get(m[1]) ?? [];
    list.push({ id: s.id, attempt: Number(m[2]) });
    signalsOfKey.set(m[1], list);
  }
  const repliesOfKey = new Map<string, WebhookRecord[]>();
  for (const r of input.replies) {
    const list = repliesOfKey.get(r.key) ?? [];
    list.push(r);
    repliesOfKey.set(r.key, list);
    const f = replyFields(r.body);
    if (r.status === 202 && f.signalId) {
      if (!signalIds.has(f.signalId))
        add("lost", "accepted_not_recorded", f.signalId, `202 to ${r.tag} but no such signal`);
      else if (f.traders !== undefined && (execCount.get(f.signalId) ?? 0) !== f.traders)
        add(
          "lost",
          "executions_missing",
          f.signalId,
          `202 announced ${f.traders} traders, ${execCount.get(f.signalId) ?? 0} executions stored`,
        );
    }
    if (r.status !== undefined && r.status >= 500) {
      const during = input.outages.some((o) => r.startedAt <= o.to && (r.endedAt ?? r.startedAt) >= o.from);
      const legit = r.status === 503 && f.code === "not_recorded" && during && !logged.has(r.tag);
      if (!legit)
        add(
          "fiveXX",
          r.status === 503 && logged.has(r.tag) ? "503_but_recorded" : `http_${r.status}`,
          r.tag,
          `${r.status} ${JSON.stringify(r.body).slice(0, 200)}${during ? "" : " (outside any database outage)"}`,
        );
    }
  }
  for (const [key, list] of signalsOfKey) {
    if (list.length > 1)
      add("duplicated", "alert_accepted_twice", key, `signals ${list.map((s) => s.id).join(", ")}`);
    for (const s of list) {
      const reply = repliesOfKey.get(key)?.find((r) => r.attempt === s.attempt);
      if (reply?.status !== undefined && reply.status >= 500 && reply.status !== 504)
        add(
          "fiveXX",
          "503_but_recorded",
          reply.tag,
          `signal ${s.id} was committed, the reply said ${reply.status}`,
        );
    }
  }

  // Executions: each one ends, with a reason when it did not succeed.
  const status: Record<string, number> = {};
  const troubledAccounts = new Set<string>();
  const execById = new Map<string, ExecRow>();
  for (const e of executions) {
    execById.set(e.id, e);
    status[e.status] = (status[e.status] ?? 0) + 1;
    if (e.status === "pending" || e.status === "running")
      add("lost", "execution_stuck", e.id, `signal ${e.signal_id}: still ${e.status}`);
    else if (e.status === "failed" || e.status === "unknown") {
      // "Unknown" says the relay does not know what the broker did; "failed" claims nothing was traded.
      if (e.status === "unknown") troubledAccounts.add(e.broker_account_id);
      const why = e.error ?? e.reason;
      if (!why?.trim())
        add("lost", "ended_without_reason", e.id, `signal ${e.signal_id}: ${e.status}, no reason`);
      else add("explained", `execution_${e.status}`, e.id, `signal ${e.signal_id}: ${why.slice(0, 300)}`);
    } else if (e.error) {
      troubledAccounts.add(e.broker_account_id);
      add("explained", "done_with_problems", e.id, `signal ${e.signal_id}: ${e.error.slice(0, 300)}`);
    }
  }

  // Orders: one per client order id at the broker, each known to the relay, each booked as filled.
  const simOrders = sim.orders();
  const simByClOrd = new Map<string, (typeof simOrders)[number][]>();
  for (const o of simOrders) {
    if (o.clOrdId === undefined) continue;
    const list = simByClOrd.get(o.clOrdId) ?? [];
    list.push(o);
    simByClOrd.set(o.clOrdId, list);
  }
  for (const id of sim.duplicateClOrdIds())
    add("duplicated", "duplicate_clordid", id, `${simByClOrd.get(id)?.length ?? 0} orders at the broker`);
  const relayByClOrd = new Map(orders.map((o) => [o.client_order_id, o]));
  for (const [id, list] of simByClOrd)
    if (!relayByClOrd.has(id))
      add(
        "lost",
        "untracked_broker_order",
        id,
        `order ${list[0]?.orderId} at the broker, no broker_orders row`,
      );
  for (const o of orders) {
    const exec = o.execution_id ? execById.get(o.execution_id) : undefined;
    // The relay said it does not know (unknown, or done with problems it stated); a "failed" execution
    // claims nothing went through, so a fill at the broker contradicts it.
    const excused =
      exec !== undefined && (exec.status === "unknown" || (exec.status === "done" && !!exec.error));
    const at = simByClOrd.get(o.client_order_id)?.[0];
    const venue = at ? sim.venue.order(at.orderId) : undefined;
    const believedThere =
      o.status === "accepted" ||
      o.status === "working" ||
      o.status === "filled" ||
      (o.status === "cancelled" && o.broker_order_id !== null);
    if (!at) {
      if (believedThere)
        add(
          "lost",
          "phantom_order",
          o.client_order_id,
          `relay says ${o.status} (broker id ${o.broker_order_id}), the broker has no such order`,
        );
      else if (o.status === "sending")
        add(
          excused ? "explained" : "mismatched",
          "order_left_sending",
          o.client_order_id,
          `never reached the broker, still 'sending' (execution ${exec?.status ?? "none"})`,
        );
      continue;
    }
    if (o.broker_order_id !== null && o.broker_order_id !== String(at.orderId))
      add(
        "mismatched",
        "broker_id_mismatch",
        o.client_order_id,
        `relay ${o.broker_order_id}, broker ${at.orderId}`,
      );
    const simFilled = venue?.filledQty ?? 0;
    if (o.filled_qty > simFilled)
      add(
        "duplicated",
        "fill_booked_twice",
        o.client_order_id,
        `relay booked ${o.filled_qty}, broker filled ${simFilled}`,
      );
    else if (o.filled_qty < simFilled)
      add(
        excused ? "explained" : "lost",
        "fill_not_booked",
        o.client_order_id,
        `relay booked ${o.filled_qty} (${o.status}), broker filled ${simFilled}`,
      );
    if (o.status === "sending" || o.status === "unknown")
      add(
        excused ? "explained" : "mismatched",
        `order_left_${o.status}`,
        o.client_order_id,
        `at the broker as order ${at.orderId} (${venue?.status ?? "?"}), relay still says ${o.status}`,
      );
    else if (venue) {
      // Working orders are part of the book too: a stale "working" hides nothing dangerous, a "cancelled"
      // order still working at the broker can open a position nobody tracks.
      const relayLive = o.status === "accepted" || o.status === "working";
      const brokerLive = venue.status === "working" || venue.status === "held";
      const kind =
        relayLive && !brokerLive
          ? "order_state_stale"
          : !relayLive && brokerLive
            ? "order_still_working"
            : o.status === "filled" && venue.status !== "filled"
              ? "order_state_mismatch"
              : undefined;
      if (kind)
        add(
          excused ? "explained" : "mismatched",
          kind,
          o.client_order_id,
          `relay says ${o.status}, the broker's order ${at.orderId} is ${venue.status}`,
        );
    }
  }

  // Positions: the relay's book (summed over the traders of a sub-account) against the broker's.
  const simNet = new Map<string, number>();
  for (const p of sim.venue.listPositions()) simNet.set(`${p.account}|${p.contract}`, p.netPos);
  const relayNet = new Map(positions.map((p) => [`${p.broker_account_id}|${p.contract}`, p.net]));
  const accounts = new Set(executions.map((e) => e.broker_account_id));
  for (const key of new Set([...simNet.keys(), ...relayNet.keys()])) {
    const [account = ""] = key.split("|");
    if (!accounts.has(account)) continue;
    const a = relayNet.get(key) ?? 0;
    const b = simNet.get(key) ?? 0;
    if (a !== b)
      add(
        troubledAccounts.has(account) ? "explained" : "mismatched",
        "book_mismatch",
        key,
        `relay net ${a}, broker net ${b}`,
      );
  }

  return {
    signals: signals.length,
    executions: executions.length,
    executionStatus: status,
    brokerOrders: orders.length,
    simOrders: simOrders.length,
    replies: input.replies.length,
    findings,
  };
}

/** The `fault/<key>/<attempt>` tag at the start of a user-agent (header abuse may append to it). */
export function tagOf(ua: string): string {
  const m = /^fault\/[^\s/]+\/\d+/.exec(ua);
  return m ? m[0] : ua;
}
