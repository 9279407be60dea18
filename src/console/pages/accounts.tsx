/**
 * Accounts: every broker login with its session (connected / reconnecting / down, last heartbeat, the
 * broker's own error), its discovered sub-accounts by name and the traders on it; adding a login with the
 * broker's own form, testing its connection (POST /api/accounts/:id/connect, bounded), editing and deleting;
 * on a login's page also its prop-firm rules per sub-account and replacing its credentials (account-rules.tsx).
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { Flash, flashUrl, Page } from "../layout";
import {
  CredentialsForm,
  entryFrom,
  type PropEntry,
  type PropLive,
  PropRulesForm,
  placeRuleError,
  postedRuleValues,
  type RuleValues,
  storedRuleValues,
} from "./account-rules";
import {
  type Account,
  connectionReport,
  detailPage,
  SessionCell,
  SubAccounts,
  TestButton,
  type TraderLite,
} from "./account-views";
import {
  AddLoginForm,
  type AddValues,
  BROKER_FORMS,
  brokerForm,
  credentialsFrom,
  echoable,
} from "./broker-forms";

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
    if (!r.ok) return c.redirect(flashUrl(to, r, ""), 303);
    const report = connectionReport(r.body);
    return c.redirect(`${to}?${report.ok ? "ok" : "error"}=${encodeURIComponent(report.text)}`, 303);
  });

  /** The login's page; `o.rules` / `o.creds` re-render a refused form with what was typed. */
  const showDetail = async (
    csrf: string,
    rawId: string,
    o: {
      ok?: string | undefined;
      error?: string | undefined;
      fields?: Record<string, string>;
      typed?: Partial<Account>;
      rules?: RuleValues[];
      creds?: { values: Record<string, string>; error: string };
    },
  ) => {
    const id = encodeURIComponent(rawId);
    const [r, traders, recorders, monitor] = await Promise.all([
      k.api<Account & { propRules: PropEntry[] }>("GET", `/accounts/${id}`),
      k.api<{ traders: TraderLite[] }>("GET", `/traders?accountId=${id}`),
      recorderNames(),
      k.api<{ accounts: { accountId: string; prop: PropLive[] }[] }>("GET", "/loss-monitor"),
    ]);
    if (!r.ok) return { page: undefined, redirect: flashUrl("/accounts", r, "") };
    const a = r.body;
    const live = (monitor.ok ? monitor.body.accounts : []).find((x) => x.accountId === a.id)?.prop ?? [];
    const extra = (
      <>
        <section aria-labelledby="rules-h">
          <h2 id="rules-h">Prop-firm rules</h2>
          <PropRulesForm a={a} csrf={csrf} rows={o.rules ?? storedRuleValues(a, a.propRules)} live={live} />
        </section>
        <section aria-labelledby="creds-h">
          <h2 id="creds-h">Replace credentials</h2>
          <CredentialsForm
            a={a}
            csrf={csrf}
            form={brokerForm(a.broker)}
            creds={o.creds?.values}
            error={o.creds?.error}
          />
        </section>
      </>
    );
    const page = await detailPage(
      k,
      csrf,
      { ...a, ...o.typed },
      traders.ok ? traders.body.traders : [],
      recorders,
      { ok: o.ok, error: o.error, ...(o.fields ? { fields: o.fields } : {}), extra },
    );
    return { page, redirect: "" };
  };

  app.get("/accounts/:id", async (c) => {
    const d = await showDetail(c.get("session").csrf, c.req.param("id"), {
      ok: c.req.query("ok"),
      error: c.req.query("error"),
    });
    return d.page ? c.html(d.page) : c.redirect(d.redirect, 303);
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
    const d = await showDetail(c.get("session").csrf, c.req.param("id"), {
      error: Object.keys(r.error.fields).length ? "Not saved: see the field below." : r.error.message,
      fields: r.error.fields,
      typed: patch,
    });
    return d.page ? c.html(d.page, r.status === 404 ? 404 : 400) : c.redirect(d.redirect, 303);
  });

  // The whole list goes: PATCH replaces it. Entries for sub-accounts not shown (not discovered now) are
  // kept as stored.
  app.post("/accounts/:id/rules", async (c) => {
    const id = encodeURIComponent(c.req.param("id"));
    const body = await c.req.parseBody();
    const rows = postedRuleValues(body);
    const now = await k.api<Account & { propRules: PropEntry[] }>("GET", `/accounts/${id}`);
    if (!now.ok) return c.redirect(flashUrl("/accounts", now, ""), 303);
    const shown = new Set(rows.map((r) => r.brokerAccountId));
    const list: unknown[] = [];
    const sent: number[] = [];
    for (const [i, r] of rows.entries()) {
      const e = entryFrom(r);
      if (!e) continue;
      list.push(e);
      sent.push(i);
    }
    for (const e of now.body.propRules) if (!shown.has(e.brokerAccountId ?? "")) list.push(e);
    const r = await k.api("PATCH", `/accounts/${id}`, { propRules: list });
    if (r.ok) {
      const msg = list.length ? "Prop rules saved." : "Prop rules removed.";
      return c.redirect(`/accounts/${id}?ok=${encodeURIComponent(msg)}#rules-h`, 303);
    }
    const placed = placeRuleError(rows, sent, r.error.fields);
    const d = await showDetail(c.get("session").csrf, c.req.param("id"), {
      error: placed
        ? "Prop rules not saved: see the field below."
        : `Prop rules not saved: ${r.error.message}`,
      rules: rows,
    });
    return d.page ? c.html(d.page, r.status === 404 ? 404 : 400) : c.redirect(d.redirect, 303);
  });

  app.post("/accounts/:id/credentials", async (c) => {
    const id = encodeURIComponent(c.req.param("id"));
    const body = await c.req.parseBody();
    const now = await k.api<Account>("GET", `/accounts/${id}`);
    if (!now.ok) return c.redirect(flashUrl("/accounts", now, ""), 303);
    const form = brokerForm(now.body.broker);
    const r = await k.api<Account>("PATCH", `/accounts/${id}`, { credentials: credentialsFrom(form, body) });
    if (r.ok) {
      const report = connectionReport(r.body);
      const q = report.ok
        ? `ok=${encodeURIComponent(`Credentials replaced. ${report.text}`)}`
        : `error=${encodeURIComponent(`Credentials replaced, but the session did not come up. ${report.text}`)}`;
      return c.redirect(`/accounts/${id}?${q}`, 303);
    }
    // What was typed comes back, but never a secret field.
    const d = await showDetail(c.get("session").csrf, c.req.param("id"), {
      error: "Credentials not replaced: see the form below.",
      creds: {
        values: echoable(form, body).creds ?? {},
        error: r.error.fields.credentials ?? r.error.message,
      },
    });
    return d.page ? c.html(d.page, r.status === 404 ? 404 : 400) : c.redirect(d.redirect, 303);
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
