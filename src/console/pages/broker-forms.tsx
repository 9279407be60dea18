/**
 * The "add a broker login" form, one per broker: its credential fields as the broker's credential schema
 * names them (src/brokers/<broker>/config.ts), with labels and hints. Secret fields are password inputs and
 * are never written back into a page, not even after the API refused the form.
 */
import { CsrfField } from "../layout";

export interface CredField {
  name: string;
  label: string;
  hint?: string;
  /** A password input, never echoed back. */
  secret?: boolean;
  required?: boolean;
  /** Sent as a JSON number when it reads as one (the schema wants a number). */
  numeric?: boolean;
  options?: { value: string; label: string }[];
}

export interface BrokerForm {
  broker: "paper" | "tradovate" | "ninjatrader" | "projectx" | "webull";
  label: string;
  about: string;
  environments: boolean;
  fields: CredField[];
}

const tradovateFields: CredField[] = [
  { name: "username", label: "Username", hint: "Your broker login name.", required: false },
  { name: "password", label: "Password", secret: true },
  { name: "appId", label: "App id", hint: "The API application's name (API Access page); optional." },
  { name: "appVersion", label: "App version", hint: "Optional, e.g. 1.0." },
  { name: "cid", label: "API key id (cid)", hint: "With the API secret; both or neither." },
  { name: "sec", label: "API secret (sec)", secret: true, hint: "With the API key id; both or neither." },
  {
    name: "deviceId",
    label: "Device id",
    hint: "Optional: a stable one is derived from the username. Live logins approve each device once.",
  },
  {
    name: "accessToken",
    label: "OAuth access token",
    secret: true,
    hint: "Instead of username and password; leave those empty then.",
  },
];

export const BROKER_FORMS: BrokerForm[] = [
  {
    broker: "paper",
    label: "Paper",
    about: "Simulated trading inside the relay: no broker account needed, one sub-account per login.",
    environments: false,
    fields: [
      {
        name: "startingBalance",
        label: "Starting balance (dollars)",
        hint: "Optional; 50000 when empty.",
        numeric: true,
      },
    ],
  },
  {
    broker: "tradovate",
    label: "Tradovate",
    about: "A Tradovate login; every account under it is discovered as a sub-account.",
    environments: true,
    fields: tradovateFields,
  },
  {
    broker: "ninjatrader",
    label: "NinjaTrader",
    about: "NinjaTrader Brokerage logins use the Tradovate API with the same fields.",
    environments: true,
    fields: tradovateFields,
  },
  {
    broker: "projectx",
    label: "ProjectX / TopstepX",
    about: "TopstepX and other ProjectX prop firms: the user name and an API key from the firm's settings.",
    environments: true,
    fields: [
      { name: "userName", label: "User name", required: true },
      { name: "apiKey", label: "API key", secret: true, required: true },
      {
        name: "firmHost",
        label: "Firm API host",
        hint: "Only for firms other than TopstepX, e.g. api.firm.projectx.com.",
      },
      {
        name: "firmRtcHost",
        label: "Firm real-time host",
        hint: "Needed when the API host does not start with api.",
      },
      {
        name: "bracketMode",
        label: "Bracket mode",
        hint: "How take-profit and stop are placed; detect asks the firm.",
        options: [
          { value: "", label: "Relay default" },
          { value: "detect", label: "detect" },
          { value: "positionBrackets", label: "positionBrackets" },
          { value: "autoOco", label: "autoOco" },
        ],
      },
    ],
  },
  {
    broker: "webull",
    label: "Webull",
    about: "A Webull OpenAPI app: its key and secret, and the 2FA token approved in the Webull app.",
    environments: true,
    fields: [
      { name: "appKey", label: "App key", secret: true, required: true },
      { name: "appSecret", label: "App secret", secret: true, required: true },
      { name: "accessToken", label: "2FA access token", secret: true, hint: "Approved in the Webull app." },
      {
        name: "accountId",
        label: "Webull account id",
        hint: "Optional: when empty every account of the app is listed.",
      },
    ],
  },
];

export function brokerForm(broker: unknown): BrokerForm {
  return BROKER_FORMS.find((f) => f.broker === broker) ?? (BROKER_FORMS[0] as BrokerForm);
}

