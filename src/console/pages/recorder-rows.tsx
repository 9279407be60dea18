/**
 * The row editors of the recorder form: take-profit targets and trading windows. Server-rendered with the
 * rows there are plus two blank ones (works without script), and a <template> that /assets/recorders.js
 * clones for "Add" (__i__ becomes the next index, __n__ the row's number in its labels).
 */
import type { Child } from "hono/jsx";
import { DAYS } from "../../domain/settings";
import {
  all,
  described,
  FieldError,
  type FieldErrors,
  type FormValues,
  one,
  rowIndexes,
} from "./recorder-fields";

const DAY_NAMES: Record<string, string> = {
  sun: "Sun",
  mon: "Mon",
  tue: "Tue",
  wed: "Wed",
  thu: "Thu",
  fri: "Fri",
  sat: "Sat",
};

/** A row's name for its labels: "Target 2" (index + 1; the script's template has __n__ for the number). */
const rowName = (what: string, i: number | string) => `${what} ${typeof i === "number" ? i + 1 : "__n__"}`;

export function TargetRow(p: { i: number | string; f: FormValues; errors: FieldErrors }) {
  const { i, f, errors } = p;
  const k = `tp.${i}`;
  const name = rowName("Target", i);
  return (
    <div class="editor-row" data-row>
      <div class="field">
        <label for={`f-tp-${i}-distance`}>{`${name}: distance`}</label>
        <input
          type="text"
          inputmode="decimal"
          id={`f-tp-${i}-distance`}
          name={`${k}.distance`}
          value={one(f[`${k}.distance`])}
          aria-describedby={described(k, errors, false)}
        />
      </div>
      <div class="field">
        <label for={`f-tp-${i}-trim`}>{`${name}: closes % of the position`}</label>
        <input
          type="text"
          inputmode="decimal"
          id={`f-tp-${i}-trim`}
          name={`${k}.trim`}
          value={one(f[`${k}.trim`])}
          aria-describedby={described(k, errors, false)}
        />
      </div>
      <button
        type="button"
        class="secondary"
        data-remove-row
        hidden
        aria-label={`Remove ${name.toLowerCase()}`}
      >
        Remove
      </button>
      <FieldError k={k} errors={errors} />
    </div>
  );
}

export function WindowRow(p: { i: number | string; f: FormValues; errors: FieldErrors }) {
  const { i, f, errors } = p;
  const k = `tw.${i}`;
  const days = all(f[`${k}.days`]);
  const name = rowName("Window", i);
  return (
    <div class="editor-row" data-row>
      <div class="field">
        <label for={`f-tw-${i}-start`}>{`${name}: start (HH:MM)`}</label>
        <input
          type="text"
          id={`f-tw-${i}-start`}
          name={`${k}.start`}
          value={one(f[`${k}.start`])}
          placeholder="08:30"
          aria-describedby={described(k, errors, false)}
        />
      </div>
      <div class="field">
        <label for={`f-tw-${i}-end`}>{`${name}: end (HH:MM)`}</label>
        <input
          type="text"
          id={`f-tw-${i}-end`}
          name={`${k}.end`}
          value={one(f[`${k}.end`])}
          placeholder="15:00"
          aria-describedby={described(k, errors, false)}
        />
      </div>
      <fieldset class="days">
        <legend>{`${name}: days (none ticked: every day)`}</legend>
        {DAYS.map((d) => (
          <label class="inline" for={`f-tw-${i}-${d}`}>
            <input
              type="checkbox"
              id={`f-tw-${i}-${d}`}
              name={`${k}.days`}
              value={d}
              checked={days.includes(d)}
            />
            {DAY_NAMES[d]}
          </label>
        ))}
      </fieldset>
      <button
        type="button"
        class="secondary"
        data-remove-row
        hidden
        aria-label={`Remove ${name.toLowerCase()}`}
      >
        Remove
      </button>
      <FieldError k={k} errors={errors} />
    </div>
  );
}

/** A row editor: the rows typed so far plus two blank ones, and a template for the script's "Add". */
export function Rows(p: {
  prefix: "tp" | "tw";
  f: FormValues;
  errors: FieldErrors;
  Row: (q: { i: number | string; f: FormValues; errors: FieldErrors }) => Child;
  add: string;
}) {
  const present = rowIndexes(p.f, p.prefix);
  const next = present.length ? Math.max(...present) + 1 : 0;
  const rows = [...present, next, next + 1];
  return (
    <div class="editor" data-editor={p.prefix} data-next={String(next + 2)}>
      <div data-rows>{rows.map((i) => p.Row({ i, f: p.f, errors: p.errors }))}</div>
      <template>{p.Row({ i: "__i__", f: {}, errors: {} })}</template>
      <button type="button" class="secondary" data-add-row hidden>
        {p.add}
      </button>
    </div>
  );
}
