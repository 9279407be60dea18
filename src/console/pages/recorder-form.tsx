/**
 * The recorder settings form: every setting the API accepts (src/domain/settings.ts), grouped in fieldsets
 * with the API's own words as hints. The form's values are kept as typed (`FormValues`), turned into the
 * API's JSON (`settingsBody`: empty = not set, null on edit) and shown back with the message next to the
 * field the API named. The take-profit targets and trading windows are row editors: the rows there are,
 * plus two blank ones, so they work without script; /assets/recorders.js adds and removes rows.
 * With `inherit` (a recorder as the API shows it) the same form edits a trader's overrides: only the
 * settings a trader may override, each empty = the recorder's value (shown in its hint), yes/no as a
 * three-way choice (src/console/pages/trader-overrides.tsx turns it into the API's JSON).
 */
import type { Child } from "hono/jsx";
import { recorderSettingsSchema, TARGET_UNITS, traderOverridesSchema } from "../../domain/settings";
import { SETTINGS_TEXT } from "../../http/openapi";
import { CsrfField } from "../layout";
import {
  all,
  described,
  FieldError,
  type FieldErrors,
  type FormValues,
  Hint,
  one,
  rowIndexes,
} from "./recorder-fields";
import { Rows, TargetRow, WindowRow } from "./recorder-rows";

export type { FieldErrors, FormValues };

type Kind = "int" | "number" | "bool" | "text" | "list" | { options: readonly string[] };

interface Setting {
  key: string;
  label: string;
  kind: Kind;
}

const DEFAULTS = recorderSettingsSchema.parse({}) as Record<string, unknown>;

const GROUPS: { legend: string; id: string; settings: Setting[] }[] = [
  {
    legend: "Size",
    id: "size",
    settings: [
      { key: "quantity", label: "Contracts per entry", kind: "int" },
      { key: "addQuantity", label: "Contracts per add", kind: "int" },
      { key: "maxContracts", label: "Most contracts held", kind: "int" },
      { key: "riskDollars", label: "Risk per trade, dollars", kind: "number" },
      { key: "riskPercent", label: "Risk per trade, percent of balance", kind: "number" },
    ],
  },
  {
    legend: "Break-even and trailing stop",
    id: "stops",
    settings: [
      { key: "breakEvenTicks", label: "Break-even after (ticks of profit)", kind: "int" },
      { key: "breakEvenOffsetTicks", label: "Break-even offset (ticks)", kind: "int" },
      { key: "trailingStop", label: "Trailing stop", kind: "bool" },
      { key: "trailTriggerTicks", label: "Trail starts after (ticks of profit)", kind: "int" },
      { key: "trailStepTicks", label: "Trail step (ticks)", kind: "int" },
    ],
  },
  {
    legend: "Entries and filters",
    id: "filters",
    settings: [
      { key: "avgDown", label: "Add on same-direction signals", kind: "bool" },
      { key: "addEvery", label: "Add on every Nth signal", kind: "int" },
      { key: "onOpposite", label: "On an opposite signal", kind: { options: ["reverse", "close"] } },
      { key: "direction", label: "Sides allowed", kind: { options: ["both", "long", "short"] } },
      { key: "inverse", label: "Inverse (trade the opposite side)", kind: "bool" },
      { key: "cooldownSeconds", label: "Cooldown after an entry (seconds)", kind: "int" },
      { key: "maxEntriesPerDay", label: "Entries per trading day", kind: "int" },
    ],
  },
  {
    legend: "Signals",
    id: "signals",
    settings: [
      { key: "ticker", label: "Trade this contract instead", kind: "text" },
      { key: "maxSignalAgeSeconds", label: "Oldest entry signal (seconds)", kind: "int" },
      { key: "dedupWindowMs", label: "Duplicate window (milliseconds)", kind: "int" },
      {
        key: "positionSync",
        label: "Position sync",
        kind: { options: ["off", "skip", "flatten", "resync"] },
      },
    ],
  },
  {
    legend: "Notifications",
    id: "notify",
    settings: [
      { key: "discordChannelId", label: "Discord channel id", kind: "text" },
      { key: "discordUserIds", label: "Discord user ids (comma separated)", kind: "list" },
    ],
  },
];

