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
 *   `not_recorded` for an attempt that really was not recorded, sent while the database was cut;
 * - the broker is the truth: no order the relay placed for anything but an entry (a close, a take-profit,
 *   a stop, a flatten, a re-placed exit) ever filled against a flat position or took the broker's position
 *   through zero (`unplanned_position`: a position the relay opened that no plan asked for).
 *
 * Every simulator is audited (Tradovate, ProjectX, Webull, every instance of each, restarted ones
 * included): orders are matched by client order id across instances, positions against the simulator
 * each login trades on now.
 */
import type { BrokerSims, SimGeneration, SimOrder } from "./brokers";
import { replyFields, type WebhookRecord } from "./client";
import type { Follower, ReadOnlySql } from "./harness";

export type FindingClass = "lost" | "duplicated" | "fiveXX" | "mismatched" | "explained";

export interface Finding {
  class: FindingClass;
  kind: string;
  id: string;
  detail: string;
}

export interface AuditInput {
  sql: ReadOnlySql;
  brokers: BrokerSims;
  /** The harness's followers by relay account id: which broker and simulator slot each login uses. */
  followers: ReadonlyMap<string, Follower>;
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

/** Rows the relay writes for its book alone (corrections to the broker's position), never sent. */
export const BOOK_ONLY_LEGS = new Set(["sync"]);

/** Entry legs open or add to a position on purpose; every other leg may only reduce one. */
export const ENTRY_LEGS = new Set(["entry", "add"]);

/** The leg of one of our client order ids (`cr<16>-<leg>`, ProjectX bracket children `-SL`/`-TP`). */
export function legOf(clientOrderId: string): string | undefined {
  const m = /^cr[0-9a-z]{16}-([a-z][a-z0-9]{0,5})(-(SL|TP))?$/.exec(clientOrderId);
  if (!m?.[1]) return undefined;
  return m[3] ? `${m[1]}-${m[3]}` : m[1];
}

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
  account_id: string;
  broker: string;
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
  const { sql, brokers } = input;
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
    select o.client_order_id, o.execution_id, o.account_id, a.broker, o.broker_account_id, o.contract, o.leg,
           o.status, o.broker_order_id, o.filled_qty, o.qty, o.reason
      from broker_orders o join accounts a on a.id = o.account_id`) as unknown as OrderRow[];
  const positions = (await sql`
    select p.account_id, p.broker_account_id, p.contract, sum(p.net_qty)::int as net from positions p
     group by p.account_id, p.broker_account_id, p.contract`) as unknown as {
    account_id: string;
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
      // During an outage a 503 is legitimate even for an attempt that committed afterwards: the relay
      // answers within WEBHOOK_COMMIT_TIMEOUT_MS and a late commit makes the re-sends its duplicates
      // (doubles are counted below, by alert).
      const legit = r.status === 503 && f.code === "not_recorded" && during;
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
      const late =
        reply?.status === 503 &&
        input.outages.some((o) => reply.startedAt <= o.to && (reply.endedAt ?? reply.startedAt) >= o.from);
      if (!late && reply?.status !== undefined && reply.status >= 500 && reply.status !== 504)
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
    if (e.status === "pending" || e.status === "running" || e.status === "waiting_for_broker")
      add("lost", "execution_stuck", e.id, `signal ${e.signal_id}: still ${e.status}`);
    else if (e.status === "failed" || e.status === "unknown") {
      // "Unknown" says the relay does not know what the broker did; "failed" claims nothing was traded.
      if (e.status === "unknown") troubledAccounts.add(e.account_id);
      const why = e.error ?? e.reason;
      if (!why?.trim())
        add("lost", "ended_without_reason", e.id, `signal ${e.signal_id}: ${e.status}, no reason`);
      else add("explained", `execution_${e.status}`, e.id, `signal ${e.signal_id}: ${why.slice(0, 300)}`);
    } else if (e.error) {
      troubledAccounts.add(e.account_id);
      add("explained", "done_with_problems", e.id, `signal ${e.signal_id}: ${e.error.slice(0, 300)}`);
    }
  }

  // Orders: one per client order id at the broker, each known to the relay, each booked as filled.
  const generations = brokers.generations();
  const simOrders = generations.flatMap((g) => g.orders());
  const simByClOrd = new Map<string, SimOrder[]>();
  for (const o of simOrders) {
    if (o.clientOrderId === undefined || o.manual) continue;
    const list = simByClOrd.get(o.clientOrderId) ?? [];
    list.push(o);
    simByClOrd.set(o.clientOrderId, list);
  }
  const duplicates = new Set<string>();
  for (const g of generations) for (const id of g.instance.duplicates()) duplicates.add(id);
  // The same id at two instances (a simulator restarted, an account moved): sent twice all the same.
  for (const [id, list] of simByClOrd) if (new Set(list.map((o) => o.gen)).size > 1) duplicates.add(id);
  for (const id of duplicates)
    add(
      "duplicated",
      "duplicate_clordid",
      id,
      `${simByClOrd.get(id)?.length ?? 0} orders at the broker (${[...new Set((simByClOrd.get(id) ?? []).map((o) => o.gen.label))].join(", ")})`,
    );
  const relayByClOrd = new Map(orders.map((o) => [o.client_order_id, o]));
  for (const [id, list] of simByClOrd) {
    // ProjectX native bracket children carry the entry's tag plus -SL/-TP: the relay keeps no row of them.
    const base = id.replace(/-(SL|TP)$/, "");
    if (!relayByClOrd.has(id) && !(base !== id && relayByClOrd.has(base)))
      add(
        "lost",
        "untracked_broker_order",
        id,
        `order ${list[0]?.brokerOrderId} at ${list[0]?.gen.label}, no broker_orders row`,
      );
  }
  // Untagged orders (Tradovate liquidations, ProjectX closeContract) are found by the broker's id.
  const untagged = new Map<string, SimOrder[]>();
  for (const o of simOrders) {
    if (o.clientOrderId !== undefined || o.manual) continue;
    const key = `${o.broker}|${o.account}|${o.brokerOrderId}`;
    untagged.set(key, [...(untagged.get(key) ?? []), o]);
  }
  for (const o of orders) {
    // A book correction (`sync`) is the relay's own bookkeeping of what the broker did: never sent.
    if (BOOK_ONLY_LEGS.has(o.leg)) continue;
    const exec = o.execution_id ? execById.get(o.execution_id) : undefined;
    // The relay said it does not know (unknown, or done with problems it stated); a "failed" execution
    // claims nothing went through, so a fill at the broker contradicts it.
    const excused =
      exec !== undefined && (exec.status === "unknown" || (exec.status === "done" && !!exec.error));
    const tagged = simByClOrd.get(o.client_order_id);
    const byId =
      !tagged && o.broker_order_id !== null
        ? untagged.get(`${o.broker}|${o.broker_account_id}|${o.broker_order_id}`)
        : undefined;
    // Of several instances holding it, the latest is the one the relay talked to last.
    const at = (tagged ?? byId)?.at(-1);
    const venue = at?.order;
    const believedThere =
      o.status === "accepted" ||
      o.status === "working" ||
      o.status === "filled" ||
      (o.status === "cancelled" && o.broker_order_id !== null);
    if (!at) {
      // A ProjectX flatten of an account already flat placed nothing ("flat" placeholder id).
      if (believedThere && o.broker_order_id !== "flat")
        add(
          "lost",
          "phantom_order",
          o.client_order_id,
          `relay says ${o.status} (broker id ${o.broker_order_id}), the broker (${o.broker}) has no such order`,
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
    if (o.broker_order_id !== null && o.broker_order_id !== at.brokerOrderId)
      add(
        "mismatched",
        "broker_id_mismatch",
        o.client_order_id,
        `relay ${o.broker_order_id}, broker ${at.brokerOrderId} (${at.gen.label})`,
      );
    const simFilled = (tagged ?? [at]).reduce((n, x) => n + x.order.filledQty, 0);
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
        `relay booked ${o.filled_qty} (${o.status}), broker filled ${simFilled} (${at.gen.label})`,
      );
    if (o.status === "sending" || o.status === "unknown")
      add(
        excused ? "explained" : "mismatched",
        `order_left_${o.status}`,
        o.client_order_id,
        `at ${at.gen.label} as order ${at.brokerOrderId} (${venue?.status ?? "?"}), relay still says ${o.status}`,
      );
    else if (venue) {
      // Working orders are part of the book too: a stale "working" hides nothing dangerous, a "cancelled"
      // order still working at the broker can open a position nobody tracks. A stopped instance's orders
      // died with it.
      const relayLive = o.status === "accepted" || o.status === "working";
      const brokerLive = !at.gen.stopped && (venue.status === "working" || venue.status === "held");
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
          `relay says ${o.status}, the broker's order ${at.brokerOrderId} (${at.gen.label}) is ${at.gen.stopped ? `gone with that simulator instance (restarted; it was ${venue.status})` : venue.status}`,
        );
    }
  }

  // The broker is the truth: a relay order other than an entry never opens a position nor reverses one.
  for (const f of unplannedPositions(generations, new Map(orders.map((o) => [o.client_order_id, o.leg]))))
    add("mismatched", "unplanned_position", f.id, f.detail);

  // Positions: the relay's book (summed over the traders of a sub-account) against the broker's, on the
  // simulator each login trades on now.
  const accounts = new Set(executions.map((e) => e.account_id));
  const relayNet = new Map<string, Map<string, number>>();
  for (const p of positions) {
    const key = `${p.account_id}|${p.broker_account_id}`;
    const m = relayNet.get(key) ?? new Map<string, number>();
    m.set(p.contract, (m.get(p.contract) ?? 0) + p.net);
    relayNet.set(key, m);
  }
  for (const [accountId, f] of input.followers) {
    if (!accounts.has(accountId)) continue;
    const broker = brokers.slot(f.broker, f.slot).current;
    const held = broker.positions(f.brokerAccountId);
    const book = relayNet.get(`${accountId}|${f.brokerAccountId}`) ?? new Map<string, number>();
    for (const contract of new Set([...held.keys(), ...book.keys()])) {
      const a = book.get(contract) ?? 0;
      const b = held.get(contract) ?? 0;
      if (a !== b)
        add(
          troubledAccounts.has(accountId) ? "explained" : "mismatched",
          "book_mismatch",
          `${f.broker}:${f.brokerAccountId}|${contract}`,
          `relay net ${a}, broker net ${b} (${broker.label})`,
        );
    }
  }

  return {
    signals: signals.length,
    executions: executions.length,
    executionStatus: status,
    brokerOrders: orders.length,
    simOrders: simOrders.filter((o) => !o.manual).length,
    replies: input.replies.length,
    findings,
  };
}

