/**
 * The notification outbox in Postgres (sql/000004.sql). Items are stored by the bus listener in one
 * insert; the sender packs them into messages and claims messages with `for update skip locked` and a
 * lease, so two relays never send one message, and one that died mid-send has it taken over.
 */
import type { Sql } from "../db/client";
import type { OutboundMessage, Target } from "./port";

export interface NewItem {
  target: Target;
  urgent: boolean;
  eventType: string;
  /** For signal events: lets a late failure be folded into its already packed summary. */
  signalId?: string;
  payload: Record<string, unknown>;
}

export interface UnpackedItem {
  id: string;
  target: Target;
  urgent: boolean;
  payload: unknown;
  ageMs: number;
}

export interface PlannedMessage {
  target: Target;
  urgent: boolean;
  body: OutboundMessage;
  itemIds: string[];
}

export interface ClaimedMessage {
  id: string;
  /** Unique across databases and resets (id and creation time): the Discord nonce of this message. */
  nonce: string;
  target: Target;
  urgent: boolean;
  body: OutboundMessage;
  attempts: number;
}

const targetOf = (r: Record<string, unknown>): Target => ({ kind: r.target_kind, id: r.target_id }) as Target;

export async function insertItems(sql: Sql, items: NewItem[]): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map((i) => ({
    target_kind: i.target.kind,
    target_id: i.target.id,
    urgent: i.urgent,
    event_type: i.eventType,
    signal_id: i.signalId ?? null,
    payload: sql.json(i.payload as never),
  }));
  await sql`insert into notification_items ${sql(rows, "target_kind", "target_id", "urgent", "event_type", "signal_id", "payload")}`;
}

/**
 * Locks the oldest unpacked items, lets `plan` turn them into messages, stores the messages and links
 * the items to them, in one transaction. Items `plan` leaves out stay waiting. Returns messages stored.
 */