const HOURS: Setting[] = [
  { key: "timeZone", label: "Time zone", kind: "text" },
  { key: "flattenAtWindowEnd", label: "Flatten every trader when the windows close", kind: "bool" },
];

const SCALARS = [...GROUPS.flatMap((g) => g.settings), ...HOURS];
const STOP_UNITS = ["ticks", "points", "dollars", "percent"] as const;
/** The settings a trader may override (src/domain/settings.ts). */
export const OVERRIDABLE: ReadonlySet<string> = new Set(Object.keys(traderOverridesSchema.shape));
/** The yes/no settings (a checkbox on the recorder, a three-way choice in a trader's overrides). */
export const TOGGLES = SCALARS.filter((s) => s.kind === "bool").map((s) => s.key);

type Json = Record<string, unknown>;

const unitWord = (u: string) =>
  u === "dollars" ? "dollars per contract" : u === "percent" ? "percent of the fill price" : u;

/** A recorder's value of a setting in words, for a trader's "empty = the recorder's" hints. */
export function shown(key: string, r: Json): string {
  if (key === "stop") {
    const stop = r.stopLoss as Record<string, number> | undefined;
    const unit = stop ? Object.keys(stop)[0] : undefined;
    if (stop && unit) return `${stop[unit]} ${unitWord(unit)}`;
    return Number(r.stopLossTicks) > 0 ? `${r.stopLossTicks} ticks` : "no stop";
  }
  if (key === "takeProfit") {
    const list = (r.takeProfit as Record<string, number>[] | undefined) ?? [];
    if (list.length === 0) return "none";
    return list
      .map((t) => {
        const unit = TARGET_UNITS.find((u) => t[u] !== undefined) ?? "ticks";
        return `${t[unit]} ${unitWord(unit)} closing ${t.trimPercent}%`;
      })
      .join(", ");
  }
  const v = r[key];
  if (v === undefined || v === null) return "not set";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return Array.isArray(v) ? v.join(", ") || "none" : String(v);
}
/** A typed number as the API's JSON number; anything else goes as typed, for the API to refuse by name. */
function num(s: string): unknown {
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s;
}

/** The blank form: every setting at its default. */
export const blankForm = (): FormValues => formFromRecorder({ ...DEFAULTS, name: "", enabled: true });

/** The form's values for a recorder as the API shows it. */
export function formFromRecorder(r: Json): FormValues {
  const f: FormValues = { name: String(r.name ?? ""), enabled: r.enabled === false ? "" : "on" };
  for (const s of SCALARS) {
    const v = r[s.key];
    if (s.kind === "bool") f[s.key] = v === true ? "on" : "";
    else if (s.kind === "list") f[s.key] = Array.isArray(v) ? v.join(", ") : "";
    else f[s.key] = v === undefined || v === null ? "" : String(v);
  }
  const stop = r.stopLoss as Record<string, number> | undefined;
  const stopUnit = stop ? (Object.keys(stop)[0] ?? "points") : "ticks";
  f.stopUnit = stopUnit;
  f.stopValue = stop ? String(stop[stopUnit]) : Number(r.stopLossTicks) > 0 ? String(r.stopLossTicks) : "";
  const targets = (r.takeProfit as Record<string, number>[] | undefined) ?? [];
  f.tpUnit = TARGET_UNITS.find((u) => targets[0]?.[u] !== undefined) ?? "ticks";
  targets.forEach((t, i) => {
    f[`tp.${i}.distance`] = String(t[f.tpUnit as string] ?? "");
    f[`tp.${i}.trim`] = String(t.trimPercent ?? "");
  });
  const windows = (r.tradingWindows as { start: string; end: string; days?: string[] }[] | undefined) ?? [];
  windows.forEach((w, i) => {
    f[`tw.${i}.start`] = w.start;
    f[`tw.${i}.end`] = w.end;
    f[`tw.${i}.days`] = w.days ?? [];
  });
  return f;
}

