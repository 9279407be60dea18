/**
 * Recorders: the list with webhook URLs, a new-recorder form, and per recorder its settings, webhook URL
 * (copy, rotate), the TradingView alert-message builder, enable/disable, the leader and delete. Every read
 * and change is the admin API's (/recorders, /recorders/:id/leader, /traders, /accounts).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { readAlertOptions } from "../alert-builder";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { State } from "../format";
import { CsrfField, Flash, flashUrl, Page } from "../layout";
import { AlertBuilder } from "./recorder-builder";
import {
  blankForm,
  changed,
  compactRows,
  errorsOf,
  type FieldErrors,
  type FormValues,
  formFromRecorder,
  RecorderForm,
  settingsBody,
} from "./recorder-form";

type Json = Record<string, unknown>;
interface Recorder extends Json {
  id: string;
  name: string;
  enabled: boolean;
  webhookUrl: string;
}
interface Account {
  id: string;
  name: string;
  broker: string;
  brokerAccounts: { id: string; name: string }[];
}
interface Leader {
  accountId: string;
  brokerAccountId: string;
}

type C = Context<ConsoleEnv>;
const SCRIPTS = ["/assets/recorders.js"];

/** The posted form as typed (repeated names, such as a window's days, as lists), without the CSRF token. */
export async function posted(c: C): Promise<FormValues> {
  const raw = await c.req.parseBody({ all: true });
  const f: FormValues = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "_csrf") continue;
    const list = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");
    f[k] = k.endsWith(".days") ? list : (list[0] ?? "");
  }
  return compactRows(f);
}

const errStatus = (status: number) => (status >= 400 && status < 500 ? status : 400) as 400;

