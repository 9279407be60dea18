/**
 * The recorder page's TradingView alert-message builder: a GET form (works without script) whose choices
 * come back in the query; the message is rendered here by src/console/alert-builder.ts and checked with the
 * real signal parser before it is shown.
 */
import {
  type AlertOptions,
  buildAlert,
  check,
  FIXED_ACTIONS,
  SL_UNITS,
  TP_UNITS,
  TRAIL_CHOICES,
} from "../alert-builder";

const UNIT_WORDS: Record<string, string> = {
  ticks: "ticks",
  points: "points",
  percent: "percent of the fill price",
  amount: "dollars per contract",
  limitPrice: "price (limit)",
  stopPrice: "price (stop)",
};

const TRAIL_WORDS: Record<string, string> = { "": "recorder's setting", "1": "trail", "0": "fixed stop" };

function Text(p: {
  o: AlertOptions;
  k: keyof AlertOptions;
  label: string;
  problems: Record<string, string>;
  hint?: string;
}) {
  const id = `ab-${p.k}`;
  const problem = p.problems[p.k];
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input
        type="text"
        id={id}
        name={p.k}
        value={String(p.o[p.k])}
        aria-invalid={problem ? "true" : undefined}
        aria-describedby={
          [p.hint ? `${id}-h` : "", problem ? `${id}-e` : ""].filter(Boolean).join(" ") || undefined
        }
      />
      {p.hint ? (
        <p class="hint" id={`${id}-h`}>
          {p.hint}
        </p>
      ) : null}
      {problem ? (
        <p class="field-error" id={`${id}-e`}>
          {problem}
        </p>
      ) : null}
    </div>
  );
}

function Check(p: { o: AlertOptions; k: keyof AlertOptions; label: string }) {
  return (
    <label class="inline" for={`ab-${p.k}`}>
      <input type="checkbox" id={`ab-${p.k}`} name={p.k} checked={p.o[p.k] === true} />
      {p.label}
    </label>
  );
}

function Select(p: {
  o: AlertOptions;
  k: keyof AlertOptions;
  label: string;
  options: readonly string[];
  words?: Record<string, string>;
}) {
  return (
    <div class="field">
      <label for={`ab-${p.k}`}>{p.label}</label>
      <select id={`ab-${p.k}`} name={p.k}>
        {p.options.map((x) => (
          <option value={x} selected={p.o[p.k] === x}>
            {p.words?.[x] ?? x}
          </option>
        ))}
      </select>
    </div>
  );
}

export function AlertBuilder(p: { recorderId: string; webhookUrl: string; o: AlertOptions; now: Date }) {
  const { o } = p;
  const built = buildAlert(o);
  const verdict = check(built.message, p.now);
  const problems = built.problems;
  return (
    <section aria-labelledby="alert-h" id="alert">
      <h2 id="alert-h">TradingView alert message</h2>
      <p>
        In TradingView's alert, put the webhook URL under Notifications and this message in the Message box.
      </p>
      <form method="get" action={`/recorders/${p.recorderId}#alert`} class="builder">
        <input type="hidden" name="built" value="1" />
        <fieldset>
          <legend>The alert comes from</legend>
          {(["strategy", "indicator"] as const).map((k) => (
            <label class="inline" for={`ab-kind-${k}`}>
              <input type="radio" id={`ab-kind-${k}`} name="kind" value={k} checked={o.kind === k} />
              {k === "strategy"
                ? "a strategy (its orders decide the action)"
                : "an indicator (one fixed action)"}
            </label>
          ))}
        </fieldset>
        <Select o={o} k="action" label="Action (indicator alerts)" options={FIXED_ACTIONS} />
        <Text
          o={o}
          k="ticker"
          label="Ticker"
          problems={problems}
          hint="Empty: {{ticker}}, the chart's symbol."
        />
        <Text
          o={o}
          k="quantity"
          label="Quantity"
          problems={problems}
          hint="Empty: the strategy's order size, or for an indicator the recorder's quantity."
        />
        <fieldset>
          <legend>Also send</legend>
          <Check o={o} k="price" label="the price ({{close}})" />
          <Check o={o} k="time" label="the fire time ({{timenow}}), for the stale check" />
          <Check o={o} k="position" label="the strategy's position, for position sync" />
          <Check o={o} k="alertId" label="an alert id (a re-sent alert runs once)" />
        </fieldset>
        <fieldset>
          <legend>Take-profit and stop-loss for this alert (beat the recorder's)</legend>
          <div class="row">
            <Text o={o} k="tp" label="Take-profit" problems={problems} />
            <Select o={o} k="tpUnit" label="Take-profit unit" options={TP_UNITS} words={UNIT_WORDS} />
          </div>
          <div class="row">
            <Text o={o} k="sl" label="Stop-loss" problems={problems} />
            <Select o={o} k="slUnit" label="Stop-loss unit" options={SL_UNITS} words={UNIT_WORDS} />
          </div>
          <Select o={o} k="trail" label="Trailing stop" options={TRAIL_CHOICES} words={TRAIL_WORDS} />
          <div class="row">
            <Text o={o} k="trailTrigger" label="Trail starts after (ticks)" problems={problems} />
            <Text o={o} k="trailFreq" label="Trail step (ticks)" problems={problems} />
            <Text o={o} k="breakeven" label="Break-even after (ticks)" problems={problems} />
            <Text o={o} k="breakevenOffset" label="Break-even offset (ticks)" problems={problems} />
          </div>
          <div class="row">
            <Text o={o} k="riskDollars" label="Risk, dollars" problems={problems} />
            <Text o={o} k="riskPercent" label="Risk, percent of balance" problems={problems} />
          </div>
        </fieldset>
        <button type="submit" class="secondary">
          Build the message
        </button>
      </form>
      <div class="field">
        <label for="alert-message">Alert message</label>
        <textarea id="alert-message" readonly rows={5} aria-describedby="alert-verdict">
          {built.message}
        </textarea>
        <button type="button" data-copy="alert-message">
          Copy message
        </button>
      </div>
      {verdict.ok ? (
        <p id="alert-verdict" class="flash ok">
          Checked: our intake accepts this message once TradingView fills in the placeholders.
        </p>
      ) : (
        <p id="alert-verdict" class="flash error" role="alert">
          Our intake would refuse it: {verdict.message}
        </p>
      )}
      <p class="hint">
        Webhook URL for this alert: <code>{p.webhookUrl}</code>
      </p>
    </section>
  );
}