/** Rows with something typed in them, renumbered from 0 (the API's list indexes). */
export function compactRows(f: FormValues): FormValues {
  const out: FormValues = {};
  for (const [k, v] of Object.entries(f)) if (!/^(tp|tw)\.\d+\./.test(k)) out[k] = v;
  let n = 0;
  for (const i of rowIndexes(f, "tp")) {
    const d = one(f[`tp.${i}.distance`]);
    const t = one(f[`tp.${i}.trim`]);
    if (d === "" && t === "") continue;
    out[`tp.${n}.distance`] = d;
    out[`tp.${n++}.trim`] = t;
  }
  n = 0;
  for (const i of rowIndexes(f, "tw")) {
    const s = one(f[`tw.${i}.start`]);
    const e = one(f[`tw.${i}.end`]);
    const days = all(f[`tw.${i}.days`]);
    if (s === "" && e === "" && days.length === 0) continue;
    out[`tw.${n}.start`] = s;
    out[`tw.${n}.end`] = e;
    out[`tw.${n++}.days`] = days;
  }
  return out;
}

/** The settings as the API's JSON: an empty input is null (not set). Rows must be compacted first. */
export function settingsBody(f: FormValues): Json {
  const body: Json = {};
  for (const s of SCALARS) {
    const v = one(f[s.key]);
    if (s.kind === "bool") body[s.key] = v === "on";
    else if (v === "") body[s.key] = null;
    else if (s.kind === "int" || s.kind === "number") body[s.key] = num(v);
    else if (s.kind === "list") body[s.key] = v.split(/[\s,]+/).filter(Boolean);
    else body[s.key] = v;
  }
  const stopUnit = one(f.stopUnit) || "ticks";
  const stop = one(f.stopValue);
  body.stopLossTicks = stop !== "" && stopUnit === "ticks" ? num(stop) : null;
  body.stopLoss = stop !== "" && stopUnit !== "ticks" ? { [stopUnit]: num(stop) } : null;
  const tpUnit = one(f.tpUnit) || "ticks";
  body.takeProfit = rowIndexes(f, "tp").map((i) => {
    const t: Json = {};
    const d = one(f[`tp.${i}.distance`]);
    const trim = one(f[`tp.${i}.trim`]);
    if (d !== "") t[tpUnit] = num(d);
    if (trim !== "") t.trimPercent = num(trim);
    return t;
  });
  body.tradingWindows = rowIndexes(f, "tw").map((i) => {
    const days = all(f[`tw.${i}.days`]);
    return {
      start: one(f[`tw.${i}.start`]),
      end: one(f[`tw.${i}.end`]),
      ...(days.length ? { days } : {}),
    };
  });
  return body;
}

/** The settings of `next` that differ from `before`'s (an edit sends only what changed). */
export function changed(before: Json, next: Json): Json {
  return Object.fromEntries(
    Object.entries(next).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k])),
  );
}

/** The form control that shows the API's message for a field path ("takeProfit.1.trimPercent" -> tp.1). */
export function controlOf(path: string): string {
  const [head = "", index] = path.split(".");
  if (head === "takeProfit") return index !== undefined ? `tp.${index}` : "takeProfit";
  if (head === "tradingWindows") return index !== undefined ? `tw.${index}` : "tradingWindows";
  if (head === "stopLoss" || head === "stopLossTicks") return "stop";
  return head;
}

export function errorsOf(fields: Record<string, string>): FieldErrors {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [controlOf(k), v]));
}

function placeholder(key: string): string {
  const d = DEFAULTS[key];
  if (d === undefined) return "not set";
  return Array.isArray(d) ? "none" : `default ${String(d)}`;
}

/** The hint of a trader's override: the setting's own words and what empty means here. */
function inheritHint(key: string, r: Json): string {
  const own = SETTINGS_TEXT[key] ?? "";
  return `${own ? `${own} ` : ""}Empty: the recorder's (${shown(key, r)}).`;
}

