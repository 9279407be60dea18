/**
 * Overview: sessions per account, today's P&L against its limit, open positions, the kill switch and the
 * last webhooks, each region refreshed live.
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { State, When } from "../format";
import { CsrfField, Flash, Page } from "../layout";

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

export function overviewPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  app.get("/", async (c) => {
    const [status, hooks] = await Promise.all([
      k.api<{ sessions: Session[]; killSwitch: { stopped: boolean } }>("GET", "/status"),
      k.api<{ webhooks: Webhook[] }>("GET", "/webhooks?limit=10"),
    ]);
    const csrf = c.get("session").csrf;
    const sessions = status.ok ? status.body.sessions : [];
    const stopped = status.ok && status.body.killSwitch.stopped;
    return c.html(
      <Page title="Overview" active="overview" csrf={csrf} banner={await banner(k.api)}>
        <Flash ok={c.req.query("ok")} error={c.req.query("error")} />
        <section aria-labelledby="sessions-h">
          <h2 id="sessions-h">Broker sessions</h2>
          <div id="sessions" class="table-wrap" data-live-on="SessionLost SessionRestored">
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
      return c.redirect(
        r.ok ? `/?ok=${encodeURIComponent(word[action])}` : `/?error=${encodeURIComponent(r.error.message)}`,
        303,
      );
    });
  }

  return app;
}
