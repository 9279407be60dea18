/**
 * Issue 12, item 7: sizes nobody can mean. Alert quantities must be plain whole numbers within
 * MAX_ORDER_CONTRACTS (default 100): "2000000000", "1,5", "1.5", 1e300, "0x10", ... are refused with 422
 * before anything is committed (no signal) and nothing reaches any broker. A trader multiplier outside
 * 0.01..100 is refused by the API (422) on create and on update, and nothing is stored.
 */
import type { RecorderHandle } from "../harness";
import { customAlert, type ScenarioContext, type ScenarioResult, ScenarioRun } from "../scenario";
import { describeOrders, ordersAt, type TruthOptions } from "./truth-support";

/** Raw JSON fragments for the size field: each must be refused. */
export const HOSTILE_QUANTITIES: readonly { label: string; json: string }[] = [
  { label: "quantity 2000000000 as text", json: `"quantity":"2000000000"` },
  { label: "quantity 2000000000", json: `"quantity":2000000000` },
  { label: "quantity 1,5 (decimal comma)", json: `"quantity":"1,5"` },
  { label: "quantity 1.5", json: `"quantity":"1.5"` },
  { label: "quantity 1.5 as a number", json: `"quantity":1.5` },
  { label: "quantity 101 (over MAX_ORDER_CONTRACTS)", json: `"quantity":101` },
  { label: "quantity 1e300", json: `"quantity":1e300` },
  { label: "quantity 1e2 as text", json: `"quantity":"1e2"` },
  { label: "quantity 0x10", json: `"quantity":"0x10"` },
  { label: "quantity Infinity", json: `"quantity":"Infinity"` },
  { label: "quantity -3", json: `"quantity":-3` },
  { label: "qty 1_000", json: `"qty":"1_000"` },
  { label: "contracts '2 contracts'", json: `"contracts":"2 contracts"` },
];

/** Multipliers outside 0.01..100, as JSON values. */
export const HOSTILE_MULTIPLIERS: readonly unknown[] = [1e300, "1e300", 1000, 100.5, 0.001, "0,5", -1, 0];

export async function hostileSizesScenario(
  ctx: ScenarioContext,
  o: TruthOptions & { recorder: RecorderHandle },
): Promise<ScenarioResult> {
  const run = new ScenarioRun("hostile-sizes", "sizes nobody can mean: alert quantities and multipliers");
  const { h } = ctx;
  const r = o.recorder;
  const started = Date.now();

  for (const q of HOSTILE_QUANTITIES) {
    const { key } = customAlert(run, {});
    const body = `{"ticker":"MNQ1!","action":"buy",${q.json},"id":"${key}"}`;
    const rec = await h.client.send(run.name, key, r.token, body, { timeoutMs: 10_000 });
    run.fault("hostileSizes");
    const reply = rec.body as { status?: string } | undefined;
    if (rec.status !== 422)
      run.finding(
        "mismatched",
        "hostile_size_accepted",
        `${run.name}:${key}`,
        `${q.label}: answered ${rec.status ?? rec.error} ${JSON.stringify(rec.body).slice(0, 160)}`,
      );
    else if (reply?.status !== "invalid")
      run.note(`${q.label}: 422 ${JSON.stringify(rec.body).slice(0, 120)}`);
    const committed = (await h.sql`
      select s.id from signals s join webhooks w on w.id = s.webhook_id
       where w.headers ->> 'user-agent' = ${rec.tag}`) as unknown as { id: string }[];
    if (rec.status === 422 && committed.length > 0)
      run.finding(
        "mismatched",
        "committed_despite_422",
        `${run.name}:${key}`,
        `${q.label}: signal ${committed[0]?.id}`,
      );
  }
  await h.waitQuiet();
  for (const f of r.followers) {
    const placed = ordersAt(h, f, started).filter((x) => !x.manual);
    if (placed.length > 0)
      run.finding(
        "mismatched",
        "hostile_size_at_broker",
        `${run.name}:${f.broker}:${f.brokerAccountId}`,
        `orders reached ${f.broker} from hostile sizes: ${describeOrders(placed)}`,
      );
  }

  // Multipliers through the API: on create and on update.
  const f0 = r.followers[0];
  if (!f0) throw new Error("hostile-sizes needs a follower");
  const traders = async () =>
    (
      (await h.sql`select count(*)::int as n from traders where deleted_at is null`) as unknown as {
        n: number;
      }[]
    )[0]?.n ?? 0;
  const before = await traders();
  // A recorder the follower's account is not linked to yet, so a create is refused for its multiplier only.
  const spare = await h.api<{ id: string }>("POST", "/api/recorders", {
    name: "Hostile multipliers",
    quantity: 1,
  });
  for (const m of HOSTILE_MULTIPLIERS) {
    const res = await h.apiCall<{ id?: string }>(
      "POST",
      "/api/traders",
      `{"recorderId":"${spare.id}","accountId":"${f0.accountId}","multiplier":${JSON.stringify(m)}}`,
    );
    run.fault("hostileMultipliers");
    if (res.status >= 400 && res.status < 500 && res.status !== 422)
      run.note(`POST multiplier ${JSON.stringify(m)}: refused with ${res.status} (the contract says 422)`);
    if (res.status < 400 || res.status >= 500) {
      run.finding(
        "mismatched",
        "hostile_multiplier_accepted",
        `${run.name}:create:${String(m)}`,
        `POST /api/traders multiplier ${JSON.stringify(m)} answered ${res.status} ${res.text.slice(0, 160)}`,
      );
      if (res.body.id) await h.apiCall("DELETE", `/api/traders/${res.body.id}`);
    }
    const patch = await h.apiCall(
      "PATCH",
      `/api/traders/${f0.traderId}`,
      `{"multiplier":${JSON.stringify(m)}}`,
    );
    run.fault("hostileMultipliers");
    if (patch.status >= 400 && patch.status < 500 && patch.status !== 422)
      run.note(`PATCH multiplier ${JSON.stringify(m)}: refused with ${patch.status} (the contract says 422)`);
    if (patch.status < 400 || patch.status >= 500)
      run.finding(
        "mismatched",
        "hostile_multiplier_accepted",
        `${run.name}:update:${String(m)}`,
        `PATCH /api/traders/:id multiplier ${JSON.stringify(m)} answered ${patch.status} ${patch.text.slice(0, 160)}`,
      );
  }
  // Nothing stored: the follower's multiplier is still 1.
  const [stored] =
    (await h.sql`select multiplier::text as m from traders where id = ${f0.traderId}`) as unknown as {
      m: string;
    }[];
  if (stored && Number(stored.m) !== 1) {
    run.finding(
      "mismatched",
      "hostile_multiplier_stored",
      `${run.name}:stored`,
      `the trader's multiplier is ${stored.m} after the hostile updates`,
    );
    await h.apiCall("PATCH", `/api/traders/${f0.traderId}`, { multiplier: 1 });
  }
  const after = await traders();
  if (after !== before) run.note(`traders before ${before}, after ${after}`);
  return run.result;
}
