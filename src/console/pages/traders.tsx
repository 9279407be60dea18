/**
 * Traders: every recorder -> sub-account link with its multiplier, loss limit, on/off and open position;
 * linking one recorder to many sub-accounts at once (one POST /api/traders each, every result shown);
 * editing, enabling, disabling and deleting one (with ?flatten=true to close what it holds first).
 */
import { Hono } from "hono";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { CsrfField, Flash, Page } from "../layout";
import type { Account } from "./account-views";
import type { FieldErrors, FormValues } from "./recorder-form";
import { posted } from "./recorders";
import { OverridesSection, overrideErrors, overridesBody } from "./trader-overrides";
import {
  type LinkResult,
  type LinkValues,
  positionText,
  type Trader,
  TraderDetail,
  type World,
} from "./trader-views";

const enc = encodeURIComponent;

export function tradersPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  const world = async (): Promise<World> => {
    const [t, a, r] = await Promise.all([
      k.api<{ traders: Trader[] }>("GET", "/traders"),
      k.api<{ accounts: Account[] }>("GET", "/accounts"),
      k.api<{ recorders: { id: string; name: string }[] }>("GET", "/recorders"),
    ]);
    return {
      traders: t.ok ? t.body.traders : [],
      accounts: a.ok ? a.body.accounts : [],
      recorders: r.ok ? r.body.recorders : [],
    };
  };

  const names = (w: World) => {
    const account = new Map(w.accounts.map((a) => [a.id, a]));
    const recorder = new Map(w.recorders.map((r) => [r.id, r.name]));
    return {
      recorder: (id: string) => recorder.get(id) ?? "(recorder)",
      login: (id: string) => account.get(id)?.name ?? "(login)",
      sub: (accountId: string, sub: string) =>
        account.get(accountId)?.brokerAccounts.find((b) => b.id === sub)?.name ?? sub,
    };
  };

  const listPage = async (
    csrf: string,
    w: World,
    o: {
      ok?: string | undefined;
      error?: string | undefined;
      results?: LinkResult[];
      values?: LinkValues;
      fields?: Record<string, string>;
    } = {},
  ) => {
    const n = names(w);
    const v: LinkValues = o.values ?? { recorderId: "", targets: [], multiplier: "1", maxDailyLoss: "" };
    const f = o.fields ?? {};
    return (
      <Page title="Traders" active="traders" csrf={csrf} banner={await banner(k.api)}>
        <Flash ok={o.ok} error={o.error} />
        {o.results ? (
          <section aria-labelledby="results-h" class="results">
            <h2 id="results-h">Link results</h2>
            <ul role="status">
              {o.results.map((r) => (
                <li class={r.ok ? "pos" : "neg"}>
                  <strong>{r.label}:</strong> {r.ok ? "✓ " : "✗ "}
                  {r.text}
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        <section aria-labelledby="list-h">
          <h2 id="list-h">Links</h2>
          <div id="traders" class="table-wrap" data-live-on="SignalExecuted ExecutionFailed BreachFlattened">
            <table>
              <thead>
                <tr>
                  <th scope="col">Recorder</th>
                  <th scope="col">Login</th>
                  <th scope="col">Sub-account</th>
                  <th scope="col" class="num">
                    Multiplier
                  </th>
                  <th scope="col" class="num">
                    Daily loss limit
                  </th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Open position</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {w.traders.length === 0 ? (
                  <tr>
                    <td colspan={8} class="muted">
                      No traders yet: link a recorder to sub-accounts below.
                    </td>
                  </tr>
                ) : (
                  w.traders.map((t) => {
                    const label = `${n.recorder(t.recorderId)} on ${n.login(t.accountId)} / ${n.sub(t.accountId, t.brokerAccountId)}`;
                    return (
                      <tr data-trader={t.id}>
                        <th scope="row">
                          <a href={`/traders/${t.id}`} aria-label={`Edit ${label}`}>
                            {n.recorder(t.recorderId)}
                          </a>
                        </th>
                        <td>{n.login(t.accountId)}</td>
                        <td>
                          {n.sub(t.accountId, t.brokerAccountId)}{" "}
                          <span class="muted mono">({t.brokerAccountId})</span>
                        </td>
                        <td class="num">×{t.multiplier}</td>
                        <td class="num">
                          {t.maxDailyLoss === null ? <span class="muted">none</span> : `$${t.maxDailyLoss}`}
                        </td>
                        <td>{t.enabled ? "yes" : "no (disabled)"}</td>
                        <td>{positionText(t.positions)}</td>
                        <td>
                          <form
                            method="post"
                            action={`/traders/${t.id}/${t.enabled ? "disable" : "enable"}`}
                            class="inline"
                          >
                            <CsrfField token={csrf} />
                            <button
                              type="submit"
                              class="secondary"
                              aria-label={`${t.enabled ? "Disable" : "Enable"} ${label}`}
                            >
                              {t.enabled ? "Disable" : "Enable"}
                            </button>
                          </form>
                        </td>
                      </tr>
                    );
                  })
                )}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-labelledby="link-h">
          <h2 id="link-h">Link a recorder to sub-accounts</h2>
          <form method="post" action="/traders/link">
            <CsrfField token={csrf} />
            <label for="link-recorder">Recorder</label>
            <select
              id="link-recorder"
              name="recorderId"
              required
              aria-invalid={f.recorderId ? "true" : undefined}
            >
              <option value="">Choose a recorder</option>
              {w.recorders.map((r) => (
                <option value={r.id} selected={v.recorderId === r.id}>
                  {r.name}
                </option>
              ))}
            </select>
            {f.recorderId ? <p class="field-error">{f.recorderId}</p> : null}
            <fieldset>
              <legend>Sub-accounts that copy it</legend>
              {w.accounts.every((a) => a.brokerAccounts.length === 0) ? (
                <p class="muted">No sub-accounts discovered yet: add a login under Accounts.</p>
              ) : null}
              {w.accounts.flatMap((a) =>
                a.brokerAccounts.map((b) => {
                  const value = `${a.id}|${b.id}`;
                  const id = `link-${a.id}-${b.id}`.replace(/[^\w-]/g, "_");
                  return (
                    <label class="inline" for={id}>
                      <input
                        type="checkbox"
                        id={id}
                        name="target"
                        value={value}
                        checked={v.targets.includes(value)}
                      />
                      {`${a.name} / ${b.name}`}
                    </label>
                  );
                }),
              )}
            </fieldset>
            <label for="link-multiplier">Multiplier</label>
            <p class="hint" id="link-multiplier-hint">
              Contracts per signal contract, 0.01 to 100, e.g. 2 or 0.5.
            </p>
            <input
              id="link-multiplier"
              name="multiplier"
              inputmode="decimal"
              value={v.multiplier}
              aria-describedby="link-multiplier-hint"
              aria-invalid={f.multiplier ? "true" : undefined}
            />
            {f.multiplier ? <p class="field-error">{f.multiplier}</p> : null}
            <label for="link-loss">Daily loss limit per sub-account (dollars)</label>
            <p class="hint" id="link-loss-hint">
              Empty: no limit of the trader's own.
            </p>
            <input
              id="link-loss"
              name="maxDailyLoss"
              inputmode="decimal"
              value={v.maxDailyLoss}
              aria-describedby="link-loss-hint"
              aria-invalid={f.maxDailyLoss ? "true" : undefined}
            />
            {f.maxDailyLoss ? <p class="field-error">{f.maxDailyLoss}</p> : null}
            <p>
              <button type="submit">Link</button>
            </p>
          </form>
        </section>
      </Page>
    );
  };

  app.get("/traders", async (c) =>
    c.html(
      await listPage(c.get("session").csrf, await world(), {
        ok: c.req.query("ok"),
        error: c.req.query("error"),
      }),
    ),
  );

  app.post("/traders/link", async (c) => {
    const body = await c.req.parseBody({ all: true });
    const one = (key: string) => {
      const x = body[key];
      return typeof x === "string" ? x.trim() : "";
    };
    const raw = body.target;
    const targets = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
      (x): x is string => typeof x === "string",
    );
    const values: LinkValues = {
      recorderId: one("recorderId"),
      targets,
      multiplier: one("multiplier"),
      maxDailyLoss: one("maxDailyLoss"),
    };
    const before = await world();
    const n = names(before);
    if (targets.length === 0) {
      return c.html(
        await listPage(c.get("session").csrf, before, { error: "Tick at least one sub-account.", values }),
        400,
      );
    }
    const results: LinkResult[] = [];
    const fields: Record<string, string> = {};
    // One after another: each is its own API call and its own answer, in the order they were ticked.
    for (const target of targets) {
      const [accountId = "", brokerAccountId = ""] = target.split("|");
      const label = `${n.login(accountId)} / ${n.sub(accountId, brokerAccountId)}`;
      const r = await k.api<Trader>("POST", "/traders", {
        recorderId: values.recorderId,
        accountId,
        brokerAccountId,
        multiplier: values.multiplier === "" ? "1" : values.multiplier,
        ...(values.maxDailyLoss === "" ? {} : { maxDailyLoss: values.maxDailyLoss }),
      });
      if (r.ok) results.push({ label, ok: true, text: "created", traderId: r.body.id });
      else {
        results.push({ label, ok: false, text: r.error.message });
        Object.assign(fields, r.error.fields);
      }
    }
    const created = results.filter((r) => r.ok).length;
    const summary = `${created} of ${results.length} linked.`;
    return c.html(
      await listPage(c.get("session").csrf, await world(), {
        ...(created === results.length ? { ok: summary } : { error: summary }),
        results,
        // Keep what was typed only when something failed, so it can be fixed and sent again.
        ...(created === results.length ? {} : { values, fields }),
      }),
      created === 0 ? 400 : 200,
    );
  });

  for (const action of ["enable", "disable"] as const) {
    app.post(`/traders/:id/${action}`, async (c) => {
      const id = enc(c.req.param("id"));
      const r = await k.api("PATCH", `/traders/${id}`, { enabled: action === "enable" });
      const to = (await c.req.parseBody()).back === "detail" ? `/traders/${id}` : "/traders";
      const word = action === "enable" ? "Trader enabled." : "Trader disabled: it copies no new signals.";
      return c.redirect(r.ok ? `${to}?ok=${enc(word)}` : `${to}?error=${enc(r.error.message)}`, 303);
    });
  }

  const detail = async (
    csrf: string,
    t: Trader,
    o: {
      ok?: string | undefined;
      error?: string | undefined;
      fields?: Record<string, string>;
      /** The overrides form as typed, with the API's messages, after a refusal. */
      typed?: { f: FormValues; errors: FieldErrors };
    },
  ) => {
    const [w, rec] = await Promise.all([
      world(),
      k.api<Record<string, unknown>>("GET", `/recorders/${enc(t.recorderId)}`),
    ]);
    const n = names(w);
    const label = `${n.recorder(t.recorderId)} on ${n.login(t.accountId)} / ${n.sub(t.accountId, t.brokerAccountId)}`;
    const { typed, ...rest } = o;
    const overrides = (
      <OverridesSection
        csrf={csrf}
        traderId={t.id}
        multiplier={t.multiplier}
        recorder={rec.ok ? rec.body : undefined}
        overrides={t.overrides}
        f={typed?.f}
        errors={typed?.errors}
      />
    );
    return (
      <TraderDetail
        csrf={csrf}
        t={t}
        label={label}
        banner={await banner(k.api)}
        overrides={overrides}
        {...rest}
      />
    );
  };

  app.get("/traders/:id", async (c) => {
    const r = await k.api<Trader>("GET", `/traders/${enc(c.req.param("id"))}`);
    if (!r.ok) return c.redirect(`/traders?error=${enc(r.error.message)}`, 303);
    return c.html(
      await detail(c.get("session").csrf, r.body, { ok: c.req.query("ok"), error: c.req.query("error") }),
    );
  });

  app.post("/traders/:id", async (c) => {
    const id = enc(c.req.param("id"));
    const body = await c.req.parseBody();
    const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string).trim() : "");
    const patch = {
      multiplier: text("multiplier"),
      maxDailyLoss: text("maxDailyLoss") === "" ? null : text("maxDailyLoss"),
      enabled: body.enabled === "on",
    };
    const r = await k.api<Trader>("PATCH", `/traders/${id}`, patch);
    if (r.ok) return c.redirect(`/traders/${id}?ok=${enc("Saved.")}`, 303);
    const now = await k.api<Trader>("GET", `/traders/${id}`);
    if (!now.ok) return c.redirect(`/traders?error=${enc(now.error.message)}`, 303);
    const typed = {
      ...now.body,
      multiplier: patch.multiplier,
      maxDailyLoss: patch.maxDailyLoss,
      enabled: patch.enabled,
    };
    const named = Object.keys(r.error.fields).length > 0;
    return c.html(
      await detail(c.get("session").csrf, typed, {
        error: named ? "Not saved: see the field below." : r.error.message,
        fields: r.error.fields,
      }),
      r.status === 409 ? 409 : r.status === 422 ? 422 : 400,
    );
  });

  app.post("/traders/:id/overrides", async (c) => {
    const id = enc(c.req.param("id"));
    const f = await posted(c);
    const r = await k.api<Trader>("PATCH", `/traders/${id}`, { overrides: overridesBody(f) });
    if (r.ok) return c.redirect(`/traders/${id}?ok=${enc("Overrides saved.")}`, 303);
    const now = await k.api<Trader>("GET", `/traders/${id}`);
    if (!now.ok) return c.redirect(`/traders?error=${enc(now.error.message)}`, 303);
    const errors = overrideErrors(r.error.fields);
    return c.html(
      await detail(c.get("session").csrf, now.body, {
        error: Object.keys(errors).length ? "Overrides not saved: see the field below." : r.error.message,
        typed: { f, errors },
      }),
      r.status === 409 ? 409 : r.status === 422 ? 422 : 400,
    );
  });

  app.post("/traders/:id/delete", async (c) => {
    const id = enc(c.req.param("id"));
    const body = await c.req.parseBody();
    const flatten = body.flatten === "on";
    const r = await k.api("DELETE", `/traders/${id}${flatten ? "?flatten=true" : ""}`);
    if (r.ok)
      return c.redirect(
        `/traders?ok=${enc(flatten ? "Trader flattened and deleted." : "Trader deleted.")}`,
        303,
      );
    return c.redirect(`/traders/${id}?error=${enc(r.error.message)}`, 303);
  });

  return app;
}
