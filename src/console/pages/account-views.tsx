/**
 * What the Accounts pages show of a login: its session in a trader's words (connected / reconnecting /
 * down, with the broker's own error), its sub-accounts by name, the Test connection button, and the
 * login's own page (session, traders on it, settings, delete with flatten).
 */

import type { Child } from "hono/jsx";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import { State, When } from "../format";
import { CsrfField, Flash, Page } from "../layout";

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

export interface TraderLite {
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

export function SubAccounts(p: { a: Account }) {
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

export function TestButton(p: { id: string; name: string; csrf: string; back: string }) {
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

export async function detailPage(
  k: ConsoleKit,
  csrf: string,
  a: Account,
  traders: TraderLite[],
  recorders: Map<string, string>,
  o: {
    ok?: string | undefined;
    error?: string | undefined;
    fields?: Record<string, string>;
    /** The prop rules and credentials sections (account-rules.tsx), before the delete section. */
    extra?: Child;
  },
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
      {o.extra}
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
