/**
 * After a scenario: wait until no execution is open, then audit. Fill bookings and order states land a
 * moment after an execution ends (batched writes, late events), so findings of those kinds are re-checked
 * for a short grace period before they count.
 */
import { type AuditReport, audit } from "./auditor";
import type { ScenarioContext } from "./scenario";

const TRANSIENT = new Set([
  "fill_not_booked",
  "book_mismatch",
  "order_left_sending",
  "order_left_unknown",
  "execution_stuck",
  "order_state_stale",
  "order_still_working",
  "order_state_mismatch",
]);

export async function settleAndAudit(
  ctx: ScenarioContext,
  o: { quietTimeoutMs: number; graceMs: number },
): Promise<{ report: AuditReport; waitedMs: number }> {
  const started = Date.now();
  await ctx.h.waitQuiet(o.quietTimeoutMs);
  const graceUntil = Date.now() + o.graceMs;
  for (;;) {
    const report = await audit({
      sql: ctx.h.sql,
      brokers: ctx.h.brokers,
      followers: ctx.h.followers,
      replies: ctx.h.client.records,
      outages: ctx.outages,
    });
    const transient = report.findings.some((f) => f.class !== "explained" && TRANSIENT.has(f.kind));
    if (!transient || Date.now() > graceUntil) return { report, waitedMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Signals accepted from alerts of one scenario (their keys start with its name). */
export async function signalsOf(ctx: ScenarioContext, scenario: string): Promise<number> {
  const [row] = await ctx.h.sql`
    select count(*)::int as n from signals s join webhooks w on w.id = s.webhook_id
     where w.headers ->> 'user-agent' like ${`fault/${scenario}-%`}`;
  return (row?.n as number | undefined) ?? 0;
}