/** The credentials object the API expects, from the form's `cred.<field>` inputs; empty fields left out. */
export function credentialsFrom(form: BrokerForm, body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of form.fields) {
    const raw = body[`cred.${f.name}`];
    const value = typeof raw === "string" ? (f.secret ? raw : raw.trim()) : "";
    if (value === "") continue;
    out[f.name] = f.numeric && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return out;
}

export interface AddValues {
  name?: string;
  environment?: string;
  /** Non-secret credential fields only. */
  creds?: Record<string, string>;
}

/** What the user typed that may be shown again: never a secret field. */
export function echoable(form: BrokerForm, body: Record<string, unknown>): AddValues {
  const creds: Record<string, string> = {};
  for (const f of form.fields) {
    const raw = body[`cred.${f.name}`];
    if (!f.secret && typeof raw === "string") creds[f.name] = raw;
  }
  return {
    name: typeof body.name === "string" ? body.name : "",
    environment: typeof body.environment === "string" ? body.environment : "demo",
    creds,
  };
}

export function AddLoginForm(p: {
  form: BrokerForm;
  csrf: string;
  values?: AddValues;
  fields?: Record<string, string>;
}) {
  const { form, values = {}, fields = {} } = p;
  const credError = fields.credentials;
  return (
    <form method="post" action={`/accounts/new?broker=${form.broker}`} autocomplete="off" class="add-login">
      <CsrfField token={p.csrf} />
      <input type="hidden" name="broker" value={form.broker} />
      <p class="hint">{form.about}</p>
      <label for="login-name">Name</label>
      <p class="hint" id="login-name-hint">
        A name you recognise the login by, e.g. "Apex eval 3".
      </p>
      <input
        id="login-name"
        name="name"
        required
        maxlength={100}
        value={values.name ?? ""}
        aria-describedby={fields.name ? "login-name-hint login-name-error" : "login-name-hint"}
        aria-invalid={fields.name ? "true" : undefined}
      />
      {fields.name ? (
        <p class="field-error" id="login-name-error">
          {fields.name}
        </p>
      ) : null}
      {form.environments ? (
        <>
          <label for="login-env">Environment</label>
          <select id="login-env" name="environment">
            {["demo", "live"].map((e) => (
              <option value={e} selected={(values.environment ?? "demo") === e}>
                {e}
              </option>
            ))}
          </select>
        </>
      ) : null}
      <fieldset aria-describedby={credError ? "cred-error" : undefined}>
        <legend>{form.label} credentials</legend>
        <p class="hint">Sealed before they are stored and never shown again.</p>
        {credError ? (
          <p class="field-error" id="cred-error" role="alert">
            {credError}
          </p>
        ) : null}
        <CredentialFields form={form} creds={values.creds} />
      </fieldset>
      <p>
        <button type="submit">Add login and connect</button>
      </p>
    </form>
  );
}

/** The broker's credential inputs (`cred.<field>`); a secret field is always rendered empty. */
export function CredentialFields(p: { form: BrokerForm; creds?: Record<string, string> | undefined }) {
  const { form } = p;
  const values = { creds: p.creds };
  return (
    <>
      {form.fields.map((f) => {
        const id = `cred-${f.name}`;
        const hint = f.hint ? `${id}-hint` : undefined;
        return (
          <>
            <label for={id}>
              {f.label}
              {f.required ? "" : " (optional)"}
            </label>
            {f.hint ? (
              <p class="hint" id={hint}>
                {f.hint}
              </p>
            ) : null}
            {f.options ? (
              <select id={id} name={`cred.${f.name}`} aria-describedby={hint}>
                {f.options.map((o) => (
                  <option value={o.value} selected={values.creds?.[f.name] === o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                name={`cred.${f.name}`}
                type={f.secret ? "password" : "text"}
                inputmode={f.numeric ? "decimal" : undefined}
                autocomplete="off"
                required={f.required}
                aria-describedby={hint}
                value={f.secret ? "" : (values.creds?.[f.name] ?? "")}
              />
            )}
          </>
        );
      })}
    </>
  );
}
