/**
 * Issue 13: clients that hold sockets. Many connections (2,000 in the full run) send their headers and
 * then trickle or stall the body, or never finish (or never start) their headers, and re-connect as soon
 * as the relay cuts them, for the length of the attack. Half come from 127.0.0.1 (loopback, where a local
 * proxy connects from: only the total cap holds), half from 127.0.0.2 (capped per address: the rest are
 * closed at once and try again a second later). Meanwhile real alerts arrive once a
 * second, sent like TradingView (3 s and it gives up), to a recorder with followers on every broker, and
 * /health is polled on fresh connections.
 *
 * Fails when a slow socket is still open long after the attack (the relay never cut it), a real alert
 * got no 2xx within 3 s, /health failed, a real alert's execution did not end `done` (the relay's own
 * broker sockets and database must keep working), or a session is not ready at the end. Measures how
 * long the slow sockets were held (max, p99, p50), how many were refused at once, and the relay's open
 * file descriptors at the peak.
 */
import { readdirSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import type { RecorderHandle } from "../harness";
import { type ScenarioContext, type ScenarioResult, ScenarioRun, sleep } from "../scenario";

export interface SlowBodyOptions {
  /** Slow connections kept open at once (re-opened when cut) during the attack. */
  sockets: number;
  attackMs: number;
  alertIntervalMs: number;
  /** Followers of the scenario's recorder on each broker. */
  perBroker: number;
  /** A slow socket still open this long after the attack ends is a finding (Node's old default: 300 s). */
  observeMs: number;
}

/**
 * Full run (the hostile scenario's 8 raw repeats): 2,000 sockets for 40 s; quick (2): 600 for 20 s, still
 * enough that 127.0.0.2's share goes past the default per-address cap (256).
 */
export function slowBodyPlan(plan: { rawRepeats: number }): SlowBodyOptions {
  const full = plan.rawRepeats >= 8;
  return {
    sockets: full ? 2_000 : 600,
    attackMs: full ? 40_000 : 20_000,
    alertIntervalMs: 1_000,
    perBroker: 1,
    observeMs: 60_000,
  };
}

type Kind = "trickled-body" | "stalled-body" | "no-headers" | "slow-headers";
const KINDS: Kind[] = ["trickled-body", "stalled-body", "no-headers", "slow-headers"];

interface Life {
  kind: Kind;
  source: string;
  heldMs: number;
  /** Closed at once with nothing said: over a connection cap. */
  refused: boolean;
  /** What the relay said before closing (408 for a request cut by its timeout). */
  status?: number;
  /** Still open when we gave up waiting (observeMs after the attack). */
  stillOpen: boolean;
  error?: string;
}

/** Below this, a close with no reply at all is a refusal at accept, not a timeout. */
const REFUSED_WITHIN_MS = 500;

export async function slowBodyScenario(ctx: ScenarioContext, o: SlowBodyOptions): Promise<ScenarioResult> {
  const run = new ScenarioRun(
    "slow-body",
    "slow and never-ending requests hold sockets while real alerts arrive",
  );
  const { h } = ctx;
  ctx.log(`  setting up ${o.perBroker} follower(s) per broker for slow-body...`);
  const recorder: RecorderHandle = await h.recorder(
    "Slow bodies",
    3 * o.perBroker,
    {},
    {
      brokers: ["tradovate", "projectx", "webull"],
    },
  );
  const missingAtStart = await h.waitSessions(recorder.followers.map((f) => f.accountId));
  if (missingAtStart.length) run.note(`${missingAtStart.length} session(s) not ready before the attack`);
  const port = h.relay.port;
  const path = `/webhook/${recorder.token}`;

  const lives: Life[] = [];
  const attackEnd = Date.now() + o.attackMs;
  const giveUpAt = attackEnd + o.observeMs;
  // Kinds go round in fours, sources in pairs of fours: every kind from both sources.
  const sourceOf = (i: number) => (Math.floor(i / KINDS.length) % 2 === 0 ? "127.0.0.1" : "127.0.0.2");

  /** One slow connection, until the relay closes it (or we give up). */
  const oneSocket = (kind: Kind, source: string) =>
    new Promise<Life>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1", localAddress: source });
      let text = "";
      let openedAt = Date.now();
      let settled = false;
      let ticker: NodeJS.Timeout | undefined;
      const finish = (stillOpen: boolean, error?: string) => {
        if (settled) return;
        settled = true;
        if (ticker) clearInterval(ticker);
        clearTimeout(deadline);
        socket.destroy();
        const heldMs = Date.now() - openedAt;
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        resolve({
          kind,
          source,
          heldMs,
          refused: !stillOpen && text === "" && heldMs < REFUSED_WITHIN_MS,
          ...(m ? { status: Number(m[1]) } : {}),
          stillOpen,
          ...(error ? { error } : {}),
        });
      };
      const deadline = setTimeout(() => finish(true), Math.max(1_000, giveUpAt - Date.now()));
      socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
      });
      socket.on("close", () => finish(false));
      socket.on("error", (e) => finish(false, (e as NodeJS.ErrnoException).code ?? e.message));
      socket.on("connect", () => {
        openedAt = Date.now();
        const head = `POST ${path} HTTP/1.1\r\nHost: relay.test\r\nUser-Agent: slow-body-attacker\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n`;
        const drip = (bytes: string) => {
          let i = 0;
          ticker = setInterval(() => {
            if (!socket.destroyed) socket.write(bytes[i++ % bytes.length] ?? "x");
          }, 1_000);
        };
        if (kind === "trickled-body") {
          socket.write(head);
          drip('{"ticker":"MNQ1!","action":"buy","price":"21000"}');
        } else if (kind === "stalled-body") socket.write(`${head}{"ticker":"MN`);
        else if (kind === "slow-headers") {
          socket.write(`POST ${path} HTTP/1.1\r\nHost: relay.test\r\nX-Slow: `);
          drip("abcdefghijklmnopqrstuvwxyz");
        }
        // no-headers: connected, silent.
      });
    });

  // Attackers: each slot re-connects when its socket is cut, until the attack ends.
  const slot = async (i: number) => {
    const kind = KINDS[i % KINDS.length] as Kind;
    const source = sourceOf(i);
    while (Date.now() < attackEnd) {
      const life = await oneSocket(kind, source);
      lives.push(life);
      if (life.refused || life.error) await sleep(1_000);
    }
  };

  // Real alerts, once a second, like TradingView (cancelled after 3 s).
  const alerts: { key: string; status?: number; ms: number; error?: string }[] = [];
  const sendAlerts = async () => {
    let n = 0;
    while (Date.now() < attackEnd) {
      const { key, body } = run.alert(n++ % 2 === 0 ? "buy" : "exit");
      const rec = await h.client.send(run.name, key, recorder.token, body, {
        timeoutMs: 3_000,
        freshConnection: true,
      });
      alerts.push({
        key,
        ...(rec.status !== undefined ? { status: rec.status } : {}),
        ms: (rec.endedAt ?? Date.now()) - rec.startedAt,
        ...(rec.error ? { error: rec.error } : {}),
      });
      await sleep(o.alertIntervalMs);
    }
  };

  // /health on a fresh connection every 250 ms (a load balancer's probe).
  const health: { ok: boolean; ms: number; detail: string }[] = [];
  const pollHealth = async () => {
    while (Date.now() < attackEnd + 2_000) {
      const started = Date.now();
      const res = await new Promise<{ ok: boolean; detail: string }>((resolve) => {
        const req = request(
          { host: "127.0.0.1", port, path: "/health", agent: false, timeout: 2_000 },
          (r) => {
            r.resume();
            r.on("end", () => resolve({ ok: r.statusCode === 200, detail: String(r.statusCode) }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) =>
          resolve({ ok: false, detail: (e as NodeJS.ErrnoException).code ?? e.message }),
        );
        req.end();
      });
      health.push({ ...res, ms: Date.now() - started });
      await sleep(250);
    }
  };

  // The relay's open descriptors, sampled.
  let fdsMax = 0;
  const sampleFds = async () => {
    while (Date.now() < attackEnd + 2_000) {
      const pid = h.relay.pid;
      if (pid)
        try {
          fdsMax = Math.max(fdsMax, readdirSync(`/proc/${pid}/fd`).length);
        } catch {
          // not Linux, or the relay is restarting
        }
      await sleep(500);
    }
  };

  const refusedLogBefore = h.relay.notable.filter((l) => l.event === "ConnectionsRefused").length;
  const attackers: Promise<void>[] = [];
  const startedAt = Date.now();
  const background = [pollHealth(), sampleFds()];
  // Ramp up in batches so the listen backlog is not what refuses them.
  for (let i = 0; i < o.sockets; i++) {
    attackers.push(slot(i));
    if (i % 100 === 99) await sleep(50);
  }
  run.note(`${o.sockets} slow connections opened in ${Date.now() - startedAt} ms`);
  await Promise.all([sendAlerts(), ...background, ...attackers]);
  run.fault("slowConnections", lives.length);

  // Every slow socket ever opened: how long the relay let it live.
  // Held: every connection the relay admitted (a reset counts: it is how a socket with unread bytes ends).
  const cut = lives.filter((l) => !l.refused);
  const refused = lives.filter((l) => l.refused);
  const stillOpen = lives.filter((l) => l.stillOpen);
  const held = cut.map((l) => l.heldMs).sort((a, b) => a - b);
  const pct = (p: number) => held[Math.min(held.length - 1, Math.floor((held.length * p) / 100))] ?? 0;
  run.count("slowSocketsCut", cut.length - stillOpen.length);
  run.count("slowSocketsRefusedAtOnce", refused.length);
  run.count("slowSocketsStillOpen", stillOpen.length);
  const errors = new Map<string, number>();
  for (const l of lives) if (l.error) errors.set(l.error, (errors.get(l.error) ?? 0) + 1);
  run.count("slowSocketResets", lives.filter((l) => l.error).length);
  run.count("slowHeldMaxMs", held.at(-1) ?? 0);
  run.count("slowHeldP99Ms", pct(99));
  run.count("slowHeldP50Ms", pct(50));
  run.count("slowCut408", cut.filter((l) => l.status === 408).length);
  const byKind = KINDS.map((k) => {
    const ms = cut.filter((l) => l.kind === k).map((l) => l.heldMs);
    return `${k} ${ms.length} cut, max ${Math.max(0, ...ms)} ms`;
  });
  const bySource = ["127.0.0.1", "127.0.0.2"].map(
    (s) =>
      `${s}: ${lives.filter((l) => l.source === s && !l.refused).length} held, ${lives.filter((l) => l.source === s && l.refused).length} refused at once`,
  );
  run.note(
    `slow sockets ended by an error (the relay closed a socket with unread bytes): ${[...errors].map(([k, v]) => `${k}x${v}`).join(" ") || "none"}`,
  );
  run.note(
    `slow sockets: ${lives.length} connections over ${o.attackMs / 1000} s; held max ${held.at(-1) ?? 0} ms, p99 ${pct(99)} ms, p50 ${pct(50)} ms (${byKind.join("; ")}); ${bySource.join("; ")}`,
  );
  for (const l of stillOpen.slice(0, 20))
    run.finding(
      "lost",
      "slow_socket_held",
      `${run.name}:${l.kind}:${l.source}`,
      `a ${l.kind} connection from ${l.source} was still open ${l.heldMs} ms after it connected (${o.observeMs / 1000} s after the attack ended): the relay never cut it`,
    );
  const refusedLines = h.relay.notable
    .filter((l) => l.event === "ConnectionsRefused")
    .slice(refusedLogBefore);
  run.note(
    `${refusedLines.length} ConnectionsRefused log lines, e.g. ${refusedLines[0]?.line.slice(0, 300) ?? "none"}`,
  );

  // Real alerts: a 2xx within 3 s, every one.
  const failed = alerts.filter((a) => a.status === undefined || a.status < 200 || a.status > 299);
  const slow = alerts.filter((a) => !failed.includes(a) && a.ms > 3_000);
  run.count("alertsSent", alerts.length);
  run.count("alertsNot2xx", failed.length);
  run.count("alertsOver3s", slow.length);
  run.count("alertMaxMs", Math.max(0, ...alerts.map((a) => a.ms)));
  for (const a of failed)
    run.finding(
      "lost",
      "alert_refused_under_attack",
      a.key,
      `${a.status ?? "no reply"} ${a.error ?? ""} after ${a.ms} ms`,
    );
  for (const a of slow)
    run.finding(
      "lost",
      "alert_over_3s_under_attack",
      a.key,
      `answered after ${a.ms} ms: TradingView had given up`,
    );

  // /health never failed.
  const healthFailed = health.filter((x) => !x.ok);
  run.count("healthPolls", health.length);
  run.count("healthFailures", healthFailed.length);
  run.count("healthMaxMs", Math.max(0, ...health.map((x) => x.ms)));
  if (healthFailed.length)
    run.finding(
      "lost",
      "health_failed_under_attack",
      `${run.name}:health`,
      `${healthFailed.length} of ${health.length} /health probes failed, e.g. ${healthFailed[0]?.detail}`,
    );
  run.count("relayFdsMax", fdsMax);

  // The alerts executed: broker sockets and the database kept working through the attack.
  await h.waitQuiet();
  const rows = (await h.sql`
    select e.status, count(*)::int as n from executions e
      join signals s on s.id = e.signal_id join webhooks w on w.id = s.webhook_id
     where w.headers ->> 'user-agent' like ${`fault/${run.name}-%`}
     group by e.status`) as unknown as { status: string; n: number }[];
  const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
  const done = byStatus.done ?? 0;
  const total = rows.reduce((n, r) => n + r.n, 0);
  run.count("executionsDone", done);
  run.count("executionsNotDone", total - done);
  const expected = alerts.filter((a) => a.status === 202).length * recorder.followers.length;
  run.note(
    `real alerts: ${alerts.length} sent, ${failed.length} not 2xx, ${slow.length} over 3 s; executions ${JSON.stringify(byStatus)} (${expected} expected); /health ${health.length} polls, ${healthFailed.length} failed, max ${Math.max(0, ...health.map((x) => x.ms))} ms; relay fds at most ${fdsMax}`,
  );
  if (done < expected)
    run.finding(
      "lost",
      "alerts_not_executed_under_attack",
      `${run.name}:executions`,
      `${done} of ${expected} executions of the real alerts ended done: ${JSON.stringify(byStatus)}`,
    );
  const missing = await h.waitSessions(
    recorder.followers.map((f) => f.accountId),
    30_000,
  );
  if (missing.length)
    run.finding(
      "lost",
      "session_not_ready_after_attack",
      `${run.name}:sessions`,
      `${missing.length} broker session(s) not ready after the attack`,
    );
  return run.result;
}