/** A trader's yes/no override: the recorder's, yes or no. */
function ToggleChoice(p: { s: Setting; f: FormValues; errors: FieldErrors; inherit: Json }) {
  const { s, f, errors } = p;
  const v = one(f[s.key]);
  return (
    <div class="field">
      <label for={`f-${s.key}`}>{s.label}</label>
      <select
        id={`f-${s.key}`}
        name={s.key}
        aria-describedby={described(s.key, errors)}
        aria-invalid={errors[s.key] ? "true" : undefined}
      >
        <option value="" selected={v === ""}>{`recorder's (${shown(s.key, p.inherit)})`}</option>
        <option value="on" selected={v === "on"}>
          yes
        </option>
        <option value="off" selected={v === "off"}>
          no
        </option>
      </select>
      <Hint k={s.key} text={inheritHint(s.key, p.inherit)} />
      <FieldError k={s.key} errors={errors} />
    </div>
  );
}

function Control(p: { s: Setting; f: FormValues; errors: FieldErrors; inherit?: Json | undefined }) {
  const { s, f, errors, inherit } = p;
  const id = `f-${s.key}`;
  const invalid = errors[s.key] ? "true" : undefined;
  if (s.kind === "bool" && inherit) return <ToggleChoice s={s} f={f} errors={errors} inherit={inherit} />;
  if (s.kind === "bool")
    return (
      <div class="field">
        <label class="inline" for={id}>
          <input
            type="checkbox"
            id={id}
            name={s.key}
            checked={one(f[s.key]) === "on"}
            aria-describedby={described(s.key, errors)}
          />
          {s.label}
        </label>
        <Hint k={s.key} />
        <FieldError k={s.key} errors={errors} />
      </div>
    );
  return (
    <div class="field">
      <label for={id}>{s.label}</label>
      {typeof s.kind === "object" ? (
        <select id={id} name={s.key} aria-describedby={described(s.key, errors)} aria-invalid={invalid}>
          {inherit ? (
            <option
              value=""
              selected={one(f[s.key]) === ""}
            >{`recorder's (${shown(s.key, inherit)})`}</option>
          ) : null}
          {s.kind.options.map((o) => (
            <option value={o} selected={(one(f[s.key]) || (inherit ? "" : String(DEFAULTS[s.key]))) === o}>
              {o}
            </option>
          ))}
        </select>
      ) : (
        <input
          type="text"
          id={id}
          name={s.key}
          value={one(f[s.key])}
          inputmode={s.kind === "int" ? "numeric" : s.kind === "number" ? "decimal" : undefined}
          placeholder={inherit ? `recorder's: ${shown(s.key, inherit)}` : placeholder(s.key)}
          aria-describedby={described(s.key, errors)}
          aria-invalid={invalid}
        />
      )}
      <Hint k={s.key} text={inherit ? inheritHint(s.key, inherit) : undefined} />
      <FieldError k={s.key} errors={errors} />
    </div>
  );
}

function Group(p: { legend: string; id: string; children?: Child }) {
  return (
    <fieldset aria-labelledby={`g-${p.id}`}>
      <legend id={`g-${p.id}`}>{p.legend}</legend>
      {p.children}
    </fieldset>
  );
}

