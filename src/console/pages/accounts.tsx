/**
 * Accounts: every broker login with its session (connected / reconnecting / down, last heartbeat, the
 * broker's own error), its discovered sub-accounts by name and the traders on it; adding a login with the
 * broker's own form, testing its connection (POST /api/accounts/:id/connect, bounded), editing and deleting.
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ApiResult, ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { Flash, Page } from "../layout";
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

const back = (r: ApiResult<unknown>, to: string, ok: string) =>
  r.ok ? `${to}?ok=${encodeURIComponent(ok)}` : `${to}?error=${encodeURIComponent(r.error.message)}`;
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
