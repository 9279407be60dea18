/**
 * Scenario 6: the relay loses its database for a few seconds (the TCP proxy between it and PostgreSQL is
 * cut) in the middle of a fan-out, while alerts keep arriving. Alerts are sent like TradingView sends them:
 * the same body re-sent on a 5xx, 5 s apart, up to 3 times. A webhook may get 503 only while it cannot be
 * recorded; every alert must end accepted exactly once; executions hit by the cut must be resumed.
 */
import type { WebhookRecord } from "../client";
import type { RecorderHandle } from "../harness";
import {
  type Outage,
  type ScenarioContext,
  type ScenarioResult,
  ScenarioRun,
  sleep,
  until,
} from "../scenario";
import { OrderWatch } from "../watch";

export interface DatabaseOptions {
  recorder: RecorderHandle;
  /** How long the database stays cut. */
  outageMs: number;
  /** Alerts sent from the cut until a little after the restore, this far apart. */
  intervalMs: number;
  /** TradingView re-sends 5 s apart. */
  resendDelayMs?: number;
}

export async function databaseScenario(ctx: ScenarioContext, o: DatabaseOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun(
    "database",
    `database cut for ${o.outageMs} ms mid fan-out, alerts keep coming`,
  );
  const { h, rng } = ctx;
  const n = o.recorder.followers.length;
  const sends: Promise<WebhookRecord[]>[] = [];
  const keys: string[] = [];
  const send = (action: "buy" | "exit", withId: boolean) => {
    const { key, body } = run.alert(action, { withId });
    keys.push(key);
    sends.push(
      h.client.sendLikeTradingView(run.name, key, o.recorder.token, body, {
        resendDelayMs: o.resendDelayMs ?? 5_000,
      }),
    );
  };

  const outage: Outage = { from: 0, to: Number.POSITIVE_INFINITY };
  const watch = new OrderWatch(h.sim);
  const at = rng.int(1, Math.max(1, 2 * n));
  watch.at("any", at, () => {
    // Once only: a fan-out slower than the wait below is cut by hand, and its late order must not cut again.
    if (outage.from !== 0) return;
    h.proxy.cut();
    outage.from = Date.now();
    ctx.outages.push(outage);
    run.fault("databaseCuts");
  });
  try {
    // The fan-out the cut lands in.
    send("buy", true);
    if (!(await until(() => watch.fired, 30_000))) {
      watch.dispose();
      h.proxy.cut();
      outage.from = Date.now();
      ctx.outages.push(outage);
      run.fault("databaseCuts");
      run.note(`order #${at} never came; cut after the fan-out`);
    }
    const restoreAt = outage.from + o.outageMs;
    let i = 0;
    while (Date.now() < restoreAt + 1_000) {
      send(i % 2 === 0 ? "exit" : "buy", rng.chance(0.5));
      i++;
      if (Date.now() >= restoreAt && outage.to === Number.POSITIVE_INFINITY) {
        h.proxy.restore();
        outage.to = Date.now();
      }
      await sleep(o.intervalMs);
    }
    if (outage.to === Number.POSITIVE_INFINITY) {
      h.proxy.restore();
      outage.to = Date.now();
    }
  } finally {
    watch.dispose();
    if (outage.to === Number.POSITIVE_INFINITY) {
      h.proxy.restore();
      outage.to = Date.now();
    }
  }
  const all = (await Promise.all(sends)).flat();
  const open = await h.waitQuiet();

  // Every alert must have become exactly one signal (the auditor counts doubles; here: the missing ones).
  const rows = (await h.sql`
    select w.headers ->> 'user-agent' as ua from signals s join webhooks w on w.id = s.webhook_id
     where w.headers ->> 'user-agent' like ${`fault/${run.name}-%`}`) as unknown as { ua: string }[];
  const accepted = new Set(rows.map((r) => r.ua.split("/")[1]));
  for (const key of keys) {
    if (accepted.has(key)) continue;
    const tries = all.filter((r) => r.key === key);
    run.finding(
      "lost",
      "alert_never_accepted",
      key,
      `attempts: ${tries.map((r) => r.status ?? r.error).join(", ")}`,
    );
  }
  const statuses = new Map<string, number>();
  for (const r of all)
    statuses.set(String(r.status ?? "none"), (statuses.get(String(r.status ?? "none")) ?? 0) + 1);
  run.count("webhookAttempts", all.length);
  // TradingView cancels after 3 s and does not re-send: an attempt without a reply by then is on its own.
  run.count("noReplyWithin3s", all.filter((r) => r.status === undefined).length);
  run.count("replies503", statuses.get("503") ?? 0);
  run.note(
    `cut at order #${at} for ${outage.to - outage.from} ms; ${keys.length} alerts, ${all.length} attempts; replies ${[...statuses].map(([s, c]) => `${s}x${c}`).join(" ")}${open ? `; ${open} executions still open` : ""}`,
  );
  return run.result;
}
