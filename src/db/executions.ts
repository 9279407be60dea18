/**
 * Executions: claimed by the accepting relay with a lease, renewed while they run, reclaimed with
 * `for update skip locked` when a lease lapses, so two relays never run the same execution.
 */
import { ASYNC_COMMIT, type Sql } from "./client";

export type ExecutionStatus =
  | "pending"
  | "running"
  /** An exit, close or flatten (or a still-fresh entry) whose broker cannot be reached: resumed when it is back. */
  | "waiting_for_broker"
  | "done"
  | "ignored"
  | "failed"
  | "unknown";

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  "pending",
  "running",
  "waiting_for_broker",
  "done",
  "ignored",
  "failed",
  "unknown",
];

/** Executions not finished yet: still owned by a relay's lease. */
export const OPEN_STATUSES = ["pending", "running", "waiting_for_broker"] as const;

export interface ClaimedExecution {
  id: string;
  signalId: string;
  traderId: string;
  accountId: string;
  status: ExecutionStatus;
  attempts: number;
  plan: unknown;
  recorderId: string;
  receivedAt: Date;
  payload: Record<string, unknown>;
  /**
   * No relay had been given it to run before this claim (created for this relay by another relay's
   * intake): none of its orders can be at the broker, so it runs like a new execution.
   */
  fresh: boolean;
}

const CLAIMED = `e.id, e.signal_id, e.trader_id, e.account_id, e.status, e.attempts, e.plan,
                 s.recorder_id, s.received_at, s.payload, e.fresh`;

function toClaimed(r: Record<string, unknown>): ClaimedExecution {
  return {
    id: r.id as string,
    signalId: r.signal_id as string,
    traderId: r.trader_id as string,
    accountId: r.account_id as string,
    status: r.status as ExecutionStatus,
    attempts: r.attempts as number,
    plan: r.plan,
    recorderId: r.recorder_id as string,
    receivedAt: r.received_at as Date,
    payload: r.payload as Record<string, unknown>,
    fresh: r.fresh === true,
  };
}

/**
 * Unfinished executions of accounts this relay holds (account_owners): its own (after a restart), any whose
 * lease lapsed or was handed back, and any claimed by a relay that is no longer alive.
 */
export async function claimUnfinished(
  sql: Sql,
  instanceId: string,
  leaseMs: number,
  includeOwn: boolean,
  limit = 10_000,
): Promise<ClaimedExecution[]> {
  const rows = await sql.unsafe(
    `with claimable as (
       select id, handed from executions x
        where status in ('pending', 'running', 'waiting_for_broker')
          and (($4 and claimed_by = $1) or lease_until < clock_timestamp() or lease_until is null
               or (claimed_by <> $1
                   and not exists (select 1 from relays r where r.id = x.claimed_by and r.lease_until > clock_timestamp())
                   and exists (select 1 from relays r where r.id = x.claimed_by)))
          and exists (select 1 from account_owners o
                       where o.account_id = x.account_id and o.relay = $1 and o.lease_until > clock_timestamp())
        order by created_at, id
        for update skip locked limit $3
     ), claimed as (
       update executions e set claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $2 / 1000.0),
                               handed = true
         from claimable c where e.id = c.id
       returning e.*, not c.handed as fresh
     )
     select ${CLAIMED} from claimed e join signals s on s.id = e.signal_id
      order by s.seq, e.created_at, e.id`,
    [instanceId, leaseMs, limit, includeOwn],
  );
  return rows.map((r) => toClaimed(r as Record<string, unknown>));
}

/** Executions queued here for an account another relay now holds: its to claim at once. */
export async function handBack(sql: Sql, instanceId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql.begin(async (tx) => {
    await tx`
      update executions e set lease_until = null
        from (select id from executions where id = any(${ids}::uuid[]) and claimed_by = ${instanceId}
               order by id for update) l
       where e.id = l.id and e.status in ('pending', 'running', 'waiting_for_broker')`;
    await tx`select pg_notify('relay_work', '*')`;
  });
}

