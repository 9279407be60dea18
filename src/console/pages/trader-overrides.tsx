/**
 * A trader's overrides on its own page: the recorder form (recorder-form.tsx) in its `inherit` mode, where
 * every empty field means "the recorder's value", and the settings the trader ends up with. PATCH
 * /api/traders/:id replaces the whole `overrides` object, so the form always sends all it holds: a field
 * left empty is simply absent (the API refuses null inside overrides).
 */
import {
  effectiveSettings,
  RECORDER_SETTING_KEYS,
  type RecorderSettings,
  type TraderOverrides,
} from "../../domain/settings";
import { one } from "./recorder-fields";
import {
  errorsOf,
  type FieldErrors,
  type FormValues,
  formFromRecorder,
  OVERRIDABLE,
  RecorderForm,
  settingsBody,
  shown,
  TOGGLES,
} from "./recorder-form";

type Json = Record<string, unknown>;

/** The form's values for a trader's overrides as the API shows them (absent = empty = the recorder's). */
export function formFromOverrides(o: Json): FormValues {
  const f = formFromRecorder(o);
  delete f.name;
  delete f.enabled;
  for (const k of TOGGLES) f[k] = o[k] === true ? "on" : o[k] === false ? "off" : "";
  // 0 ticks is this trader's own "no stop", unlike an empty field.
  if (o.stopLossTicks === 0 && o.stopLoss === undefined) f.stopValue = "0";
  if (Array.isArray(o.takeProfit) && o.takeProfit.length === 0) f.tpNone = "on";
  return f;
}

/** The overrides as the API's JSON: only what is filled in (rows must be compacted first). */
export function overridesBody(f: FormValues): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(settingsBody(f))) if (OVERRIDABLE.has(k) && v !== null) out[k] = v;
  for (const k of TOGGLES) {
    if (!OVERRIDABLE.has(k)) continue;
    const v = one(f[k]);
    if (v === "") delete out[k];
    else out[k] = v === "on";
  }
  if ((out.takeProfit as unknown[]).length === 0 && one(f.tpNone) !== "on") delete out.takeProfit;
  return out;
}

/** The API's message for `overrides.takeProfit.0.ticks` goes to that target's row, like the recorder's. */
export function overrideErrors(fields: Record<string, string>): FieldErrors {
  return errorsOf(
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.replace(/^overrides\./, ""), v])),
  );
}

const SUMMARY: [string, string][] = [
  ["quantity", "Contracts per entry"],
  ["addQuantity", "Contracts per add"],
  ["maxContracts", "Most contracts held"],
  ["riskDollars", "Risk per trade, dollars"],
  ["riskPercent", "Risk per trade, percent"],
  ["takeProfit", "Take-profit"],
  ["stop", "Stop-loss"],
  ["breakEvenTicks", "Break-even after (ticks)"],
  ["trailingStop", "Trailing stop"],
  ["avgDown", "Adds"],
  ["onOpposite", "On an opposite signal"],
  ["direction", "Sides allowed"],
  ["inverse", "Inverse"],
  ["ticker", "Contract"],
  ["cooldownSeconds", "Cooldown (seconds)"],
  ["maxEntriesPerDay", "Entries per day"],
];

/** What this trader trades with: the recorder's settings with its overrides applied, and where each is from. */
function Effective(p: { recorder: Json; overrides: Json; multiplier: string }) {
  const settings = Object.fromEntries(RECORDER_SETTING_KEYS.map((k) => [k, p.recorder[k]]));
  const eff = effectiveSettings(settings as RecorderSettings, p.overrides as TraderOverrides) as Json;
  const own = (key: string) =>
    key === "stop" ? "stopLoss" in p.overrides || "stopLossTicks" in p.overrides : key in p.overrides;
  return (
    <div class="table-wrap" id="trader-effective">
      <table>
        <caption>
          Effective settings (orders are sized by these, then × the multiplier {p.multiplier})
        </caption>
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Value</th>
            <th scope="col">From</th>
          </tr>
        </thead>
        <tbody>
          {SUMMARY.map(([key, label]) => (
            <tr>
              <th scope="row">{label}</th>
              <td>{shown(key, eff)}</td>
              <td>{own(key) ? "this trader" : "recorder"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The Overrides section of a trader's page. */
export function OverridesSection(p: {
  csrf: string;
  traderId: string;
  multiplier: string;
  recorder: Json | undefined;
  overrides: Json;
  f?: FormValues | undefined;
  errors?: FieldErrors | undefined;
}) {
  return (
    <section aria-labelledby="overrides-h">
      <h2 id="overrides-h">Overrides</h2>
      <p class="hint">
        Settings of this trader's own that beat the recorder's. Leave a field empty to use the recorder's
        value (shown in its hint).
      </p>
      {p.recorder ? (
        <>
          <Effective recorder={p.recorder} overrides={p.overrides} multiplier={p.multiplier} />
          <RecorderForm
            action={`/traders/${p.traderId}/overrides`}
            csrf={p.csrf}
            f={p.f ?? formFromOverrides(p.overrides)}
            errors={p.errors ?? {}}
            submit="Update overrides"
            inherit={p.recorder}
          />
        </>
      ) : (
        <p class="muted">The recorder could not be read, so its values cannot be shown.</p>
      )}
    </section>
  );
}