/** The `fault/<key>/<attempt>` tag at the start of a user-agent (header abuse may append to it). */
export function tagOf(ua: string): string {
  const m = /^fault\/[^\s/]+\/\d+/.exec(ua);
  return m ? m[0] : ua;
}

/**
 * Every fill, in the order it happened at each simulator instance, of an order the relay placed for
 * anything but an entry, that filled against a flat position or took it through zero. Untagged relay
 * orders (liquidations, ProjectX closeContract) count as closes; manual orders are the human's business.
 */
export function unplannedPositions(
  generations: readonly SimGeneration[],
  legs: ReadonlyMap<string, string>,
): { id: string; detail: string }[] {
  const out: { id: string; detail: string }[] = [];
  for (const g of generations) {
    const byVenue = new Map(g.orders().map((o) => [o.venueId, o]));
    for (const f of g.tape) {
      const o = byVenue.get(f.venueOrderId);
      if (!o || o.manual) continue;
      const id = o.clientOrderId;
      const leg = id !== undefined ? (legs.get(id) ?? legOf(id)) : "untagged";
      if (leg === undefined || ENTRY_LEGS.has(leg)) continue;
      const opened = f.before === 0;
      const crossed = f.before !== 0 && f.after !== 0 && Math.sign(f.after) !== Math.sign(f.before);
      if (!opened && !crossed) continue;
      out.push({
        id: id ?? `${g.label}:${o.brokerOrderId}`,
        detail: `${leg} ${f.side} ${f.qty} filled on ${o.broker} account ${f.account} ${o.contract} (${g.label}, order ${o.brokerOrderId}): broker position ${f.before} -> ${f.after}, ${opened ? "opened from flat" : "reversed through zero"}`,
      });
    }
  }
  return out;
}
