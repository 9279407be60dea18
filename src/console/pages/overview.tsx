/**
 * Overview: sessions per account, today's P&L against its limit, open positions, the kill switch and the
 * last webhooks, each region refreshed live.
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { Money, State, When } from "../format";
import { CsrfField, Flash, flashUrl, Page } from "../layout";

interface Session {
  accountId: string;
  name: string;
  broker: string;
  environment: string;
  state: string;
  lastHeartbeatAt: string | null;
  rttMs: number | null;
  error: string | null;
}

interface Webhook {
  id: string;
  receivedAt: string;
  outcome: string;
  httpStatus: number;
  error: string | null;
  signalId: string | null;
  body: string | null;
}

interface Holding {
  contract: string;
  brokerAccountId: string;
  netQty: number;
  avgPrice: string | null;
  lastPrice: string | null;
  unrealized: string | null;
}

interface Pnl {
  accountName: string | null;
  tradingDay: string;
  limit: string | null;
  lossLeft: string | null;
  realized: string;
  unrealized: string;
  total: string;
  breach: { reason: string; state: string } | null;
  positions: Holding[];
}

interface Loss {
  traders: (Pnl & { traderId: string; recorderName: string | null })[];
  accounts: (Pnl & { accountId: string; drawdownLeft: string | null })[];
}

interface WorkingOrder {
  leg: string;
  side: string;
  type: string;
  qty: number;
  price: string | null;
  stopPrice: string | null;
  status: string;
}

interface TraderPositions {
  id: string;
  positions: { contract: string; brokerAccountId: string; workingOrders: WorkingOrder[] }[];
}

/** Fills move positions and P&L; breaches and the kill switch flatten them. */
const PNL_EVENTS =
  "SignalExecuted ExecutionFailed BreachDetected BreachFlattened KillSwitchUsed ReconciliationDrift SessionCloseFlattened";

function Breach(p: { b: Pnl["breach"] }) {
  if (!p.b) return <span class="muted">none</span>;
  return (
    <span>
      <span class="badge bad">breached</span> {p.b.reason}
    </span>
  );
}

/**
 * Today's P&L against the limit, one row per account or trader. Accounts also show their trading day and
 * the drawdown left (prop rules); traders have neither.
 */
