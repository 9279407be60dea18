/**
 * A login's prop-firm rules and its credentials, on the login's own page.
 *
 * Prop rules: one fieldset per discovered sub-account (plus one for "every other sub-account" when the
 * login has several, or such an entry is stored), each with a preset and the optional fields that
 * override it; the form sends the whole `propRules` list, because PATCH /api/accounts/:id replaces it.
 * Under each sub-account, the loss monitor's live figures for it (GET /api/loss-monitor, `prop[]`).
 *
 * Credentials: the broker's own credential fields; PATCH {credentials} replaces them whole and logs in
 * again. Secrets are never written back into a page.
 */
import { toStr } from "../../domain/decimal";
import { PRESET_NAMES, PROP_PRESETS } from "../../domain/prop-presets";
import { Money, State, When } from "../format";
import { CsrfField } from "../layout";
import type { Account } from "./account-views";
import { type BrokerForm, CredentialFields } from "./broker-forms";

/** One stored `propRules` entry, as the API returns it. */
export interface PropEntry {
  brokerAccountId?: string;
  riskPreset?: string;
  startingBalance?: string;
  highWaterBalance?: string;
  trailingDrawdown?: { mode?: string; amount?: string; lock?: string | null; action?: string } | null;
  dailyProfitTarget?: { amount: string; action?: string } | null;
  dailyLossLimit?: { amount: string; action?: string } | null;
  maxContracts?: number | null;
}

/** GET /api/loss-monitor accounts[].prop[] (src/monitor/prop-view.ts). */
export interface PropLive {
  brokerAccountId: string;
  preset: string | null;
  settled: boolean;
  balance: string | null;
  equity: string | null;
  dayPnl: string;
  trailingMode: string | null;
  highWater: string | null;
  floor: string | null;
  drawdownLeft: string | null;
  lossLimit: string | null;
  lossLeft: string | null;
  profitTarget: string | null;
  profitTargetLeft: string | null;
  maxContracts: number | null;
  contractsInUse: number;
  breaches: { rule: string; action: string; message: string; breachedAt: string; state: string }[];
}

/** What one fieldset holds: the sub-account ("" = every other one) and the typed values by API path. */
export interface RuleValues {
  brokerAccountId: string;
  remove: boolean;
  v: Record<string, string>;
  /** API path under the entry (e.g. "dailyLossLimit.amount", "" for the entry) -> the API's message. */
  errors?: Record<string, string>;
}

const ACTIONS = ["pause", "flatten", "fail"] as const;
const DAILY = ["dailyProfitTarget", "dailyLossLimit"] as const;

function presetLabel(name: string): string {
  const p = PROP_PRESETS[name as keyof typeof PROP_PRESETS];
  if (!p) return name;
  const t = p.trailingDrawdown;
  const parts = p.startingBalance ? [`start ${toStr(p.startingBalance)}`] : [];
  if (t) parts.push(`${t.mode} drawdown ${toStr(t.amount)}`);
  if (p.dailyLossLimit) parts.push(`daily loss ${toStr(p.dailyLossLimit.amount)}`);
  if (p.maxContracts) parts.push(`${p.maxContracts} contracts`);
  return `${name} (${parts.join(", ")})`;
}

/** The fieldsets of a login: its stored entries laid over its sub-accounts. */
export function storedRuleValues(a: Account, list: PropEntry[]): RuleValues[] {
  const ids = a.brokerAccounts.map((b) => b.id);
  const wide = list.find((e) => !e.brokerAccountId);
  if (ids.length > 1 || wide) ids.push("");
  return ids.map((id) => {
    const e = list.find((x) => (x.brokerAccountId ?? "") === id);
    return { brokerAccountId: id, remove: false, v: e ? entryValues(e) : {} };
  });
}

function entryValues(e: PropEntry): Record<string, string> {
  const v: Record<string, string> = {};
  const put = (k: string, x: string | number | null | undefined) => {
    if (x !== undefined && x !== null) v[k] = String(x);
  };
  put("riskPreset", e.riskPreset);
  put("startingBalance", e.startingBalance);
  put("highWaterBalance", e.highWaterBalance);
  put("maxContracts", e.maxContracts === null ? "none" : e.maxContracts);
  if (e.trailingDrawdown === null) v["trailingDrawdown.mode"] = "off";
  else if (e.trailingDrawdown) {
    const t = e.trailingDrawdown;
    put("trailingDrawdown.mode", t.mode);
    put("trailingDrawdown.amount", t.amount);
    put("trailingDrawdown.lock", t.lock === null ? "none" : t.lock);
    put("trailingDrawdown.action", t.action);
  }
  for (const d of DAILY) {
    const x = e[d];
    if (x === null) v[`${d}.action`] = "off";
    else if (x) {
      put(`${d}.amount`, x.amount);
      put(`${d}.action`, x.action);
    }
  }
  return v;
}