export async function renewLeases(
  sql: Sql,
  instanceId: string,
  ids: string[],
  leaseMs: number,
): Promise<void> {
  if (ids.length === 0) return;
  // Rows are locked in id order, as every other multi-row update of executions does: no deadlocks.
  await sql`
    update executions e set lease_until = clock_timestamp() + make_interval(secs => ${leaseMs} / 1000.0)
      from (select id from executions
             where id = any(${ids}::uuid[]) and claimed_by = ${instanceId}
               and status in ('pending', 'running', 'waiting_for_broker')
             order by id for update) l
     where e.id = l.id`;
}

export interface ExecutionView {
  id: string;
  signalId: string;
  traderId: string;
  accountId: string;
  accountName: string;
  broker: string;
  brokerAccountId: string;
  recorderId: string;
  recorderName: string;
  ticker: string;
  action: string;
  status: ExecutionStatus;
  decision: string | null;
  reason: string | null;
  error: string | null;
  contract: string | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  latencyMs: number | null;
  orders: Record<string, unknown>[];
}

const VIEW = `
  select e.id, e.signal_id, e.trader_id, e.account_id, a.name as account_name, a.broker, t.broker_account_id,
         s.recorder_id, r.name as recorder_name, s.ticker, s.action, e.status, e.decision, e.reason, e.error, e.contract,
         e.attempts, e.created_at, e.started_at, e.finished_at, e.latency_ms,
         (select coalesce(jsonb_agg(jsonb_build_object(
            'clientOrderId', o.client_order_id, 'leg', o.leg, 'side', o.side, 'type', o.order_type, 'qty', o.qty,
            'price', o.price::text, 'stopPrice', o.stop_price::text, 'status', o.status, 'brokerOrderId', o.broker_order_id,
            'filledQty', o.filled_qty, 'fillPrice', o.fill_price::text, 'reason', o.reason, 'at', o.created_at)
            order by o.id), '[]') from broker_orders o where o.execution_id = e.id) as orders
    from executions e
    join signals s on s.id = e.signal_id
    join recorders r on r.id = s.recorder_id
    join traders t on t.id = e.trader_id
    join accounts a on a.id = e.account_id`;

function toView(r: Record<string, unknown>): ExecutionView {
  return {
    id: r.id as string,
    signalId: r.signal_id as string,
    traderId: r.trader_id as string,
    accountId: r.account_id as string,
    accountName: r.account_name as string,
    broker: r.broker as string,
    brokerAccountId: r.broker_account_id as string,
    recorderId: r.recorder_id as string,
    recorderName: r.recorder_name as string,
    ticker: r.ticker as string,
    action: r.action as string,
    status: r.status as ExecutionStatus,
    decision: r.decision as string | null,
    reason: r.reason as string | null,
    error: r.error as string | null,
    contract: r.contract as string | null,
    attempts: r.attempts as number,
    createdAt: r.created_at as Date,
    startedAt: r.started_at as Date | null,
    finishedAt: r.finished_at as Date | null,
    latencyMs: r.latency_ms as number | null,
    orders: r.orders as Record<string, unknown>[],
  };
}

export async function executionsOfSignal(sql: Sql, signalId: string): Promise<ExecutionView[]> {
  const rows = await sql.unsafe(`${VIEW} where e.signal_id = $1 order by e.created_at, e.id`, [signalId]);
  return rows.map((r) => toView(r as Record<string, unknown>));
}

export async function listExecutions(
  sql: Sql,
  q: { limit: number; status?: string[]; traderId?: string; accountId?: string; before?: string },
): Promise<ExecutionView[]> {
  const rows = await sql.unsafe(
    `${VIEW}
      where ($1::text[] is null or e.status = any($1))
        and ($2::uuid is null or e.trader_id = $2)
        and ($3::uuid is null or e.account_id = $3)
        and ($4::timestamptz is null or e.created_at < $4)
      order by e.created_at desc, e.id desc limit $5`,
    [q.status ?? null, q.traderId ?? null, q.accountId ?? null, q.before ?? null, q.limit],
  );
  return rows.map((r) => toView(r as Record<string, unknown>));
}

