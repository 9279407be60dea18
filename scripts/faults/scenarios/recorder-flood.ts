/**
 * Scenario: one recorder floods (a strategy gone wild: `floodPerSecond` entries a second for a while) on
 * a login that also follows a quiet recorder. The quiet recorder's buy must not wait behind the flood
 * (recorders take turns on an account's lane: at most one flood execution goes first), and the flood's
 * entries beyond what its traders can take are refused at once (429) instead of queuing to execute
 * minutes late. Counts: flood alerts, refused, the quiet buy's wait, the flood executions' median wait.
 */
import type { WebhookRecord } from "../client";
import type { RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";

export interface RecorderFloodOptions {
  /** The login both recorders trade on is this recorder's first follower's. */
  recorder: RecorderHandle;
  floodPerSecond: number;
  floodMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor(s.length / 2)] as number) : 0;
};

export async function recorderFloodScenario(
  ctx: ScenarioContext,
  o: RecorderFloodOptions,
): Promise<ScenarioResult> {
  const run = new ScenarioRun("recorder-flood", "one recorder floods a login another recorder also trades");
  const { h } = ctx;
  const login = o.recorder.followers[0];
  if (!login) throw new Error("recorder-flood needs a follower");
  const make = async (name: string) => {
    const r = await h.api<{ id: string; webhookToken: string }>("POST", "/api/recorders", {
      name,
      quantity: 1,
      avgDown: true,
    });
    await h.api("POST", "/api/traders", { recorderId: r.id, accountId: login.accountId });
    return r;
  };
  const flood = await make(`flood-${Date.now()}`);
  const quiet = await make(`quiet-${Date.now()}`);

  const sends: Promise<WebhookRecord>[] = [];
  const started = Date.now();
  let quietSent: Promise<WebhookRecord> | undefined;
  const gap = 1_000 / o.floodPerSecond;
  for (let i = 0; Date.now() - started < o.floodMs; i++) {
    const { key, body } = run.alert("buy", { withId: true });
    sends.push(h.client.send(run.name, key, flood.webhookToken, body));
    // The quiet recorder's one buy, a third of the way into the flood.
    if (!quietSent && Date.now() - started > o.floodMs / 3) {
      const q = run.alert("buy", { withId: true });
      quietSent = h.client.send(run.name, q.key, quiet.webhookToken, q.body);
    }
    await sleep(Math.max(0, started + (i + 1) * gap - Date.now()));
  }
  run.fault("floodAlerts", sends.length);
  const replies = await Promise.all(sends);
  const quietReply = await quietSent;
  await h.waitQuiet();
  const refused = replies.filter((r) => r.status === 429).length;
  run.count("refused429", refused);
  run.count("accepted", replies.filter((r) => r.status === 202).length);
  for (const r of replies)
    if (r.status === undefined || r.status >= 500)
      run.finding("fiveXX", "flood_reply", r.tag, `flood alert answered ${r.status ?? r.error}`);

  // Waits: from the webhook's arrival to the execution's start.
  const waits = (await h.sql`
    select s.recorder_id, extract(epoch from (e.started_at - s.received_at)) * 1000 as wait_ms
      from executions e join signals s on s.id = e.signal_id
     where s.recorder_id = any(${[flood.id, quiet.id]}::uuid[]) and e.started_at is not null`) as unknown as {
    recorder_id: string;
    wait_ms: string;
  }[];
  const floodWaits = waits.filter((w) => w.recorder_id === flood.id).map((w) => Number(w.wait_ms));
  const quietWait = Number(waits.find((w) => w.recorder_id === quiet.id)?.wait_ms ?? Number.NaN);
  run.count("quietWaitMs", Math.round(quietWait));
  run.count("floodMedianWaitMs", Math.round(median(floodWaits)));
  if (quietReply?.status !== 202)
    run.finding(
      "lost",
      "quiet_refused",
      quietReply?.tag ?? "quiet",
      `quiet buy answered ${quietReply?.status}`,
    );

  // Flat again for the scenarios after this one: both recorders exit, then stop taking alerts.
  for (const r of [flood, quiet]) {
    const { key, body } = run.alert("exit", { withId: true });
    await h.client.sendLikeTradingView(run.name, key, r.webhookToken, body);
  }
  await h.waitQuiet();
  for (const r of [flood, quiet]) await h.api("PATCH", `/api/recorders/${r.id}`, { enabled: false });
  run.note(
    `${sends.length} flood entries at ${o.floodPerSecond}/s: ${refused} refused at once (429), the rest waited a median ${Math.round(median(floodWaits))} ms; the quiet recorder's buy on the same login waited ${Math.round(quietWait)} ms`,
  );
  return run.result;
}
