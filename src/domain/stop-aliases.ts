/**
 * Per-alert break-even and trailing-stop overrides, in the spellings users already paste from
 * PickMyTrade / TradersPost style templates (reference/predecessor.md section 1):
 *
 * | alert field | meaning | setting it overrides |
 * |---|---|---|
 * | `trail` | 1/true trails the stop, 0/false keeps it fixed | `trailingStop` |
 * | `trail_trigger` | ticks of profit before trailing starts (0 = at once) | `trailTriggerTicks` |
 * | `trail_freq` | the trail moves in whole steps of this many ticks (at least 1) | `trailStepTicks` |
 * | `breakeven` | ticks of profit that move the stop to break-even (0 = off) | `breakEvenTicks` |
 * | `breakeven_offset` | ticks beyond the entry where the break-even stop goes | `breakEvenOffsetTicks` |
 *
 * Numbers arrive as JSON numbers or digit strings ("8"); anything else is refused with the field's name.
 */
import type { StopRules } from "./stop-rules";

export type StopOverrides = Partial<StopRules>;

const FIELDS = {
  trail_trigger: { key: "trailTriggerTicks", min: 0 },
  trail_freq: { key: "trailStepTicks", min: 1 },
  breakeven: { key: "breakEvenTicks", min: 0 },
  breakeven_offset: { key: "breakEvenOffsetTicks", min: 0 },
} as const;

const MAX_TICKS = 100_000;

function wholeTicks(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  if (typeof v === "string" && /^\s*\d{1,9}\s*$/.test(v)) return Number(v.trim());
  return undefined;
}

function onOff(v: unknown): boolean | undefined {
  if (v === true || v === 1 || v === "1" || v === "true") return true;
  if (v === false || v === 0 || v === "0" || v === "false") return false;
  return undefined;
}

/**
 * The alert's stop-management overrides, or a message completing nothing (a whole sentence) when one is
 * malformed. Fields that are absent stay absent: the recorder's or trader's value applies.
 */
export function readStopAliases(
  body: Record<string, unknown>,
): { ok: true; overrides: StopOverrides } | { ok: false; message: string } {
  const overrides: StopOverrides = {};
  if (body.trail !== undefined) {
    const on = onOff(body.trail);
    if (on === undefined)
      return { ok: false, message: 'Field "trail" must be 1 (trail the stop) or 0 (fixed stop).' };
    overrides.trailingStop = on;
  }
  for (const [field, { key, min }] of Object.entries(FIELDS)) {
    const raw = body[field];
    if (raw === undefined) continue;
    const n = wholeTicks(raw);
    if (n === undefined || n < min || n > MAX_TICKS)
      return {
        ok: false,
        message: `Field "${field}" must be a whole number of ticks from ${min} to ${MAX_TICKS}, like 8.`,
      };
    overrides[key] = n;
  }
  return { ok: true, overrides };
}

/** The overrides back in their alert spelling, for storing a signal and reading it back. */
export function stopAliasesToJson(o: StopOverrides | undefined): Record<string, unknown> {
  if (!o) return {};
  return {
    trail: o.trailingStop === undefined ? undefined : o.trailingStop ? 1 : 0,
    trail_trigger: o.trailTriggerTicks,
    trail_freq: o.trailStepTicks,
    breakeven: o.breakEvenTicks,
    breakeven_offset: o.breakEvenOffsetTicks,
  };
}
