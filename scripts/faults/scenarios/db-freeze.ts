/**
 * Scenario: the database stalls (every connection through the proxy freezes: nothing flows, nothing is
 * closed) for a long while, with alerts arriving all along and sent like TradingView sends them (a 5xx
 * re-sent 5 s apart up to three times; TradingView itself gives up after 3 s). The relay must answer every
 * attempt within WEBHOOK_COMMIT_TIMEOUT_MS (503 while it cannot commit), never make TradingView wait past
 * 3 s, and end with every alert one signal at most: a commit that landed after its 503 stands, and the
 * re-sends are its duplicates. Counts: attempts, 503s, attempts slower than 3 s, late commits.
 */
import type { WebhookRecord } from "../client";
import type { RecorderHandle } from "../harness";
import { type Outage, type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";

export interface FreezeOptions {
  recorder: RecorderHandle;
  /** How long the database stays frozen. */
  freezeMs: number;
  /** Alerts sent from the freeze until a little after the thaw, this far apart. */
  intervalMs: number;
  resendDelayMs?: number;
}

export async function dbFreezeScenario(ctx: ScenarioContext, o: FreezeOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun("db-freeze", `database frozen for ${o.freezeMs} ms, alerts keep coming`);
  const { h, rng } = ctx;
  const sends: Promise<WebhookRecord[]>[] = [];
  const keys: string[] = [];
  const outage: Outage = { from: Date.now(), to: Number.POSITIVE_INFINITY };
  ctx.outages.push(outage);
  h.proxy.freeze();
  run.fault("databaseFreezes");
  try {
    let i = 0;
    while (Date.now() < outage.from + o.freezeMs + 1_000) {
      if (Date.now() >= outage.from + o.freezeMs && outage.to === Number.POSITIVE_INFINITY) {
        h.proxy.thaw();
        outage.to = Date.now();
      }
      // Entries and exits, half with an alert id, half relying on the fingerprint.
      const { key, body } = run.alert(i % 2 === 0 ? "buy" : "exit", { withId: rng.chance(0.5) });
      keys.push(key);
      sends.push(
        h.client.sendLikeTradingView(run.name, key, o.recorder.token, body, {
          resendDelayMs: o.resendDelayMs ?? 5_000,
        }),
      );
      i++;
      await sleep(o.intervalMs);
    }
  } finally {
    if (outage.to === Number.POSITIVE_INFINITY) {
      h.proxy.thaw();
      outage.to = Date.now();
    }
  }
  const all = (await Promise.all(sends)).flat();
  const open = await h.waitQuiet();

  const rows = (await h.sql`
    select w.headers ->> 'user-agent' as ua, w.http_status from signals s join webhooks w on w.id = s.webhook_id
     where w.headers ->> 'user-agent' like ${`fault/${run.name}-%`}`) as unknown as { ua: string }[];
  const accepted = new Set(rows.map((r) => r.ua.split("/")[1]));
  let late = 0;
  for (const key of keys) {
    const tries = all.filter((r) => r.key === key);
    if (accepted.has(key)) {
      if (!tries.some((r) => r.status === 202)) late++;
      continue;
    }
    // Never committed: legitimate only if TradingView got a 503 every time (it knows to re-send).
    if (tries.some((r) => r.status !== 503))
      run.finding(
        "lost",
        "alert_never_accepted",
        key,
        `attempts: ${tries.map((r) => r.status ?? r.error).join(", ")}`,
      );
  }
  const slow = all.filter((r) => r.status === undefined || (r.endedAt ?? r.startedAt) - r.startedAt > 3_000);
  for (const r of slow)
    run.finding(
      "fiveXX",
      "reply_after_3s",
      r.tag,
      `no reply within TradingView's 3 s (${r.status ?? r.error})`,
    );
  const statuses = new Map<string, number>();
  for (const r of all)
    statuses.set(String(r.status ?? "none"), (statuses.get(String(r.status ?? "none")) ?? 0) + 1);
  run.count("webhookAttempts", all.length);
  run.count("replies503", statuses.get("503") ?? 0);
  run.count("slowerThan3s", slow.length);
  run.count("lateCommits", late);
  const maxMs = Math.max(0, ...all.map((r) => (r.endedAt ?? r.startedAt) - r.startedAt));
  run.note(
    `frozen ${outage.to - outage.from} ms; ${keys.length} alerts, ${all.length} attempts; replies ${[...statuses].map(([s, c]) => `${s}x${c}`).join(" ")}; slowest reply ${maxMs} ms; ${late} alerts committed after their 503 (re-sends were duplicates)${open ? `; ${open} executions still open` : ""}`,
  );
  return run.result;
}