export async function packItems(
  sql: Sql,
  limit: number,
  plan: (items: UnpackedItem[]) => PlannedMessage[],
): Promise<number> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      select id::text, target_kind, target_id, urgent, payload, event_type, signal_id,
             (extract(epoch from clock_timestamp() - created_at) * 1000)::float8 as age_ms
        from notification_items
       where message_id is null
       order by notification_items.id
       limit ${limit}
       for update skip locked`;
    if (rows.length === 0) return 0;
    // A failure whose signal summary already went out (or is on its way) is listed there: fold it in.
    const failedSignals = [
      ...new Set(
        rows
          .filter((r) => r.event_type === "ExecutionFailed" && r.signal_id)
          .map((r) => r.signal_id as string),
      ),
    ];
    const summaries = new Map<string, string>();
    if (failedSignals.length > 0) {
      const found = await tx`
        select signal_id, target_kind, target_id, message_id::text from notification_items
         where event_type = 'SignalExecuted' and signal_id = any(${failedSignals}) and message_id is not null`;
      for (const f of found)
        summaries.set(`${f.signal_id} ${f.target_kind}:${f.target_id}`, f.message_id as string);
    }
    const folded = new Map<string, string[]>();
    const open = rows.filter((r) => {
      const into =
        r.event_type === "ExecutionFailed"
          ? summaries.get(`${r.signal_id} ${r.target_kind}:${r.target_id}`)
          : undefined;
      if (into) folded.set(into, [...(folded.get(into) ?? []), r.id as string]);
      return !into;
    });
    for (const [messageId, ids] of folded) {
      await tx`update notification_items set message_id = ${messageId} where id = any(${ids}::bigint[])`;
    }
    const items = open.map((r) => ({
      id: r.id as string,
      target: targetOf(r),
      urgent: r.urgent as boolean,
      payload: r.payload,
      ageMs: r.age_ms as number,
    }));
    const planned = plan(items);
    for (const m of planned) {
      const [row] = await tx`
        insert into notification_messages (target_kind, target_id, urgent, body)
        values (${m.target.kind}, ${m.target.id}, ${m.urgent}, ${tx.json(m.body as never)})
        returning id`;
      await tx`update notification_items set message_id = ${row?.id as string} where id = any(${m.itemIds}::bigint[])`;
    }
    return planned.length + folded.size;
  }) as Promise<number>;
}

/**
 * Claims due messages, at most one per target and none for `busy` targets (one in flight per target
 * keeps a channel's messages in order), urgent first, then oldest. `includeOwn` also takes back
 * messages this instance was sending when it last stopped.
 */
export async function claimMessages(
  sql: Sql,
  o: { instanceId: string; leaseMs: number; limit: number; busy: Set<string>; includeOwn: boolean },
): Promise<ClaimedMessage[]> {
  if (o.limit <= 0) return [];
  return sql.begin(async (tx) => {
    const candidates = await tx`
      select id::text, target_kind, target_id from notification_messages
       where (status = 'pending' and not_before <= clock_timestamp())
          or (status = 'sending' and (lease_until < clock_timestamp() or (${o.includeOwn} and claimed_by = ${o.instanceId})))
       order by urgent desc, notification_messages.id
       limit ${Math.max(50, o.limit * 10)}
       for update skip locked`;
    const chosen: string[] = [];
    const taken = new Set(o.busy);
    for (const c of candidates) {
      const key = `${c.target_kind}:${c.target_id}`;
      if (taken.has(key)) continue;
      taken.add(key);
      chosen.push(c.id as string);
      if (chosen.length >= o.limit) break;
    }
    if (chosen.length === 0) return [];
    const rows = await tx`
      update notification_messages
         set status = 'sending', attempts = attempts + 1, claimed_by = ${o.instanceId},
             lease_until = clock_timestamp() + make_interval(secs => ${o.leaseMs / 1000}), updated_at = now()
       where id = any(${chosen}::bigint[])
      returning id::text, target_kind, target_id, urgent, body, attempts,
                (extract(epoch from created_at) * 1000)::bigint::text as created_ms`;
    return rows
      .map((r) => ({
        id: r.id as string,
        nonce: `n${BigInt(r.id as string).toString(36)}.${BigInt(r.created_ms as string).toString(36)}`,
        target: targetOf(r),
        urgent: r.urgent as boolean,
        body: r.body as OutboundMessage,
        attempts: r.attempts as number,
      }))
      .sort((a, b) => Number(b.urgent) - Number(a.urgent) || Number(a.id) - Number(b.id));
  }) as Promise<ClaimedMessage[]>;
}

export async function markSent(
  sql: Sql,
  id: string,
  instanceId: string,
  discordMessageId: string,
): Promise<void> {
  await sql`
    update notification_messages
       set status = 'sent', sent_at = now(), discord_message_id = ${discordMessageId}, last_error = null,
           lease_until = null, updated_at = now()
     where id = ${id} and status = 'sending' and claimed_by = ${instanceId}`;
}

/** Back to the queue after `afterMs`; `refund` gives the attempt back (rate limits, shutdown). */
export async function markRetry(
  sql: Sql,
  id: string,
  instanceId: string,
  o: { afterMs: number; error: string; refund: boolean },
): Promise<void> {
  await sql`
    update notification_messages
       set status = 'pending', not_before = clock_timestamp() + make_interval(secs => ${o.afterMs / 1000}),
           attempts = attempts - ${o.refund ? 1 : 0}, last_error = ${o.error}, lease_until = null, updated_at = now()
     where id = ${id} and status = 'sending' and claimed_by = ${instanceId}`;
}

export async function markFailed(sql: Sql, id: string, instanceId: string, error: string): Promise<void> {
  await sql`
    update notification_messages
       set status = 'failed', last_error = ${error}, lease_until = null, updated_at = now()
     where id = ${id} and status = 'sending' and claimed_by = ${instanceId}`;
}

export interface OutboxCounts {
  waitingItems: number;
  pending: number;
  sending: number;
  sent: number;
  failed: number;
}

export async function outboxCounts(sql: Sql): Promise<OutboxCounts> {
  const [row] = await sql`
    select (select count(*)::int from notification_items where message_id is null) as waiting_items,
           count(*) filter (where status = 'pending')::int as pending,
           count(*) filter (where status = 'sending')::int as sending,
           count(*) filter (where status = 'sent')::int as sent,
           count(*) filter (where status = 'failed')::int as failed
      from notification_messages`;
  return {
    waitingItems: (row?.waiting_items as number) ?? 0,
    pending: (row?.pending as number) ?? 0,
    sending: (row?.sending as number) ?? 0,
    sent: (row?.sent as number) ?? 0,
    failed: (row?.failed as number) ?? 0,
  };
}

/** Forgets delivered and abandoned messages older than `days` (their items go with them). */
export async function pruneOutbox(sql: Sql, days: number): Promise<number> {
  const rows = await sql`
    delete from notification_messages
     where status in ('sent', 'failed') and created_at < now() - make_interval(days => ${days})
    returning id`;
  return rows.length;
}
