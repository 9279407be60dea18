/**
 * Accounts: every broker login with its session (connected / reconnecting / down, last heartbeat, the
 * broker's own error), its discovered sub-accounts by name and the traders on it; adding a login with the
 * broker's own form, testing its connection (POST /api/accounts/:id/connect, bounded), editing and deleting.
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ApiResult, ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { State, When } from "../format";
import { CsrfField, Flash, Page } from "../layout";
import {
  AddLoginForm,
  type AddValues,
  BROKER_FORMS,
  brokerForm,
  credentialsFrom,
  echoable,
} from "./broker-forms";

export interface Account {
  id: string;
  name: string;
  broker: string;
  environment: string;
  status: string;
  statusMessage: string | null;
  brokerAccounts: { id: string; name: string }[];
  maxDailyLoss: string | null;
  tradingDayRoll: string | null;
  tradingDayTimeZone: string | null;
  session: { state: string; lastHeartbeatAt: string | null; error: string | null } | null;
}

interface TraderLite {
  id: string;
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
  enabled: boolean;
}

const WORD: Record<string, string> = {
  ready: "connected",
  connecting: "connecting",
  reconnecting: "reconnecting",
  down: "down",
  error: "down",
  idle: "not connected",
};

/** The session in three words a trader knows, and the broker's own reason when it is not up. */
export function sessionWord(a: Account): { state: string; error: string | null } {
  const s = a.session;
  if (!s) return { state: "not connected", error: a.status === "error" ? a.statusMessage : null };
  return {
    state: WORD[s.state] ?? s.state,
    error: s.state === "ready" ? null : (s.error ?? a.statusMessage),
  };
}

/** "connected, 3 sub-accounts" or "down: <the broker's words>". */
export function connectionReport(a: Account): { ok: boolean; text: string } {
  const { state, error } = sessionWord(a);
  const n = a.brokerAccounts.length;
  if (state === "connected")
    return { ok: true, text: `${a.name}: connected, ${n} sub-account${n === 1 ? "" : "s"}.` };
  return { ok: false, text: `${a.name}: ${state}${error ? `: ${error}` : ""}.` };
}

const back = (r: ApiResult<unknown>, to: string, ok: string) =>
  r.ok ? `${to}?ok=${encodeURIComponent(ok)}` : `${to}?error=${encodeURIComponent(r.error.message)}`;

export function SessionCell(p: { a: Account }) {
  const { state, error } = sessionWord(p.a);
  return (
    <>
      <State state={state} />
      {p.a.session?.lastHeartbeatAt ? (
        <span class="muted">
          {" "}
          heartbeat <When at={p.a.session.lastHeartbeatAt} />
        </span>
      ) : null}
      {error ? <span class="broker-error">{` ${error}`}</span> : null}
    </>
  );
}

function SubAccounts(p: { a: Account }) {
  if (p.a.brokerAccounts.length === 0) return <span class="muted">none discovered yet</span>;
  return (
    <ul class="plain">
      {p.a.brokerAccounts.map((b) => (
        <li>
          {b.name} <span class="muted mono">({b.id})</span>
        </li>
      ))}
    </ul>
  );
}

function TestButton(p: { id: string; name: string; csrf: string; back: string }) {
  return (
    <form method="post" action={`/accounts/${p.id}/test`} class="inline">
      <CsrfField token={p.csrf} />
      <input type="hidden" name="back" value={p.back} />
      <button type="submit" class="secondary" aria-label={`Test the connection of ${p.name}`}>
        Test connection
      </button>
    </form>
  );
}