function PnlTable(p: {
  caption: string;
  who: string;
  empty: string;
  rows: (Pnl & { name: string | null; drawdownLeft?: string | null })[];
  day?: boolean;
}) {
  const cols = 7 + (p.day ? 2 : 0);
  return (
    <div class="table-wrap">
      <table>
        <caption class="muted">{p.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{p.who}</th>
            {p.day ? <th scope="col">Trading day</th> : null}
            {[
              "Realized",
              "Unrealized",
              "Total",
              "Limit",
              "Loss left",
              ...(p.day ? ["Drawdown left"] : []),
            ].map((h) => (
              <th scope="col" class="num">
                {h}
              </th>
            ))}
            <th scope="col">Breach</th>
          </tr>
        </thead>
        <tbody>
          {p.rows.length === 0 ? (
            <tr>
              <td colspan={cols} class="muted">
                {p.empty}
              </td>
            </tr>
          ) : (
            p.rows.map((r) => (
              <tr>
                <th scope="row">{r.name}</th>
                {p.day ? <td>{r.tradingDay}</td> : null}
                <td class="num">
                  <Money value={r.realized} />
                </td>
                <td class="num">
                  <Money value={r.unrealized} />
                </td>
                <td class="num">
                  <Money value={r.total} />
                </td>
                <td class="num">{r.limit ?? "none"}</td>
                <td class="num">{r.lossLeft ?? "–"}</td>
                {p.day ? <td class="num">{r.drawdownLeft ?? "–"}</td> : null}
                <td>
                  <Breach b={r.breach} />
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

function Exit(p: { o: WorkingOrder }) {
  const { o } = p;
  // A stop's price is its trigger; a stop-limit names both.
  const at = o.price && o.stopPrice ? `stop ${o.stopPrice}, limit ${o.price}` : (o.stopPrice ?? o.price);
  return (
    <li>
      {o.side} {o.qty} {o.type.replaceAll("_", " ")}
      {at ? ` @ ${at}` : ""}{" "}
      <span class="muted">
        ({o.leg}, {o.status})
      </span>
    </li>
  );
}

export function overviewPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  app.get("/", async (c) => {
    const [status, hooks, loss, traders] = await Promise.all([
      k.api<{ sessions: Session[]; killSwitch: { stopped: boolean } }>("GET", "/status"),
      k.api<{ webhooks: Webhook[] }>("GET", "/webhooks?limit=10"),
      k.api<Loss>("GET", "/loss-monitor"),
      k.api<{ traders: TraderPositions[] }>("GET", "/traders"),
    ]);
    const accounts = loss.ok ? loss.body.accounts : [];
    const pnlTraders = loss.ok ? loss.body.traders : [];
    const exits = new Map<string, WorkingOrder[]>();
    for (const t of traders.ok ? traders.body.traders : [])
      for (const p of t.positions) exits.set(`${t.id}|${p.brokerAccountId}|${p.contract}`, p.workingOrders);
    const open = pnlTraders.flatMap((t) => t.positions.map((h) => ({ t, h })));
    const csrf = c.get("session").csrf;
    const sessions = status.ok ? status.body.sessions : [];
    const stopped = status.ok && status.body.killSwitch.stopped;
    return c.html(
      <Page title="Overview" active="overview" csrf={csrf} banner={await banner(k.api)}>
        <Flash ok={c.req.query("ok")} error={c.req.query("error")} />
        <section aria-labelledby="sessions-h">
          <h2 id="sessions-h">Broker sessions</h2>
          <div
            id="sessions"
            class="table-wrap"
            data-live-on="SessionLost SessionRestored"
            data-live-every="15"
          >
            <table>
              <thead>
                <tr>
                  <th scope="col">Account</th>
                  <th scope="col">Broker</th>
                  <th scope="col">State</th>
                  <th scope="col">Last heartbeat</th>
                  <th scope="col" class="num">
                    Round trip
                  </th>
                </tr>
              </thead>
              <tbody>
                {sessions.length === 0 ? (
                  <tr>
                    <td colspan={5} class="muted">
                      No broker logins yet: add one under Accounts.
                    </td>
                  </tr>
                ) : (
                  sessions.map((x) => (
                    <tr>
                      <td>{x.name}</td>
                      <td>
                        {x.broker} {x.environment}
                      </td>
                      <td>
                        <State state={x.state} /> {x.error ? <span class="muted">{x.error}</span> : null}
                      </td>
                      <td>
                        <When at={x.lastHeartbeatAt} />
                      </td>
                      <td class="num">{x.rttMs === null ? "–" : `${x.rttMs} ms`}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-labelledby="pnl-h">
          <h2 id="pnl-h">Today's P&amp;L</h2>
          <div id="pnl" data-live-on={PNL_EVENTS} data-live-every="5">
            {loss.ok ? null : <Flash error={loss.error.message} />}
            <PnlTable
              caption="Per account (the login's limit, and the least left anywhere on it)"
              who="Account"
              empty="No accounts yet."
              rows={accounts.map((a) => ({ ...a, name: a.accountName }))}
              day
            />
            <PnlTable
              caption="Per trader (a recorder followed on an account)"
              who="Trader"
              empty="No traders yet."
              rows={pnlTraders.map((t) => ({
                ...t,
                name: `${t.recorderName ?? ""} on ${t.accountName ?? ""}`,
              }))}
            />
          </div>
        </section>
        <section aria-labelledby="positions-h">
          <h2 id="positions-h">Open positions</h2>
          <div id="positions" class="table-wrap" data-live-on={PNL_EVENTS} data-live-every="5">
            <table>
              <thead>
                <tr>
                  <th scope="col">Trader</th>
                  <th scope="col">Contract</th>
                  <th scope="col" class="num">
                    Position
                  </th>
                  <th scope="col" class="num">
                    Average
                  </th>
                  <th scope="col" class="num">
                    Last
                  </th>
                  <th scope="col" class="num">
                    Unrealized
                  </th>
                  <th scope="col">Working exits</th>
                </tr>
              </thead>
              <tbody>
                {open.length === 0 ? (
                  <tr>
                    <td colspan={7} class="muted">
                      Flat everywhere.
                    </td>
                  </tr>
                ) : (
                  open.map(({ t, h }) => {
                    const working = exits.get(`${t.traderId}|${h.brokerAccountId}|${h.contract}`) ?? [];
                    return (
                      <tr>
                        <th scope="row">
                          {t.recorderName} on {t.accountName}
                        </th>
                        <td>{h.contract}</td>
                        <td class="num">{h.netQty > 0 ? `long ${h.netQty}` : `short ${-h.netQty}`}</td>
                        <td class="num">{h.avgPrice ?? "–"}</td>
                        <td class="num">{h.lastPrice ?? "–"}</td>
                        <td class="num">
                          <Money value={h.unrealized} />
                        </td>
                        <td>
                          {working.length === 0 ? (
                            <span class="muted">none working</span>
                          ) : (
                            <ul class="exits">
                              {working.map((o) => (
                                <Exit o={o} />
                              ))}
                            </ul>
                          )}
                        </td>
                      </tr>
                    );
                  })
                )}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-labelledby="kill-h">
          <h2 id="kill-h">Kill switch</h2>
          <div id="kill" data-live-on="KillSwitchUsed">
            <p>{stopped ? "New entries are stopped everywhere." : "Entries are allowed."}</p>
            <div class="row">
              <form method="post" action="/kill/stop" data-confirm="Stop new entries on every account?">
                <CsrfField token={csrf} />
                <button type="submit" class="secondary">
                  Stop entries
                </button>
              </form>
              <form
                method="post"
                action="/kill/flatten"
                data-confirm="Flatten every account: close every position and cancel every order?"
              >
                <CsrfField token={csrf} />
                <button type="submit" class="danger">
                  Flatten everything
                </button>
              </form>
              <form method="post" action="/kill/resume" data-confirm="Allow new entries again?">
                <CsrfField token={csrf} />
                <button type="submit" class="secondary">
                  Resume entries
                </button>
              </form>
            </div>
          </div>
        </section>
        <section aria-labelledby="last-h">
          <h2 id="last-h">Last signals</h2>
          <div id="last-signals" class="table-wrap" data-live-on="webhook SignalExecuted ExecutionFailed">
            <table>
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Alert</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {(hooks.ok ? hooks.body.webhooks : []).map((w) => (
                  <tr>
                    <td>
                      {w.signalId ? (
                        <a href={`/signals/${w.signalId}`}>
                          <When at={w.receivedAt} />
                        </a>
                      ) : (
                        <When at={w.receivedAt} />
                      )}
                    </td>
                    <td>
                      <State state={w.outcome} />
                    </td>
                    <td class="mono">{(w.body ?? "").slice(0, 120)}</td>
                    <td>{w.error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </Page>,
    );
  });

  for (const action of ["stop", "flatten", "resume"] as const) {
    app.post(`/kill/${action}`, async (c) => {
      const r = await k.api("POST", `/emergency/${action}`, { reason: "from the console" });
      const word = {
        stop: "New entries stopped.",
        flatten: "Flatten sent to every account.",
        resume: "Entries allowed again.",
      };
      return c.redirect(flashUrl("/", r, word[action]), 303);
    });
  }

  return app;
}