export async function countOpenExecutions(sql: Sql): Promise<number> {
  const [row] =
    await sql`select count(*)::int as n from executions where status = any(${OPEN_STATUSES as unknown as string[]})`;
  return (row?.n as number) ?? 0;
}

export interface ExecutionStart {
  id: string;
  plan: unknown;
  decision: string;
  reason: string;
  contract: string | null;
}

/**
 * Marks executions running with their plans (a restart resumes the same plan); a fan-out starts N in one
 * statement. Written behind the first order (src/dispatch/executor.ts), so a late write never reopens an
 * execution that has ended meanwhile (a relay that stalled while another took its execution over).
 */
export async function startExecutions(sql: Sql, items: ExecutionStart[]): Promise<void> {
  await sql`
    update executions e set status = 'running', started_at = coalesce(e.started_at, clock_timestamp()),
           attempts = e.attempts + 1, plan = v.plan, decision = v.decision, reason = v.reason, contract = v.contract
      from jsonb_to_recordset(${sql.json(items as never)}::jsonb) as v(id uuid, plan jsonb, decision text, reason text, contract text),
           (select id from executions where id = any(${items.map((i) => i.id)}::uuid[])
               and status in ('pending', 'running', 'waiting_for_broker') order by id for update) l,
           ${sql.unsafe(ASYNC_COMMIT)}
     where e.id = v.id and l.id = v.id`;
}

export interface ExecutionFinish {
  id: string;
  status: ExecutionStatus;
  decision?: string | null;
  reason?: string | null;
  error?: string | null;
  latencyMs?: number | null;
  contract?: string | null;
}

/** Records how executions ended, many in one statement. */
export async function finishExecutions(sql: Sql, items: ExecutionFinish[]): Promise<void> {
  const rows = items.map((f) => ({
    id: f.id,
    status: f.status,
    decision: f.decision ?? null,
    reason: f.reason ?? null,
    error: f.error ?? null,
    latency_ms: f.latencyMs ?? null,
    contract: f.contract ?? null,
  }));
  await sql`
    update executions e set status = v.status, decision = coalesce(v.decision, e.decision),
           reason = coalesce(v.reason, e.reason), error = v.error, latency_ms = v.latency_ms,
           contract = coalesce(v.contract, e.contract), finished_at = clock_timestamp(), lease_until = null
      from jsonb_to_recordset(${sql.json(rows as never)}::jsonb)
             as v(id uuid, status text, decision text, reason text, error text, latency_ms integer, contract text),
           (select id from executions where id = any(${rows.map((r) => r.id)}::uuid[]) order by id for update) l,
           ${sql.unsafe(ASYNC_COMMIT)}
     where e.id = v.id and l.id = v.id`;
}

export interface ExecutionWaiting {
  id: string;
  /** The plan to resume with (reduced when an entry expired while waiting). */
  plan: unknown;
  decision: string | null;
  reason: string | null;
  /** Why it waits, in words: shown as the execution's error until it goes out. */
  waitingFor: string;
}

/** An execution whose broker cannot be reached: open work, with the plan it resumes with. */
export async function markWaiting(sql: Sql, w: ExecutionWaiting): Promise<void> {
  await sql`
    update executions set status = 'waiting_for_broker', plan = coalesce(${w.plan === null ? null : sql.json(w.plan as never)}::jsonb, plan),
           decision = coalesce(${w.decision}, decision), reason = coalesce(${w.reason}, reason), error = ${w.waitingFor},
           started_at = coalesce(started_at, clock_timestamp())
     where id = ${w.id} and status in ('pending', 'running', 'waiting_for_broker')`;
}