export function accountsPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  const recorderNames = async () => {
    const r = await k.api<{ recorders: { id: string; name: string }[] }>("GET", "/recorders");
    return new Map((r.ok ? r.body.recorders : []).map((x) => [x.id, x.name]));
  };

  app.get("/accounts", async (c) => {
    const [accounts, traders, recorders] = await Promise.all([
      k.api<{ accounts: Account[] }>("GET", "/accounts"),
      k.api<{ traders: TraderLite[] }>("GET", "/traders"),
      recorderNames(),
    ]);
    const csrf = c.get("session").csrf;
    const list = accounts.ok ? accounts.body.accounts : [];
    const all = traders.ok ? traders.body.traders : [];
    return c.html(
      <Page title="Accounts" active="accounts" csrf={csrf} banner={await banner(k.api)}>
        <Flash
          ok={c.req.query("ok")}
          error={c.req.query("error") ?? (accounts.ok ? undefined : accounts.error.message)}
        />
        <p>
          <a class="button" href="/accounts/new">
            Add a broker login
          </a>
        </p>
        <div id="accounts" class="table-wrap" data-live-on="SessionLost SessionRestored">
          <table>
            <thead>
              <tr>
                <th scope="col">Login</th>
                <th scope="col">Broker</th>
                <th scope="col">Session</th>
                <th scope="col">Sub-accounts</th>
                <th scope="col">Traders</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 ? (
                <tr>
                  <td colspan={6} class="muted">
                    No broker logins yet.
                  </td>
                </tr>
              ) : (
                list.map((a) => {
                  const on = all.filter((t) => t.accountId === a.id);
                  const subName = (id: string) => a.brokerAccounts.find((b) => b.id === id)?.name ?? id;
                  return (
                    <tr data-account={a.id}>
                      <th scope="row">
                        <a href={`/accounts/${a.id}`}>{a.name}</a>
                      </th>
                      <td>
                        {a.broker} {a.environment}
                      </td>
                      <td>
                        <SessionCell a={a} />
                      </td>
                      <td>
                        <SubAccounts a={a} />
                      </td>
                      <td>
                        {on.length === 0 ? (
                          <span class="muted">none</span>
                        ) : (
                          <ul class="plain">
                            {on.map((t) => (
                              <li>
                                <a href={`/traders/${t.id}`}>{recorders.get(t.recorderId) ?? "recorder"}</a>{" "}
                                on {subName(t.brokerAccountId)}
                                {t.enabled ? "" : " (disabled)"}
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                      <td>
                        <TestButton id={a.id} name={a.name} csrf={csrf} back="/accounts" />
                      </td>
                    </tr>
                  );
                })
              )}
            </tbody>
          </table>
        </div>
      </Page>,
    );
  });

  const addPage = async (
    csrf: string,
    broker: unknown,
    o: { values?: AddValues; fields?: Record<string, string>; error?: string } = {},
  ) => {
    const form = brokerForm(broker);
    return (
      <Page title="Add a broker login" active="accounts" csrf={csrf} banner={await banner(k.api)}>
        <Flash error={o.error} />
        <nav aria-label="Broker">
          <p>Broker:</p>
          <ul class="picker">
            {BROKER_FORMS.map((f) => (
              <li>
                <a
                  href={`/accounts/new?broker=${f.broker}`}
                  aria-current={f.broker === form.broker ? "page" : undefined}
                >
                  {f.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <h2>{form.label} login</h2>
        <AddLoginForm
          form={form}
          csrf={csrf}
          {...(o.values ? { values: o.values } : {})}
          {...(o.fields ? { fields: o.fields } : {})}
        />
      </Page>
    );
  };

  app.get("/accounts/new", async (c) => c.html(await addPage(c.get("session").csrf, c.req.query("broker"))));

  app.post("/accounts/new", async (c) => {
    const body = await c.req.parseBody();
    const form = brokerForm(body.broker);
    const r = await k.api<Account>("POST", "/accounts", {
      name: typeof body.name === "string" ? body.name : "",
      broker: form.broker,
      ...(form.environments && typeof body.environment === "string" ? { environment: body.environment } : {}),
      credentials: credentialsFrom(form, body),
    });
    if (!r.ok) {
      const fields = r.error.fields;
      const named = Object.keys(fields).length > 0;
      // What was typed comes back, but never a secret field.
      const page = await addPage(c.get("session").csrf, form.broker, {
        values: echoable(form, body),
        fields,
        error: named ? "The login was not added: see the field below." : r.error.message,
      });
      return c.html(page, r.status === 422 ? 422 : r.status === 409 ? 409 : 400);
    }
    const report = connectionReport(r.body);
    const q = report.ok
      ? `ok=${encodeURIComponent(`Added. ${report.text}`)}`
      : `error=${encodeURIComponent(`Added, but the session did not come up. ${report.text}`)}`;
    return c.redirect(`/accounts/${r.body.id}?${q}`, 303);
  });

  app.post("/accounts/:id/test", async (c) => {
    const id = c.req.param("id");
    const body = await c.req.parseBody();
    const to = body.back === "/accounts" ? "/accounts" : `/accounts/${encodeURIComponent(id)}`;
    const r = await k.api<Account>("POST", `/accounts/${encodeURIComponent(id)}/connect`);
    if (!r.ok) return c.redirect(back(r, to, ""), 303);
    const report = connectionReport(r.body);
    return c.redirect(`${to}?${report.ok ? "ok" : "error"}=${encodeURIComponent(report.text)}`, 303);
  });

  app.get("/accounts/:id", async (c) => {
    const id = encodeURIComponent(c.req.param("id"));
    const [r, traders, recorders] = await Promise.all([
      k.api<Account>("GET", `/accounts/${id}`),
      k.api<{ traders: TraderLite[] }>("GET", `/traders?accountId=${id}`),
      recorderNames(),
    ]);
    if (!r.ok) return c.redirect(back(r, "/accounts", ""), 303);
    return c.html(
      await detailPage(k, c.get("session").csrf, r.body, traders.ok ? traders.body.traders : [], recorders, {
        ok: c.req.query("ok"),
        error: c.req.query("error"),
      }),
    );
  });

  app.post("/accounts/:id", async (c) => {
    const id = encodeURIComponent(c.req.param("id"));
    const body = await c.req.parseBody();
    const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string).trim() : "");
    const patch = {
      name: text("name"),
      maxDailyLoss: text("maxDailyLoss") === "" ? null : text("maxDailyLoss"),
      tradingDayRoll: text("tradingDayRoll") === "" ? null : text("tradingDayRoll"),
      tradingDayTimeZone: text("tradingDayTimeZone") === "" ? null : text("tradingDayTimeZone"),
    };
    const r = await k.api<Account>("PATCH", `/accounts/${id}`, patch);
    if (r.ok) return c.redirect(`/accounts/${id}?ok=${encodeURIComponent("Saved.")}`, 303);
    const [now, traders, recorders] = await Promise.all([
      k.api<Account>("GET", `/accounts/${id}`),
      k.api<{ traders: TraderLite[] }>("GET", `/traders?accountId=${id}`),
      recorderNames(),
    ]);
    if (!now.ok) return c.redirect(back(now, "/accounts", ""), 303);
    const typed = { ...now.body, ...patch, name: patch.name };
    return c.html(
      await detailPage(k, c.get("session").csrf, typed, traders.ok ? traders.body.traders : [], recorders, {
        error: Object.keys(r.error.fields).length ? "Not saved: see the field below." : r.error.message,
        fields: r.error.fields,
      }),
      r.status === 404 ? 404 : 400,
    );
  });

  app.post("/accounts/:id/delete", async (c) => {
    const id = encodeURIComponent(c.req.param("id"));
    const body = await c.req.parseBody();
    const flatten = body.flatten === "on" || body.flatten === "true";
    const r = await k.api("DELETE", `/accounts/${id}${flatten ? "?flatten=true" : ""}`);
    if (r.ok) return c.redirect(`/accounts?ok=${encodeURIComponent("Login deleted.")}`, 303);
    return c.redirect(`/accounts/${id}?error=${encodeURIComponent(r.error.message)}`, 303);
  });

  return app;
}

async function detailPage(
  k: ConsoleKit,
  csrf: string,
  a: Account,
  traders: TraderLite[],
  recorders: Map<string, string>,
  o: { ok?: string | undefined; error?: string | undefined; fields?: Record<string, string> },
) {
  const f = o.fields ?? {};
  const field = (name: string, label: string, hint: string, value: string | null, extra = {}) => (
    <>
      <label for={`acc-${name}`}>{label}</label>
      <p class="hint" id={`acc-${name}-hint`}>
        {hint}
      </p>
      <input
        id={`acc-${name}`}
        name={name}
        value={value ?? ""}
        aria-describedby={f[name] ? `acc-${name}-hint acc-${name}-error` : `acc-${name}-hint`}
        aria-invalid={f[name] ? "true" : undefined}
        {...extra}
      />
      {f[name] ? (
        <p class="field-error" id={`acc-${name}-error`}>
          {f[name]}
        </p>
      ) : null}
    </>
  );
  return (
    <Page title={`Login ${a.name}`} active="accounts" csrf={csrf} banner={await banner(k.api)}>
      <Flash ok={o.ok} error={o.error} />
      <p>
        <a href="/accounts">All logins</a>
      </p>
      <section aria-labelledby="session-h">
        <h2 id="session-h">Session</h2>
        <div id="account-session" data-live-on="SessionLost SessionRestored">
          <p>
            {a.broker} {a.environment}: <SessionCell a={a} />
          </p>
          <h3>Sub-accounts</h3>
          <SubAccounts a={a} />
          <h3>Traders on this login</h3>
          {traders.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul class="plain">
              {traders.map((t) => (
                <li>
                  <a href={`/traders/${t.id}`}>{recorders.get(t.recorderId) ?? "recorder"}</a> on{" "}
                  {a.brokerAccounts.find((b) => b.id === t.brokerAccountId)?.name ?? t.brokerAccountId}
                  {t.enabled ? "" : " (disabled)"}
                </li>
              ))}
            </ul>
          )}
        </div>
        <TestButton id={a.id} name={a.name} csrf={csrf} back={`/accounts/${a.id}`} />
      </section>
      <section aria-labelledby="edit-h">
        <h2 id="edit-h">Settings</h2>
        <form method="post" action={`/accounts/${a.id}`}>
          <CsrfField token={csrf} />
          {field("name", "Name", "A name you recognise the login by.", a.name, {
            required: true,
            maxlength: 100,
          })}
          {field(
            "maxDailyLoss",
            "Daily loss limit of the whole login (dollars)",
            "Empty: no limit for the login (traders keep their own).",
            a.maxDailyLoss,
            { inputmode: "decimal" },
          )}
          {field(
            "tradingDayRoll",
            "Trading day rolls at (HH:MM)",
            "Empty: the relay's default.",
            a.tradingDayRoll,
          )}
          {field(
            "tradingDayTimeZone",
            "Time zone of the roll",
            "E.g. America/Chicago; empty: the relay's default.",
            a.tradingDayTimeZone,
          )}
          <p>
            <button type="submit">Save</button>
          </p>
        </form>
      </section>
      <section aria-labelledby="delete-h">
        <h2 id="delete-h">Delete this login</h2>
        <form
          method="post"
          action={`/accounts/${a.id}/delete`}
          data-confirm={`Delete the login ${a.name} and every trader on it?`}
        >
          <CsrfField token={csrf} />
          <label class="inline" for="acc-flatten">
            <input type="checkbox" id="acc-flatten" name="flatten" />
            Flatten first: cancel its traders' orders, close their positions, delete them with the login
          </label>
          <p>
            <button type="submit" class="danger">
              Delete login
            </button>
          </p>
        </form>
      </section>
    </Page>
  );
}
