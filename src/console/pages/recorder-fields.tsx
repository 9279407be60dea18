/**
 * Pieces shared by the recorder form and its row editors: the form's values as typed, the API's messages per
 * control, and how a control names its hint and its error for screen readers.
 */
import { SETTINGS_TEXT } from "../../http/openapi";
import { FieldError as Shared } from "../layout";

/** What the form holds, as typed: input name -> value (checkbox groups: the ticked values). */
export type FormValues = Record<string, string | string[]>;
/** Control key -> the API's message for it. */
export type FieldErrors = Record<string, string>;

export const one = (v: string | string[] | undefined): string =>
  (Array.isArray(v) ? (v[0] ?? "") : (v ?? "")).trim();
export const all = (v: string | string[] | undefined): string[] => (Array.isArray(v) ? v : v ? [v] : []);

/** The row indexes present in the form for `prefix` (tp or tw), in order. */
export function rowIndexes(f: FormValues, prefix: string): number[] {
  const found = new Set<number>();
  for (const k of Object.keys(f)) {
    const m = new RegExp(`^${prefix}\\.(\\d+)\\.`).exec(k);
    if (m?.[1] && m[1].length < 4) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/** Accessible description ids for a control: its hint and, when it has one, its error. */
export function described(key: string, errors: FieldErrors, hint = true): string | undefined {
  const ids = [hint ? `h-${key}` : "", errors[key] ? `e-${key}` : ""].filter(Boolean).join(" ");
  return ids || undefined;
}

export function FieldError(p: { k: string; errors: FieldErrors }) {
  return <Shared id={`e-${p.k}`} message={p.errors[p.k]} />;
}

export function Hint(p: { k: string; text?: string | undefined }) {
  const text = p.text ?? SETTINGS_TEXT[p.k];
  return text ? (
    <p class="hint" id={`h-${p.k}`}>
      {text}
    </p>
  ) : null;
}