function StopControl(p: { f: FormValues; errors: FieldErrors; inherit?: Json | undefined }) {
  const unit = one(p.f.stopUnit) || "ticks";
  return (
    <div class="field">
      <div class="row">
        <div>
          <label for="f-stopValue">Stop-loss distance</label>
          <input
            type="text"
            inputmode="decimal"
            id="f-stopValue"
            name="stopValue"
            value={one(p.f.stopValue)}
            placeholder={p.inherit ? `recorder's: ${shown("stop", p.inherit)}` : "no stop"}
            aria-describedby={described("stop", p.errors)}
            aria-invalid={p.errors.stop ? "true" : undefined}
          />
        </div>
        <div>
          <label for="f-stopUnit">Stop-loss unit</label>
          <select id="f-stopUnit" name="stopUnit">
            {STOP_UNITS.map((u) => (
              <option value={u} selected={u === unit}>
                {unitWord(u)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <Hint
        k="stop"
        text={
          p.inherit
            ? `Ticks (stopLossTicks), or points, dollars per contract or percent of the fill price (stopLoss). Empty: the recorder's (${shown("stop", p.inherit)}); 0 ticks: no stop for this trader.`
            : "Ticks (stopLossTicks), or points, dollars per contract or percent of the fill price (stopLoss). Empty: no stop. Risk sizing and trailing need a stop."
        }
      />
      <FieldError k="stop" errors={p.errors} />
    </div>
  );
}

export interface RecorderFormProps {
  action: string;
  csrf: string;
  f: FormValues;
  errors: FieldErrors;
  submit: string;
  /** The create form also asks whether the recorder starts enabled. */
  create?: boolean;
  /**
   * A trader's overrides of this recorder (as the API shows it): only the overridable settings, empty =
   * the recorder's value, no name or trading hours.
   */
  inherit?: Json;
}

/** The whole settings form (or, with `inherit`, a trader's overrides of it). */
export function RecorderForm(p: RecorderFormProps) {
  const { f, errors, inherit } = p;
  const tpUnit = one(f.tpUnit) || "ticks";
  const groups = GROUPS.map((g) => ({
    ...g,
    settings: inherit ? g.settings.filter((s) => OVERRIDABLE.has(s.key)) : g.settings,
  })).filter((g) => g.settings.length > 0);
  const controls = (g: (typeof groups)[number]) =>
    g.settings.map((s) => <Control s={s} f={f} errors={errors} inherit={inherit} />);
  return (
    <form method="post" action={p.action} class="recorder-form" novalidate>
      <CsrfField token={p.csrf} />
      {inherit ? null : (
        <div class="field">
          <label for="f-name">Name</label>
          <input
            type="text"
            id="f-name"
            name="name"
            value={one(f.name)}
            required
            aria-describedby={described("name", errors)}
            aria-invalid={errors.name ? "true" : undefined}
          />
          <Hint k="name" />
          <FieldError k="name" errors={errors} />
        </div>
      )}
      {p.create ? (
        <div class="field">
          <label class="inline" for="f-enabled">
            <input type="checkbox" id="f-enabled" name="enabled" checked={one(f.enabled) === "on"} />
            Enabled (takes signals)
          </label>
        </div>
      ) : null}
      {groups[0] ? (
        <Group legend={groups[0].legend} id={groups[0].id}>
          {controls(groups[0])}
        </Group>
      ) : null}
      <Group legend="Take-profit and stop-loss" id="exits">
        <div class="field">
          <label for="f-tpUnit">Take-profit unit (one for every target)</label>
          <select id="f-tpUnit" name="tpUnit" aria-describedby={described("takeProfit", errors)}>
            {TARGET_UNITS.map((u) => (
              <option value={u} selected={u === tpUnit}>
                {unitWord(u)}
              </option>
            ))}
          </select>
          <Hint
            k="takeProfit"
            text={
              inherit
                ? `${SETTINGS_TEXT.takeProfit ?? ""} No targets typed: the recorder's (${shown("takeProfit", inherit)}).`
                : undefined
            }
          />
          <FieldError k="takeProfit" errors={errors} />
        </div>
        <Rows prefix="tp" f={f} errors={errors} Row={TargetRow} add="Add a target" />
        {inherit ? (
          <div class="field">
            <label class="inline" for="f-tpNone">
              <input type="checkbox" id="f-tpNone" name="tpNone" checked={one(f.tpNone) === "on"} />
              No take-profit for this trader (when no targets are typed above)
            </label>
          </div>
        ) : null}
        <StopControl f={f} errors={errors} inherit={inherit} />
      </Group>
      {groups.slice(1).map((g) => (
        <Group legend={g.legend} id={g.id}>
          {controls(g)}
        </Group>
      ))}
      {inherit ? null : (
        <Group legend="Trading hours" id="hours">
          {HOURS[0] ? <Control s={HOURS[0]} f={f} errors={errors} /> : null}
          <Hint k="tradingWindows" />
          <FieldError k="tradingWindows" errors={errors} />
          <Rows prefix="tw" f={f} errors={errors} Row={WindowRow} add="Add a window" />
          {HOURS[1] ? <Control s={HOURS[1]} f={f} errors={errors} /> : null}
        </Group>
      )}
      <button type="submit">{p.submit}</button>
    </form>
  );
}