const FIELDS = [
  "riskPreset",
  "startingBalance",
  "highWaterBalance",
  "trailingDrawdown.mode",
  "trailingDrawdown.amount",
  "trailingDrawdown.lock",
  "trailingDrawdown.action",
  "dailyProfitTarget.amount",
  "dailyProfitTarget.action",
  "dailyLossLimit.amount",
  "dailyLossLimit.action",
  "maxContracts",
];

/** The fieldsets as posted: `rules.<i>.<path>` inputs, `rules.<i>.id`, `rules.<i>.remove`. */
export function postedRuleValues(body: Record<string, unknown>): RuleValues[] {
  const out: RuleValues[] = [];
  for (let i = 0; i < 500 && typeof body[`rules.${i}.id`] === "string"; i++) {
    const v: Record<string, string> = {};
    for (const f of FIELDS) {
      const raw = body[`rules.${i}.${f}`];
      if (typeof raw === "string" && raw.trim() !== "") v[f] = raw.trim();
    }
    out.push({
      brokerAccountId: body[`rules.${i}.id`] as string,
      remove: body[`rules.${i}.remove`] === "on",
      v,
    });
  }
  return out;
}

/** One entry for the API, or undefined when the fieldset sets nothing (or says remove). */
export function entryFrom(r: RuleValues): Record<string, unknown> | undefined {
  if (r.remove) return undefined;
  const v = r.v;
  const e: Record<string, unknown> = {};
  if (v.riskPreset) e.riskPreset = v.riskPreset;
  if (v.startingBalance) e.startingBalance = v.startingBalance;
  if (v.highWaterBalance) e.highWaterBalance = v.highWaterBalance;
  const mode = v["trailingDrawdown.mode"];
  if (mode === "off") e.trailingDrawdown = null;
  else {
    const t: Record<string, unknown> = {};
    if (mode) t.mode = mode;
    const amount = v["trailingDrawdown.amount"];
    if (amount) t.amount = amount;
    const lock = v["trailingDrawdown.lock"];
    if (lock) t.lock = lock.toLowerCase() === "none" ? null : lock;
    const act = v["trailingDrawdown.action"];
    if (act) t.action = act;
    if (Object.keys(t).length) e.trailingDrawdown = t;
  }
  for (const d of DAILY) {
    const act = v[`${d}.action`];
    const amount = v[`${d}.amount`];
    if (act === "off") e[d] = null;
    else if (act || amount) e[d] = { ...(amount ? { amount } : {}), ...(act ? { action: act } : {}) };
  }
  const max = v.maxContracts;
  // "none": no limit, even where the preset has one.
  if (max) e.maxContracts = max.toLowerCase() === "none" ? null : /^\d+$/.test(max) ? Number(max) : max;
  if (Object.keys(e).length === 0) return undefined;
  return r.brokerAccountId ? { brokerAccountId: r.brokerAccountId, ...e } : e;
}

/**
 * The API's refusal of a list placed on the fieldset it names: "propRules.<n>.<path>: message", or
 * "propRules.<n>: <path>: message" (a rule that needs another field). False when it names no entry sent.
 */
export function placeRuleError(rows: RuleValues[], sent: number[], fields: Record<string, string>): boolean {
  for (const [key, message] of Object.entries(fields)) {
    const m = /^propRules\.(\d+)(?:\.(.+))?$/.exec(key);
    const row = m ? rows[sent[Number(m[1])] ?? -1] : undefined;
    if (!m || !row) continue;
    let path = m[2] ?? "";
    let text = message;
    const inner = /^([A-Za-z][\w.]*): (.+)$/s.exec(message);
    if (!path && inner?.[1] && inner[2] && FIELDS.includes(inner[1])) [path, text] = [inner[1], inner[2]];
    if (path === "brokerAccountId" || !FIELDS.includes(path)) path = "";
    row.errors = { ...row.errors, [path]: text };
    return true;
  }
  return false;
}