export function recorderPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  async function listPage(
    c: C,
    form?: { f: FormValues; errors: FieldErrors; error: string; status: number },
  ) {
    const [recs, traders] = await Promise.all([
      k.api<{ recorders: Recorder[] }>("GET", "/recorders"),
      k.api<{ traders: { recorderId: string }[] }>("GET", "/traders"),
    ]);
    const count = new Map<string, number>();
    for (const t of traders.ok ? traders.body.traders : [])
      count.set(t.recorderId, (count.get(t.recorderId) ?? 0) + 1);
    const csrf = c.get("session").csrf;
    const list = recs.ok ? recs.body.recorders : [];
    return c.html(
      <Page title="Recorders" active="recorders" csrf={csrf} banner={await banner(k.api)} scripts={SCRIPTS}>
        <Flash
          ok={c.req.query("ok")}
          error={form?.error ?? c.req.query("error") ?? (recs.ok ? undefined : recs.error.message)}
        />
        <section aria-labelledby="list-h">
          <h2 id="list-h">Signal sources</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">
                    Traders
                  </th>
                  <th scope="col">Webhook URL</th>
                </tr>
              </thead>
              <tbody>
                {list.length === 0 ? (
                  <tr>
                    <td colspan={4} class="muted">
                      No recorders yet: create one below.
                    </td>
                  </tr>
                ) : (
                  list.map((r) => (
                    <tr>
                      <th scope="row">
                        <a href={`/recorders/${r.id}`}>{r.name}</a>
                      </th>
                      <td>
                        <State state={r.enabled ? "enabled" : "disabled"} />
                      </td>
                      <td class="num">{count.get(r.id) ?? 0}</td>
                      <td>
                        <code id={`url-${r.id}`}>{r.webhookUrl}</code>{" "}
                        <button
                          type="button"
                          class="secondary"
                          data-copy={`url-${r.id}`}
                          aria-label={`Copy the webhook URL of ${r.name}`}
                        >
                          Copy
                        </button>
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-labelledby="new-h">
          <h2 id="new-h">New recorder</h2>
          <RecorderForm
            action="/recorders"
            csrf={csrf}
            f={form?.f ?? blankForm()}
            errors={form?.errors ?? {}}
            submit="Create recorder"
            create
          />
        </section>
      </Page>,
      form ? errStatus(form.status) : 200,
    );
  }

  async function detailPage(
    c: C,
    id: string,
    form?: { f: FormValues; errors: FieldErrors; error: string; status: number },
  ) {
    const [rec, traders, accounts, leader] = await Promise.all([
      k.api<Recorder>("GET", `/recorders/${id}`),
      k.api<{ traders: unknown[] }>("GET", `/traders?recorderId=${id}`),
      k.api<{ accounts: Account[] }>("GET", "/accounts"),
      k.api<{ leader: Leader | null }>("GET", `/recorders/${id}/leader`),
    ]);
    if (!rec.ok) return c.redirect(`/recorders?error=${encodeURIComponent(rec.error.message)}`, 303);
    const r = rec.body;
    const csrf = c.get("session").csrf;
    const base = `/recorders/${r.id}`;
    const lead = leader.ok ? leader.body.leader : null;
    const accs = accounts.ok ? accounts.body.accounts : [];
    const held = traders.ok ? traders.body.traders.length : 0;
    return c.html(
      <Page
        title={`Recorder ${r.name}`}
        active="recorders"
        csrf={csrf}
        banner={await banner(k.api)}
        scripts={SCRIPTS}
      >
        <p>
          <a href="/recorders">All recorders</a>
        </p>
        <Flash ok={c.req.query("ok")} error={form?.error ?? c.req.query("error")} />
        <section aria-labelledby="hook-h">
          <h2 id="hook-h">Webhook</h2>
          <p>
            <code id="webhook-url">{r.webhookUrl}</code>{" "}
            <button type="button" class="secondary" data-copy="webhook-url">
              Copy URL
            </button>
          </p>
          <p>
            <State state={r.enabled ? "enabled" : "disabled"} />{" "}
            {r.enabled ? "Takes signals." : "Takes no signals: alerts are refused as disabled."} {held}{" "}
            trader(s) follow it.
          </p>
          <div class="row">
            <form method="post" action={`${base}/${r.enabled ? "disable" : "enable"}`}>
              <CsrfField token={csrf} />
              <button type="submit" class="secondary">
                {r.enabled ? "Disable" : "Enable"}
              </button>
            </form>
            <form
              method="post"
              action={`${base}/rotate`}
              data-confirm="Issue a new webhook URL? The old URL stops working at once: update every TradingView alert."
            >
              <CsrfField token={csrf} />
              <button type="submit" class="secondary">
                Rotate the webhook URL
              </button>
            </form>
          </div>
        </section>
        <section aria-labelledby="settings-h">
          <h2 id="settings-h">Settings</h2>
          <RecorderForm
            action={base}
            csrf={csrf}
            f={form?.f ?? formFromRecorder(r)}
            errors={form?.errors ?? {}}
            submit="Save settings"
          />
        </section>
        <AlertBuilder
          recorderId={r.id}
          webhookUrl={r.webhookUrl}
          o={readAlertOptions(c.req.query())}
          now={new Date()}
        />
        <section aria-labelledby="leader-h">
          <h2 id="leader-h">Leader account</h2>
          <p class="hint">
            A broker sub-account whose own fills (orders the relay did not place) are copied to this
            recorder's traders.
          </p>
          <p>{lead ? `Leader: ${leaderName(accs, lead)}` : "No leader: only alerts are copied."}</p>
          <form method="post" action={`${base}/leader`} class="row">
            <CsrfField token={csrf} />
            <div>
              <label for="leader">Account and sub-account</label>
              <select id="leader" name="leader">
                {accs.map((a) =>
                  a.brokerAccounts.length === 0 ? (
                    <option value={`${a.id}:`}>{`${a.name} (no sub-account discovered yet)`}</option>
                  ) : (
                    a.brokerAccounts.map((b) => (
                      <option
                        value={`${a.id}:${b.id}`}
                        selected={lead?.accountId === a.id && lead.brokerAccountId === b.id}
                      >{`${a.name} – ${b.name} (${b.id})`}</option>
                    ))
                  ),
                )}
              </select>
            </div>
            <button type="submit" class="secondary" disabled={accs.length === 0}>
              Set leader
            </button>
          </form>
          {lead ? (
            <form
              method="post"
              action={`${base}/leader/remove`}
              data-confirm="Stop copying the leader's fills?"
            >
              <CsrfField token={csrf} />
              <button type="submit" class="secondary">
                Remove leader
              </button>
            </form>
          ) : null}
        </section>
        <section aria-labelledby="delete-h">
          <h2 id="delete-h">Delete</h2>
          <form method="post" action={`${base}/delete`} data-confirm={`Delete the recorder ${r.name}?`}>
            <CsrfField token={csrf} />
            <button type="submit" class="danger">
              Delete recorder
            </button>
          </form>
        </section>
      </Page>,
      form ? errStatus(form.status) : 200,
    );
  }

  app.get("/recorders", (c) => listPage(c));

  app.post("/recorders", async (c) => {
    const f = await posted(c);
    const settings = Object.fromEntries(Object.entries(settingsBody(f)).filter(([, v]) => v !== null));
    const r = await k.api<Recorder>("POST", "/recorders", {
      name: typeof f.name === "string" ? f.name : "",
      enabled: f.enabled === "on",
      ...settings,
    });
    if (!r.ok)
      return listPage(c, { f, errors: errorsOf(r.error.fields), error: r.error.message, status: r.status });
    return c.redirect(
      `/recorders/${r.body.id}?ok=${encodeURIComponent(`Recorder ${r.body.name} created.`)}`,
      303,
    );
  });

  app.get("/recorders/:id", (c) => detailPage(c, c.req.param("id")));

  app.post("/recorders/:id", async (c) => {
    const id = c.req.param("id");
    const current = await k.api<Recorder>("GET", `/recorders/${id}`);
    if (!current.ok) return c.redirect(`/recorders?error=${encodeURIComponent(current.error.message)}`, 303);
    const f = await posted(c);
    const before = formFromRecorder(current.body);
    const patch = changed(settingsBody(compactRows(before)), settingsBody(f));
    if (f.name !== before.name) patch.name = f.name;
    if (Object.keys(patch).length === 0) return c.redirect(`/recorders/${id}?ok=Nothing+changed.`, 303);
    const r = await k.api("PATCH", `/recorders/${id}`, patch);
    if (!r.ok)
      return detailPage(c, id, {
        f,
        errors: errorsOf(r.error.fields),
        error: r.error.message,
        status: r.status,
      });
    return c.redirect(`/recorders/${id}?ok=Settings+saved.`, 303);
  });

  const simple: [string, string, (id: string) => [string, string, unknown?]][] = [
    [
      "enable",
      "Enabled: the recorder takes signals.",
      (id) => ["PATCH", `/recorders/${id}`, { enabled: true }],
    ],
    [
      "disable",
      "Disabled: its alerts are refused.",
      (id) => ["PATCH", `/recorders/${id}`, { enabled: false }],
    ],
    [
      "rotate",
      "New webhook URL issued: the old one no longer works. Update your TradingView alerts.",
      (id) => ["PATCH", `/recorders/${id}`, { rotateToken: true }],
    ],
    ["leader/remove", "Leader removed.", (id) => ["DELETE", `/recorders/${id}/leader`]],
  ];
  for (const [action, ok, call] of simple) {
    app.post(`/recorders/:id/${action}`, async (c) => {
      const id = c.req.param("id");
      const [method, path, body] = call(id);
      const r = await k.api(method, path, body);
      return c.redirect(flashUrl(`/recorders/${id}`, r, ok), 303);
    });
  }

  app.post("/recorders/:id/leader", async (c) => {
    const id = c.req.param("id");
    const choice = (await c.req.parseBody()).leader;
    const [accountId = "", brokerAccountId = ""] = typeof choice === "string" ? choice.split(/:(.*)/s) : [];
    const r = await k.api("PUT", `/recorders/${id}/leader`, {
      accountId,
      ...(brokerAccountId ? { brokerAccountId } : {}),
    });
    return c.redirect(flashUrl(`/recorders/${id}`, r, "Leader set: its own fills are copied."), 303);
  });

  app.post("/recorders/:id/delete", async (c) => {
    const id = c.req.param("id");
    const r = await k.api("DELETE", `/recorders/${id}`);
    if (r.ok) return c.redirect("/recorders?ok=Recorder+deleted.", 303);
    return c.redirect(`/recorders/${id}?error=${encodeURIComponent(r.error.message)}`, 303);
  });

  return app;
}

function leaderName(accounts: Account[], l: Leader): string {
  const a = accounts.find((x) => x.id === l.accountId);
  const b = a?.brokerAccounts.find((x) => x.id === l.brokerAccountId);
  return `${a?.name ?? l.accountId} – ${b?.name ?? l.brokerAccountId} (${l.brokerAccountId})`;
}
