/**
 * Signals: every webhook the relay answered (refused ones included, with the reason in words), filtered by
 * outcome and recorder, paged back through the API's `next`; and one signal's page: the raw alert and,
 * per trader, the decision, its orders, fills and latency per stage. Reads only, through the API.
 */
import { Hono } from "hono";
import type { Child } from "hono/jsx";
import { OUTCOMES } from "../../http/routes/webhooks";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { State, When } from "../format";
import { Flash, Page } from "../layout";

interface Webhook {
  id: string;
  receivedAt: string;
  recorderId: string | null;
  outcome: string;
  httpStatus: number;
  error: string | null;
  signalId: string | null;
  body: string | null;
  sourceIp: string | null;
  ageMs: number | null;
  requests: number;
}

/** What each webhook outcome means, in words (the API's `error` says why). */
export const OUTCOME_WORDS: Record<string, string> = {
  accepted: "Accepted",
  duplicate: "Duplicate",
  stale: "Too old",
  invalid: "Invalid alert",
  unknown_token: "Unknown token",
  too_large: "Too large",
  rate_limited: "Rate limited",
  forbidden: "Forbidden",
  disabled: "Recorder off",
  incomplete: "Incomplete",
};

function Outcome(p: { outcome: string }) {
  const tone = p.outcome === "accepted" ? "good" : p.outcome === "duplicate" ? "warn" : "bad";
  return <span class={`badge ${tone}`}>{OUTCOME_WORDS[p.outcome] ?? p.outcome}</span>;
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function signalPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  app.get("/signals", async (c) => {
    const outcome = c.req.query("outcome") || undefined;
    const recorderId = c.req.query("recorderId") || undefined;
    const before = c.req.query("before") || undefined;
    const [hooks, recorders] = await Promise.all([
      k.api<{ webhooks: Webhook[]; next: string | null }>(
        "GET",
        `/webhooks${query({ limit: "50", outcome, recorderId, before })}`,
      ),
      k.api<{ recorders: { id: string; name: string }[] }>("GET", "/recorders"),
    ]);
    const names = new Map((recorders.ok ? recorders.body.recorders : []).map((r) => [r.id, r.name]));
    const rows = hooks.ok ? hooks.body.webhooks : [];
    const next = hooks.ok ? hooks.body.next : null;
    return c.html(
      <Page title="Signals" active="signals" csrf={c.get("session").csrf} banner={await banner(k.api)}>
        <Flash error={hooks.ok ? undefined : hooks.error.message} />
        <form method="get" action="/signals" class="row filters" aria-label="Filter webhooks">
          <div>
            <label for="f-outcome">Outcome</label>
            <select id="f-outcome" name="outcome">
              <option value="">Any outcome</option>
              {OUTCOMES.map((o) => (
                <option value={o} selected={o === outcome}>
                  {OUTCOME_WORDS[o] ?? o}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="f-recorder">Recorder</label>
            <select id="f-recorder" name="recorderId">
              <option value="">Any recorder</option>
              {[...names].map(([id, name]) => (
                <option value={id} selected={id === recorderId}>
                  {name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <button type="submit">Filter</button>
          </div>
        </form>
        <div id="webhook-list" class="table-wrap" data-live-on="webhook SignalExecuted ExecutionFailed">
          <table>
            <caption class="muted">
              {before ? "Older webhooks" : "Newest webhooks first"}
              {outcome ? `, outcome ${OUTCOME_WORDS[outcome] ?? outcome}` : ""}
              {recorderId ? `, recorder ${names.get(recorderId) ?? recorderId}` : ""}
            </caption>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Recorder</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
                <th scope="col">Alert</th>
                <th scope="col">Signal</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colspan={6} class="muted">
                    No webhooks{outcome || recorderId ? " match these filters" : " yet"}.
                  </td>
                </tr>
              ) : (
                rows.map((w) => (
                  <tr>
                    <td>
                      <When at={w.receivedAt} />
                      {w.requests > 1 ? <span class="muted"> ({w.requests} requests)</span> : null}
                    </td>
                    <td>{w.recorderId ? (names.get(w.recorderId) ?? "deleted recorder") : "–"}</td>
                    <td>
                      <Outcome outcome={w.outcome} /> <span class="muted">{w.httpStatus}</span>
                    </td>
                    <td>
                      {w.error ??
                        (w.outcome === "accepted" ? "Recorded; each trader's outcome is on its signal." : "")}
                    </td>
                    <td class="mono">{(w.body ?? "").slice(0, 160)}</td>
                    <td>
                      {w.signalId ? (
                        <a
                          href={`/signals/${w.signalId}`}
                          aria-label={`Open signal received ${w.receivedAt}`}
                        >
                          Open
                        </a>
                      ) : (
                        "–"
                      )}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
        <nav aria-label="Pages" class="row pager">
          {before ? <a href={`/signals${query({ outcome, recorderId })}`}>Newest</a> : null}
          {next ? (
            <a href={`/signals${query({ outcome, recorderId, before: next })}`} rel="next">
              Older
            </a>
          ) : null}
        </nav>
      </Page>,
    );
  });

  app.get("/signals/:id", async (c) => {
    const id = c.req.param("id");
    const r = await k.api<SignalView>("GET", `/signals/${encodeURIComponent(id)}`);
    const csrf = c.get("session").csrf;
    const top = await banner(k.api);
    if (!r.ok) {
      return c.html(
        <Page title="Signal not found" active="signals" csrf={csrf} banner={top}>
          <p>{r.error.message}</p>
          <p>
            <a href="/signals">All signals</a>
          </p>
        </Page>,
        r.status === 404 ? 404 : 502,
      );
    }
    const s = r.body;
    const running = s.executions.some((e) => OPEN.includes(e.status));
    return c.html(
      <Page title={`Signal: ${s.action} ${s.ticker}`} active="signals" csrf={csrf} banner={top}>
        <p>
          <a href="/signals">All signals</a>
        </p>
        <dl class="facts">
          <Fact term="Recorder">{s.recorderName}</Fact>
          <Fact term="Action">
            {s.action} {s.quantity ?? ""} {s.ticker}
            {s.price ? ` @ ${s.price}` : ""}
          </Fact>
          <Fact term="Received">
            <When at={s.receivedAt} />
          </Fact>
          <Fact term="Alert time">
            <When at={s.time} />
            {s.ageMs !== null ? ` (${s.ageMs} ms old on arrival)` : ""}
          </Fact>
          <Fact term="Alert id">{s.alertId ?? "–"}</Fact>
          <Fact term="Source">{s.source}</Fact>
        </dl>
        <h2 id="raw-h">Raw webhook</h2>
        {s.webhook ? (
          <pre class="raw" id="raw">
            {s.webhook.body ?? ""}
          </pre>
        ) : (
          <p class="muted">The raw request was pruned from the webhook log.</p>
        )}
        <div
          id="executions"
          {...(running ? { "data-live-on": "SignalExecuted ExecutionFailed ExecutionWaiting" } : {})}
        >
          {s.executions.length === 0 ? <p class="muted">No trader followed this recorder.</p> : null}
          {s.executions.map((e) => (
            <Execution e={e} />
          ))}
        </div>
      </Page>,
    );
  });

  return app;
}

const OPEN = ["pending", "running", "waiting_for_broker"];

interface Order {
  clientOrderId: string;
  leg: string;
  side: string;
  type: string;
  qty: number;
  price: string | null;
  stopPrice: string | null;
  status: string;
  filledQty: number;
  fillPrice: string | null;
  reason: string | null;
  fills: { qty: number; price: string; at: string }[];
}

interface ExecutionView {
  id: string;
  account: { name: string; broker: string; brokerAccountId: string };
  recorder: { name: string };
  contract: string | null;
  status: string;
  decision: string | null;
  reason: string | null;
  error: string | null;
  attempts: number;
  orders: Order[];
  latency: {
    committedMs: number | null;
    dispatchedMs: number | null;
    sentMs: number | null;
    acknowledgedMs: number | null;
    filledMs: number | null;
  };
}

interface SignalView {
  id: string;
  recorderName: string;
  receivedAt: string;
  alertId: string | null;
  source: string;
  action: string;
  ticker: string;
  quantity: number | null;
  price: string | null;
  time: string | null;
  ageMs: number | null;
  webhook: { body: string | null } | null;
  executions: ExecutionView[];
}

function Fact(p: { term: string; children?: Child }) {
  return (
    <div>
      <dt>{p.term}</dt>
      <dd>{p.children}</dd>
    </div>
  );
}

const STAGES = [
  ["committedMs", "Committed (stored)"],
  ["dispatchedMs", "Dispatched (execution started)"],
  ["sentMs", "Sent to the broker"],
  ["acknowledgedMs", "Last order acknowledged"],
  ["filledMs", "Filled"],
] as const;

function Execution(p: { e: ExecutionView }) {
  const e = p.e;
  const hid = `ex-${e.id}`;
  const fills = e.orders.flatMap((o) => o.fills.map((f) => ({ ...f, order: o })));
  return (
    <section aria-labelledby={hid} class="execution">
      <h2 id={hid}>
        {e.account.name} <span class="muted">({e.account.brokerAccountId})</span>
      </h2>
      <dl class="facts">
        <Fact term="Status">
          <State state={e.status} />
        </Fact>
        <Fact term="Decision">{e.decision ? e.decision.replaceAll("_", " ") : "–"}</Fact>
        <Fact term="Reason">{e.reason ?? "–"}</Fact>
        {e.error ? <Fact term="Problem">{e.error}</Fact> : null}
        <Fact term="Contract">{e.contract ?? "–"}</Fact>
        <Fact term="Attempts">{e.attempts}</Fact>
      </dl>
      <h3>Orders</h3>
      {e.orders.length === 0 ? (
        <p class="muted">No orders.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Client order id</th>
                <th scope="col">Leg</th>
                <th scope="col">Side</th>
                <th scope="col" class="num">
                  Qty
                </th>
                <th scope="col">Type</th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col">Status</th>
                <th scope="col">Broker's words</th>
              </tr>
            </thead>
            <tbody>
              {e.orders.map((o) => (
                <tr>
                  <td class="mono">{o.clientOrderId}</td>
                  <td>{o.leg}</td>
                  <td>{o.side}</td>
                  <td class="num">
                    {o.filledQty > 0 && o.filledQty !== o.qty ? `${o.filledQty} of ${o.qty}` : o.qty}
                  </td>
                  <td>{o.type.replaceAll("_", " ")}</td>
                  <td class="num">
                    {[o.price, o.stopPrice ? `stop ${o.stopPrice}` : null].filter(Boolean).join(", ") ||
                      "market"}
                  </td>
                  <td>
                    <span class="badge">{o.status}</span>
                  </td>
                  <td>{o.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Fills</h3>
      {fills.length === 0 ? (
        <p class="muted">No fills.</p>
      ) : (
        <ul class="fills">
          {fills.map((f) => (
            <li>
              {f.order.side} {f.qty} @ {f.price} <span class="muted">({f.order.leg})</span>,{" "}
              <When at={f.at} />
            </li>
          ))}
        </ul>
      )}
      <h3>Latency</h3>
      <div class="table-wrap">
        <table class="latency">
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col" class="num">
                Since the webhook arrived
              </th>
            </tr>
          </thead>
          <tbody>
            {STAGES.map(([key, label]) => (
              <tr>
                <th scope="row">{label}</th>
                <td class="num">{e.latency[key] === null ? "–" : `${e.latency[key]} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