function Select(p: {
  id: string;
  name: string;
  label: string;
  value: string | undefined;
  options: { value: string; label: string }[];
  error?: string | undefined;
}) {
  return (
    <span class="rule-field">
      <label for={p.id}>{p.label}</label>
      <select
        id={p.id}
        name={p.name}
        aria-invalid={p.error ? "true" : undefined}
        aria-describedby={p.error ? `${p.id}-error` : undefined}
      >
        {p.options.map((o) => (
          <option value={o.value} selected={(p.value ?? "") === o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {p.error ? (
        <span class="field-error" id={`${p.id}-error`}>
          {p.error}
        </span>
      ) : null}
    </span>
  );
}

function Input(p: {
  id: string;
  name: string;
  label: string;
  value: string | undefined;
  hint?: string;
  numeric?: boolean;
  error?: string | undefined;
}) {
  const described = [p.hint ? `${p.id}-hint` : "", p.error ? `${p.id}-error` : ""].filter(Boolean).join(" ");
  return (
    <span class="rule-field">
      <label for={p.id}>{p.label}</label>
      {p.hint ? (
        <span class="hint" id={`${p.id}-hint`}>
          {p.hint}
        </span>
      ) : null}
      <input
        id={p.id}
        name={p.name}
        value={p.value ?? ""}
        inputmode={p.numeric ? "decimal" : undefined}
        aria-invalid={p.error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {p.error ? (
        <span class="field-error" id={`${p.id}-error`}>
          {p.error}
        </span>
      ) : null}
    </span>
  );
}

const actionOptions = (fromPreset: string) => [
  { value: "", label: fromPreset },
  ...ACTIONS.map((x) => ({ value: x, label: x })),
];

function LiveFigures(p: { live: PropLive | undefined; id: string }) {
  const l = p.live;
  return (
    <div
      id={p.id}
      class="prop-live"
      data-live-on="SignalExecuted BreachDetected BreachFlattened SessionRestored"
    >
      {!l ? (
        <p class="muted">No live figures: no rules apply to this sub-account yet.</p>
      ) : (
        <>
          <p class="hint">
            Live, from the loss monitor{l.settled ? "" : " (reading back a fill: figures not settled yet)"}:
          </p>
          <dl class="facts">
            <dt>Balance</dt>
            <dd>{l.balance ?? "–"}</dd>
            <dt>Equity</dt>
            <dd>{l.equity ?? "–"}</dd>
            <dt>Day P&amp;L</dt>
            <dd>
              <Money value={l.dayPnl} />
            </dd>
            <dt>High-water mark</dt>
            <dd>{l.highWater ?? "–"}</dd>
            <dt>Floor{l.trailingMode ? ` (${l.trailingMode})` : ""}</dt>
            <dd>{l.floor ?? "–"}</dd>
            <dt>Drawdown left</dt>
            <dd>{l.drawdownLeft ?? "–"}</dd>
            <dt>Daily loss limit</dt>
            <dd>{l.lossLimit ?? "–"}</dd>
            <dt>Loss left today</dt>
            <dd>{l.lossLeft ?? "–"}</dd>
            <dt>Profit target</dt>
            <dd>{l.profitTarget ?? "–"}</dd>
            <dt>Profit target left</dt>
            <dd>{l.profitTargetLeft ?? "–"}</dd>
            <dt>Contracts in use</dt>
            <dd>
              {l.contractsInUse}
              {l.maxContracts === null ? "" : ` of ${l.maxContracts}`}
            </dd>
          </dl>
          {l.breaches.length ? (
            <ul class="plain">
              {l.breaches.map((b) => (
                <li>
                  <State state={b.state} /> {b.rule} ({b.action}): {b.message} <When at={b.breachedAt} />
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No rule breached today.</p>
          )}
        </>
      )}
    </div>
  );
}

export function PropRulesForm(p: { a: Account; csrf: string; rows: RuleValues[]; live: PropLive[] }) {
  const { a } = p;
  if (p.rows.length === 0)
    return <p class="muted">No sub-accounts discovered yet: test the connection, then set rules here.</p>;
  return (
    <form method="post" action={`/accounts/${a.id}/rules`} class="prop-rules">
      <CsrfField token={p.csrf} />
      <p class="hint">
        A preset is a firm's published plan (check it against your firm); every field you fill overrides it.
        Empty: the preset's value, or no rule. Amounts are dollars.
      </p>
      {p.rows.map((r, i) => {
        const sub = a.brokerAccounts.find((b) => b.id === r.brokerAccountId);
        const title = r.brokerAccountId
          ? `${sub?.name ?? r.brokerAccountId}`
          : "Every other sub-account (those without rules of their own)";
        const id = (f: string) => `rules-${i}-${f.replace(".", "-")}`;
        const name = (f: string) => `rules.${i}.${f}`;
        const err = r.errors ?? {};
        const input = (f: string, label: string, hint?: string, numeric = true) => (
          <Input
            id={id(f)}
            name={name(f)}
            label={label}
            value={r.v[f]}
            numeric={numeric}
            error={err[f]}
            {...(hint ? { hint } : {})}
          />
        );
        const select = (f: string, label: string, options: { value: string; label: string }[]) => (
          <Select id={id(f)} name={name(f)} label={label} value={r.v[f]} options={options} error={err[f]} />
        );
        return (
          <fieldset data-sub={r.brokerAccountId}>
            <legend>{title}</legend>
            <input type="hidden" name={name("id")} value={r.brokerAccountId} />
            {err[""] ? (
              <p class="field-error" role="alert">
                {err[""]}
              </p>
            ) : null}
            <div class="rule-row">
              {select("riskPreset", "Preset", [
                { value: "", label: "none" },
                ...PRESET_NAMES.map((n) => ({ value: n, label: presetLabel(n) })),
              ])}
              {input("startingBalance", "Starting balance")}
              {input("highWaterBalance", "High-water balance", "Part-way through a plan; empty: the start.")}
              {input("maxContracts", "Max contracts", "none: no limit, even under a preset.", false)}
            </div>
            <div class="rule-row">
              {select("trailingDrawdown.mode", "Trailing drawdown", [
                { value: "", label: "preset's" },
                { value: "eod", label: "end of day" },
                { value: "intraday", label: "intraday" },
                { value: "off", label: "off" },
              ])}
              {input("trailingDrawdown.amount", "Drawdown amount")}
              {input("trailingDrawdown.lock", "Lock above start", "none: the floor never stops.", false)}
              {select("trailingDrawdown.action", "At the floor", actionOptions("preset's, else fail"))}
            </div>
            <div class="rule-row">
              {input("dailyLossLimit.amount", "Daily loss limit")}
              {select("dailyLossLimit.action", "At the daily loss limit", [
                ...actionOptions("preset's, else flatten"),
                { value: "off", label: "off (no limit)" },
              ])}
            </div>
            <div class="rule-row">
              {input("dailyProfitTarget.amount", "Daily profit target")}
              {select("dailyProfitTarget.action", "At the profit target", [
                ...actionOptions("pause"),
                { value: "off", label: "off (no target)" },
              ])}
            </div>
            <label class="inline" for={id("remove")}>
              <input type="checkbox" id={id("remove")} name={name("remove")} checked={r.remove} />
              Remove the rules of {title}
            </label>
            {r.brokerAccountId ? (
              <LiveFigures
                id={`prop-live-${i}`}
                live={p.live.find((l) => l.brokerAccountId === r.brokerAccountId)}
              />
            ) : null}
          </fieldset>
        );
      })}
      <p>
        <button type="submit">Apply prop rules</button>
      </p>
    </form>
  );
}

export function CredentialsForm(p: {
  a: Account;
  csrf: string;
  form: BrokerForm;
  creds?: Record<string, string> | undefined;
  error?: string | undefined;
}) {
  return (
    <form
      method="post"
      action={`/accounts/${p.a.id}/credentials`}
      autocomplete="off"
      data-confirm={`Replace the credentials of ${p.a.name}? Its session logs in again with the new ones.`}
    >
      <CsrfField token={p.csrf} />
      <fieldset aria-describedby={p.error ? "cred-error" : "cred-about"}>
        <legend>New {p.form.label} credentials</legend>
        <p class="hint" id="cred-about">
          They replace the stored ones whole (fields left empty are not kept), are sealed before they are
          stored and never shown again.
        </p>
        {p.error ? (
          <p class="field-error" id="cred-error" role="alert">
            {p.error}
          </p>
        ) : null}
        <CredentialFields form={p.form} creds={p.creds} />
      </fieldset>
      <p>
        <button type="submit">Replace credentials and log in again</button>
      </p>
    </form>
  );
}
