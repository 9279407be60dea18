/**
 * What the Traders pages show: a trader's open position in words and its own page (edit, delete with
 * flatten). The routes are in traders.tsx.
 */
import type { Child } from "hono/jsx";
import { CsrfField, Flash, Page } from "../layout";
import type { Account } from "./account-views";

export interface Position {
  contract: string;
  netQty: number;
  avgPrice: string | null;
}

export interface Trader {
  id: string;
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
  multiplier: string;
  enabled: boolean;
  maxDailyLoss: string | null;
  /** Its own settings that beat the recorder's (trader-overrides.tsx). */
  overrides: Record<string, unknown>;
  positions: Position[];
}

export interface World {
  traders: Trader[];
  accounts: Account[];
  recorders: { id: string; name: string }[];
}

/** One row of a bulk link's outcome. */
export interface LinkResult {
  label: string;
  ok: boolean;
  text: string;
  traderId?: string;
}

export interface LinkValues {
  recorderId: string;
  targets: string[];
  multiplier: string;
  maxDailyLoss: string;
}

export function positionText(p: Position[]): string {
  if (p.length === 0) return "flat";
  return p
    .map(
      (x) =>
        `${x.netQty > 0 ? "long" : "short"} ${Math.abs(x.netQty)} ${x.contract}${x.avgPrice ? ` @ ${x.avgPrice}` : ""}`,
    )
    .join(", ");
}

/**
 * One trader's page: its position, the edit form (multiplier, limit, on/off), its overrides (the section
 * `overrides`, from trader-overrides.tsx) and delete with flatten.
 */
export function TraderDetail(p: {
  csrf: string;
  t: Trader;
  label: string;
  banner: Child;
  ok?: string | undefined;
  error?: string | undefined;
  fields?: Record<string, string>;
  overrides?: Child;
}) {
  const { csrf, t, label } = p;
  const f = p.fields ?? {};
  return (
    <Page
      title={`Trader ${label}`}
      active="traders"
      csrf={csrf}
      banner={p.banner}
      scripts={["/assets/recorders.js"]}
    >
      <Flash ok={p.ok} error={p.error} />
      <p>
        <a href="/traders">All traders</a>
      </p>
      <p id="trader-position" data-live-on="SignalExecuted ExecutionFailed BreachFlattened">
        Open position: {positionText(t.positions)}
      </p>
      <form method="post" action={`/traders/${t.id}`}>
        <CsrfField token={csrf} />
        <label for="tr-multiplier">Multiplier</label>
        <p class="hint" id="tr-multiplier-hint">
          0.01 to 100, at most 2 decimal places.
        </p>
        <input
          id="tr-multiplier"
          name="multiplier"
          inputmode="decimal"
          value={t.multiplier}
          aria-describedby="tr-multiplier-hint"
          aria-invalid={f.multiplier ? "true" : undefined}
        />
        {f.multiplier ? <p class="field-error">{f.multiplier}</p> : null}
        <label for="tr-loss">Daily loss limit (dollars)</label>
        <p class="hint" id="tr-loss-hint">
          Empty: none of its own.
        </p>
        <input
          id="tr-loss"
          name="maxDailyLoss"
          inputmode="decimal"
          value={t.maxDailyLoss ?? ""}
          aria-describedby="tr-loss-hint"
          aria-invalid={f.maxDailyLoss ? "true" : undefined}
        />
        {f.maxDailyLoss ? <p class="field-error">{f.maxDailyLoss}</p> : null}
        <label class="inline" for="tr-enabled">
          <input type="checkbox" id="tr-enabled" name="enabled" checked={t.enabled} />
          Enabled (copies new signals)
        </label>
        <p>
          <button type="submit">Save</button>
        </p>
      </form>
      {p.overrides}
      <h2>Delete this trader</h2>
      <form method="post" action={`/traders/${t.id}/delete`} data-confirm={`Delete the trader ${label}?`}>
        <CsrfField token={csrf} />
        <label class="inline" for="tr-flatten">
          <input type="checkbox" id="tr-flatten" name="flatten" />
          Flatten first: cancel its orders and close its position
        </label>
        <p>
          <button type="submit" class="danger">
            Delete trader
          </button>
        </p>
      </form>
    </Page>
  );
}
