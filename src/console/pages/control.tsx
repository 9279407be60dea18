/**
 * Control center: is the relay healthy, and what needs a human. Uptime, queue and counters, executions by
 * status (failed, unknown and waiting for their broker first), open reconciliation drift, notification
 * delivery, and the paper market's price (paper take-profits and stops react to it).
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { State, When } from "../format";
import { CsrfField, Flash, flashUrl, Page } from "../layout";

interface Status {
  instance: string;
  uptimeSeconds: number;
  sessionsReady: number;
  sessions: unknown[];
  queue: { queued: number; running: number };
  openExecutions: number;
  counters: { webhooks: Record<string, number>; executions: Record<string, number> };
  drift: {
    id: string;
    accountId: string;
    brokerAccountId: string;
    contract: string;
    kind: string;
    detail: string;
    fixed: boolean;
    detectedAt: string;
    lastSeenAt: string;
  }[];
  notifications: Record<string, unknown>;
}

interface Execution {
  id: string;
  signalId: string;
  account: { name: string | null; brokerAccountId: string | null };
  recorder: { name: string | null };
  ticker: string;
  action: string;
  status: string;
  decision: string | null;
  reason: string | null;
  error: string | null;
  attempts: number;
  createdAt: string;
}

const STATUSES = [
  "failed,unknown,waiting_for_broker",
  "failed",
  "unknown",
  "waiting_for_broker",
  "running",
  "pending",
  "done",
  "ignored",
];
const STATUS_LABEL: Record<string, string> = {
  "failed,unknown,waiting_for_broker": "Needs attention (failed, unknown, waiting)",
  waiting_for_broker: "waiting for broker",
};

function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
}

export function controlPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  app.get("/control", async (c) => {
    const wanted = c.req.query("status") ?? STATUSES[0] ?? "failed";
    const status = STATUSES.includes(wanted) ? wanted : "failed";
    const before = c.req.query("before");
    const [st, ex] = await Promise.all([
      k.api<Status>("GET", "/status"),
      k.api<{ executions: Execution[]; next: string | null }>(
        "GET",
        `/executions?limit=50&status=${status}${before ? `&before=${encodeURIComponent(before)}` : ""}`,
      ),
    ]);
    const csrf = c.get("session").csrf;
    const s = st.ok ? st.body : undefined;
    return c.html(
      <Page title="Control center" active="control" csrf={csrf} banner={await banner(k.api)}>
        <Flash
          ok={c.req.query("ok")}
          error={c.req.query("error") ?? (st.ok ? undefined : st.error.message)}
        />
        <section aria-labelledby="health-h">
          <h2 id="health-h">Relay</h2>
          <div id="health" data-live-on="SignalExecuted ExecutionFailed SessionLost SessionRestored">
            {s ? (
              <dl class="cards">
                <div class="card">
                  <dt>Instance</dt>
                  <dd class="mono">{s.instance}</dd>
                </div>
                <div class="card">
                  <dt>Up for</dt>
                  <dd>{uptime(s.uptimeSeconds)}</dd>
                </div>
                <div class="card">
                  <dt>Sessions ready</dt>
                  <dd>
                    {s.sessionsReady} of {s.sessions.length}
                  </dd>
                </div>
                <div class="card">
                  <dt>Queue</dt>
                  <dd>
                    {s.queue.queued} queued, {s.queue.running} running; {s.openExecutions} executions open
                  </dd>
                </div>
                <div class="card">
                  <dt>Webhooks since start</dt>
                  <dd>
                    {Object.entries(s.counters.webhooks)
                      .map(([kind, n]) => `${kind.replaceAll("_", " ")} ${n}`)
                      .join(", ") || "none yet"}
                  </dd>
                </div>
                <div class="card">
                  <dt>Notifications</dt>
                  <dd>
                    {s.notifications.enabled ? "Discord on" : "Discord off (no bot token)"}
                    {typeof s.notifications.pending === "number"
                      ? `; ${s.notifications.pending} waiting`
                      : ""}
                    {typeof s.notifications.failed === "number" ? `; ${s.notifications.failed} failed` : ""}
                  </dd>
                </div>
              </dl>
            ) : null}
          </div>
        </section>

        <section aria-labelledby="exec-h">
          <h2 id="exec-h">Executions</h2>
          <form method="get" action="/control" class="row">
            <div>
              <label for="status">Status</label>
              <select id="status" name="status">
                {STATUSES.map((x) => (
                  <option value={x} selected={x === status}>
                    {STATUS_LABEL[x] ?? x}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" class="secondary">
              Show
            </button>
          </form>
          <div
            id="executions"
            class="table-wrap"
            data-live-on="SignalExecuted ExecutionFailed ExecutionWaiting"
          >
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Recorder</th>
                  <th scope="col">Account</th>
                  <th scope="col">Signal</th>
                  <th scope="col">Status</th>
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {!ex.ok ? (
                  <tr>
                    <td colspan={6}>{ex.error.message}</td>
                  </tr>
                ) : ex.body.executions.length === 0 ? (
                  <tr>
                    <td colspan={6} class="muted">
                      None.
                    </td>
                  </tr>
                ) : (
                  ex.body.executions.map((e) => (
                    <tr>
                      <td>
                        <When at={e.createdAt} />
                      </td>
                      <td>{e.recorder.name ?? ""}</td>
                      <td>
                        {e.account.name ?? ""} <span class="muted">{e.account.brokerAccountId ?? ""}</span>
                      </td>
                      <td>
                        <a href={`/signals/${e.signalId}`}>
                          {e.action} {e.ticker}
                        </a>
                      </td>
                      <td>
                        <State state={e.status} />
                        {e.attempts > 1 ? <span class="muted"> ({e.attempts} attempts)</span> : null}
                      </td>
                      <td>{[e.decision, e.reason, e.error].filter(Boolean).join(": ")}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
          {ex.ok && ex.body.next ? (
            <p>
              <a
                href={`/control?status=${encodeURIComponent(status)}&before=${encodeURIComponent(ex.body.next)}`}
              >
                Older executions
              </a>
            </p>
          ) : null}
        </section>

        <section aria-labelledby="drift-h">
          <h2 id="drift-h">Book against broker</h2>
          <p class="hint">
            Open differences between the relay's book and what the broker reports; the book is corrected from
            the broker's fills.
          </p>
          <div id="drift" class="table-wrap" data-live-on="ReconciliationDrift">
            <table>
              <thead>
                <tr>
                  <th scope="col">Detected</th>
                  <th scope="col">Sub-account</th>
                  <th scope="col">Contract</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Detail</th>
                  <th scope="col">Fixed</th>
                </tr>
              </thead>
              <tbody>
                {(s?.drift ?? []).length === 0 ? (
                  <tr>
                    <td colspan={6} class="muted">
                      The book matches every broker.
                    </td>
                  </tr>
                ) : (
                  (s?.drift ?? []).map((d) => (
                    <tr>
                      <td>
                        <When at={d.detectedAt} />
                      </td>
                      <td class="mono">{d.brokerAccountId}</td>
                      <td>{d.contract}</td>
                      <td>{d.kind.replaceAll("_", " ")}</td>
                      <td>{d.detail}</td>
                      <td>{d.fixed ? "yes" : "no"}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        </section>

        <section aria-labelledby="paper-h">
          <h2 id="paper-h">Paper market</h2>
          <p class="hint">Moves the paper price of a product; paper take-profits and stops react to it.</p>
          <form method="post" action="/control/paper-price" class="row">
            <CsrfField token={csrf} />
            <div>
              <label for="paper-symbol">Symbol</label>
              <input id="paper-symbol" name="symbol" required placeholder="MNQ1!" size={10} />
            </div>
            <div>
              <label for="paper-price">Price</label>
              <input id="paper-price" name="price" required inputmode="decimal" size={10} />
            </div>
            <button type="submit">Set price</button>
          </form>
        </section>
      </Page>,
    );
  });

  app.post("/control/paper-price", async (c) => {
    const form = await c.req.parseBody();
    const r = await k.api<{ contract: string; price: string }>("POST", "/paper/prices", {
      symbol: String(form.symbol ?? ""),
      price: String(form.price ?? ""),
    });
    const ok = r.ok ? `Paper ${r.body.contract} is now ${r.body.price}.` : "";
    return c.redirect(flashUrl("/control", r, ok), 303);
  });

  return app;
}
