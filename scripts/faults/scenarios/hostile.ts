/**
 * Scenario 7: arbitrary and hostile input over real HTTP. Thousands of generated bodies (see
 * hostile-inputs.ts) through a normal client, then raw-socket abuse: huge and many headers, bogus
 * content-lengths, bodies trickled slowly or cut short, pipelining, HTTP/1.0. Never a 5xx for a handled
 * webhook, and every request the relay answered is in its raw webhook log (found by its user-agent tag).
 * Requests Node's HTTP parser refuses (400/431) never reach the relay and are counted apart.
 */
import { Readable } from "node:stream";
import { tagOf } from "../auditor";
import { parseJson, replyFields } from "../client";
import type { RecorderHandle } from "../harness";
import { hostileBodies } from "../hostile-inputs";
import { rawCases } from "../raw-cases";
import { rawRequest } from "../raw-http";
import { type ScenarioContext, type ScenarioResult, ScenarioRun } from "../scenario";

export interface HostileOptions {
  /** A recorder with no traders: accepted alerts exercise intake alone. */
  recorder: RecorderHandle;
  bodies: number;
  /** Raw-socket abuse cases, each repeated this many times. */
  rawRepeats: number;
  concurrency: number;
}

interface Sent {
  tag: string;
  label: string;
  status?: number;
  /** The reply came from the relay's webhook handler (JSON with a status word). */
  fromRelay: boolean;
  detail: string;
}

export async function hostileScenario(ctx: ScenarioContext, o: HostileOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun("hostile", "arbitrary bodies and hostile HTTP at the webhook");
  const { h } = ctx;
  const sent: Sent[] = [];
  const statuses = new Map<string, number>();
  const tally = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
  const failedBefore = h.relay.notable.filter((l) => l.event === "RequestFailed").length;
  // Past the per-address limit, requests no recorder owns are counted in aggregate rows (issue 13).
  const aggregated = async () => {
    const [row] = await h.sql`
      select coalesce(sum(requests), 0)::bigint as n from webhooks where aggregate_minute is not null`;
    return Number(row?.n ?? 0);
  };
  const aggregatedBefore = await aggregated();

  // 1. Generated bodies through an ordinary client.
  const inputs = hostileBodies(ctx.rng.int(1, 2 ** 31 - 1), o.bodies);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      const input = inputs[i];
      if (!input) return;
      const { key } = { key: `hostile-${i + 1}` };
      const token = input.token === "known" ? o.recorder.token : input.token;
      const body = input.chunked ? Readable.from(chunks(input.body, 8192)) : input.body;
      const rec = await h.client.send(run.name, key, token, body, {
        contentType: input.contentType,
        timeoutMs: 15_000,
        freshConnection: true,
        headers: { "x-forwarded-for": ctx.rng.pick(["' OR 1=1 --", "1.2.3.4, 5.6.7.8", "not-an-ip", "::1"]) },
      });
      const f = replyFields(rec.body);
      tally(String(rec.status ?? "none"));
      sent.push({
        tag: rec.tag,
        // The body's start goes into the finding, so a report says what was sent.
        label: `${input.label} ${JSON.stringify(new TextDecoder().decode(input.body.slice(0, 100)))}`,
        ...(rec.status !== undefined ? { status: rec.status } : {}),
        fromRelay: f.status !== undefined,
        detail: rec.error ?? JSON.stringify(rec.body).slice(0, 160),
      });
    }
  };
  const bodiesAt = Date.now();
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  run.fault("hostileBodies", inputs.length);
  const rawAt = Date.now();

  // 2. Raw-socket abuse, the slow ones in parallel.
  const cases = rawCases(o.recorder.token);
  let n = 0;
  const raw = cases.flatMap((c) =>
    Array.from({ length: o.rawRepeats }, () => {
      const tag = `fault/hostile-raw-${++n}/1`;
      return async () => {
        const reply = await rawRequest(h.relay.port, c.pieces(tag), c.timeoutMs ?? 15_000);
        const json = parseJson(reply.body);
        const f = replyFields(json);
        for (const s of reply.statuses) tally(`raw ${s}`);
        if (reply.statuses.length === 0) tally("raw none");
        sent.push({
          tag,
          label: `raw:${c.label}`,
          ...(reply.status !== undefined ? { status: reply.status } : {}),
          fromRelay: f.status !== undefined,
          detail: reply.error ?? `${reply.statuses.join(",")} ${reply.body.slice(0, 120)}`,
        });
        // A pipelined second request that got a 5xx is a 5xx too.
        for (const s of reply.statuses.slice(1))
          if (s >= 500) run.finding("fiveXX", `http_${s}`, `${tag}#2`, `${c.label}: second reply ${s}`);
      };
    }),
  );
  for (let i = 0; i < raw.length; i += 40) await Promise.all(raw.slice(i, i + 40).map((f) => f()));
  run.fault("rawAbuse", raw.length);
  run.note(`generated bodies sent in ${rawAt - bodiesAt} ms, raw abuse in ${Date.now() - rawAt} ms`);

  // 3. Every request the relay answered must be in its raw log; never a 5xx. A rejection's reply waits
  // for its log row only 2 s; the write goes on being tried for about 10 s more, so a busy machine gets
  // that long before a missing row counts as lost.
  const loggedTags = async () => {
    const rows = (await h.sql`
      select headers ->> 'user-agent' as ua from webhooks where headers ->> 'user-agent' like 'fault/hostile-%'`) as unknown as {
      ua: string;
    }[];
    return new Set(rows.map((r) => tagOf(r.ua)));
  };
  let logged = await loggedTags();
  let counted = (await aggregated()) - aggregatedBefore;
  const unlogged = () => sent.filter((s) => s.fromRelay && !logged.has(s.tag));
  for (const deadline = Date.now() + 12_000; Date.now() < deadline; ) {
    if (unlogged().length <= counted) break;
    await new Promise((r) => setTimeout(r, 250));
    logged = await loggedTags();
    counted = (await aggregated()) - aggregatedBefore;
  }
  // Answered requests without a row of their own must be counted in an aggregate row.
  let uncounted = Math.max(0, unlogged().length - counted);
  run.count("countedInAggregates", counted);
  let refused = 0;
  let unanswered = 0;
  let unansweredLogged = 0;
  for (const s of sent) {
    if (s.status !== undefined && s.status >= 500)
      run.finding("fiveXX", `http_${s.status}`, s.tag, `${s.label}: ${s.detail}`);
    if (s.fromRelay) {
      if (!logged.has(s.tag) && uncounted-- > 0)
        run.finding("lost", "webhook_not_logged", s.tag, `${s.label}: ${s.status} ${s.detail}`);
    } else if (s.status !== undefined) refused++;
    else {
      unanswered++;
      if (logged.has(s.tag)) unansweredLogged++;
    }
  }
  const failed = h.relay.notable.filter((l) => l.event === "RequestFailed").slice(failedBefore);
  run.count("refusedByHttpParser", refused);
  run.count("noReply", unanswered);
  run.note(
    `replies: ${[...statuses]
      .sort()
      .map(([k, v]) => `${k}x${v}`)
      .join(" ")}`,
  );
  run.note(
    `${sent.length} requests; ${refused} refused by Node's HTTP parser before the relay (not loggable); ${unanswered} got no reply by design (cut short or stalled), ${unansweredLogged} of those logged anyway`,
  );
  if (failed.length)
    run.note(
      `${failed.length} RequestFailed log lines (an exception escaped intake), e.g. ${failed[0]?.line.slice(0, 400)}`,
    );
  return run.result;
}

function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}
