/**
 * The TradingView alert-message builder: from a few choices (strategy or indicator, a fixed action, optional
 * quantity, stop/target and stop-management overrides) the JSON message our intake accepts, with
 * TradingView's placeholders where TradingView fills in the value. Pure: the recorder page renders it on the
 * server from a GET form, and `check` runs the real signal parser on it with sample values.
 *
 * @example
 *   const built = buildAlert(readAlertOptions({ kind: "strategy" }));
 *   built.message // {"ticker":"{{ticker}}","action":"{{strategy.order.action}}",...}
 */
import { normalizeSignal } from "../domain/signal";

export const ALERT_KINDS = ["strategy", "indicator"] as const;
export const FIXED_ACTIONS = ["buy", "sell", "exit", "close", "flat", "cancel", "add"] as const;
export const TP_UNITS = ["ticks", "points", "percent", "amount", "limitPrice"] as const;
export const SL_UNITS = ["ticks", "points", "percent", "amount", "stopPrice"] as const;
export const TRAIL_CHOICES = ["", "1", "0"] as const;

export type AlertKind = (typeof ALERT_KINDS)[number];

/** What the builder's form sends (GET query), every value as typed. */
export interface AlertOptions {
  kind: AlertKind;
  /** The indicator's fixed action. */
  action: (typeof FIXED_ACTIONS)[number];
  /** Empty: {{ticker}}; else a fixed ticker. */
  ticker: string;
  /** Empty: the strategy's {{strategy.order.contracts}}, or for an indicator the recorder's quantity. */
  quantity: string;
  price: boolean;
  time: boolean;
  /** Strategy only: prevMarketPosition and positionSize for the position-sync guard. */
  position: boolean;
  /** An alert id, so a re-sent alert runs once (strategy: order id and fire time). */
  alertId: boolean;
  tpUnit: (typeof TP_UNITS)[number];
  tp: string;
  slUnit: (typeof SL_UNITS)[number];
  sl: string;
  trail: (typeof TRAIL_CHOICES)[number];
  trailTrigger: string;
  trailFreq: string;
  breakeven: string;
  breakevenOffset: string;
  riskDollars: string;
  riskPercent: string;
}

export const DEFAULT_ALERT: AlertOptions = {
  kind: "strategy",
  action: "buy",
  ticker: "",
  quantity: "",
  price: true,
  time: true,
  position: true,
  alertId: false,
  tpUnit: "ticks",
  tp: "",
  slUnit: "ticks",
  sl: "",
  trail: "",
  trailTrigger: "",
  trailFreq: "",
  breakeven: "",
  breakevenOffset: "",
  riskDollars: "",
  riskPercent: "",
};

const pick = <T extends string>(list: readonly T[], v: string | undefined, fallback: T): T =>
  list.includes(v as T) ? (v as T) : fallback;

/**
 * The options from a query. `q.built` marks a submitted builder form: its unticked checkboxes are then off
 * (a browser sends nothing for them); without it the defaults apply.
 */
export function readAlertOptions(q: Record<string, string | undefined>): AlertOptions {
  const d = DEFAULT_ALERT;
  const text = (k: keyof AlertOptions) => (q[k] ?? "").trim().slice(0, 60);
  const on = (k: keyof AlertOptions, fallback: boolean) => (q.built ? q[k] === "on" : fallback);
  return {
    kind: pick(ALERT_KINDS, q.kind, d.kind),
    action: pick(FIXED_ACTIONS, q.action, d.action),
    ticker: text("ticker"),
    quantity: text("quantity"),
    price: on("price", d.price),
    time: on("time", d.time),
    position: on("position", d.position),
    alertId: on("alertId", d.alertId),
    tpUnit: pick(TP_UNITS, q.tpUnit, d.tpUnit),
    tp: text("tp"),
    slUnit: pick(SL_UNITS, q.slUnit, d.slUnit),
    sl: text("sl"),
    trail: pick(TRAIL_CHOICES, q.trail, d.trail),
    trailTrigger: text("trailTrigger"),
    trailFreq: text("trailFreq"),
    breakeven: text("breakeven"),
    breakevenOffset: text("breakevenOffset"),
    riskDollars: text("riskDollars"),
    riskPercent: text("riskPercent"),
  };
}

const PLACEHOLDER = /^\{\{[\w.]+\}\}$/;
const PLAIN = /^\d+(\.\d+)?$/;
const WHOLE = /^\d+$/;

export interface BuiltAlert {
  /** The message to paste into TradingView's alert, one line of JSON. */
  message: string;
  /** Builder fields typed in a form the intake would refuse: field -> why. The message leaves them out. */
  problems: Record<string, string>;
}

/** The alert message for these options. Values are always quoted: the intake reads quoted numbers exactly. */
export function buildAlert(o: AlertOptions): BuiltAlert {
  const problems: Record<string, string> = {};
  const strategy = o.kind === "strategy";
  const m: Record<string, unknown> = {};
  const value = (
    field: keyof AlertOptions,
    raw: string,
    shape: RegExp,
    words: string,
  ): string | undefined => {
    if (raw === "") return undefined;
    if (shape.test(raw) || PLACEHOLDER.test(raw)) return raw;
    problems[field] = `must be ${words} or a TradingView placeholder such as {{plot_0}}`;
    return undefined;
  };

  m.ticker = o.ticker === "" ? "{{ticker}}" : o.ticker;
  m.action = strategy ? "{{strategy.order.action}}" : o.action;
  const qty = value("quantity", o.quantity, WHOLE, "a whole number of contracts, like 2");
  if (qty !== undefined) m.quantity = qty;
  else if (strategy && !problems.quantity) m.quantity = "{{strategy.order.contracts}}";
  if (o.price) m.price = "{{close}}";
  if (o.time) m.time = "{{timenow}}";
  // A strategy's exit arrives as buy/sell with the position after it flat: without the sentiment an exit
  // would read as a reversal, so a strategy's message always carries it.
  if (strategy) m.sentiment = "{{strategy.market_position}}";
  if (strategy && o.position) {
    m.prevMarketPosition = "{{strategy.prev_market_position}}";
    m.positionSize = "{{strategy.position_size}}";
  }
  if (o.alertId) m.id = strategy ? "{{strategy.order.id}} {{timenow}}" : `${o.action} {{ticker}} {{timenow}}`;
  if (strategy) m.comment = "{{strategy.order.id}}";

  const distance = (field: "tp" | "sl", raw: string, unit: string) =>
    unit === "ticks"
      ? value(field, raw, WHOLE, "a whole number of ticks, like 8")
      : value(field, raw, PLAIN, "a number written plainly, like 12.5");
  const tp = distance("tp", o.tp, o.tpUnit);
  if (tp !== undefined) m.takeProfit = { [o.tpUnit]: tp };
  const sl = distance("sl", o.sl, o.slUnit);
  if (sl !== undefined) m.stopLoss = { [o.slUnit]: sl };

  if (o.trail !== "") m.trail = o.trail;
  const ticks = "a whole number of ticks, like 8";
  const stops: [keyof AlertOptions, string][] = [
    ["trailTrigger", "trail_trigger"],
    ["trailFreq", "trail_freq"],
    ["breakeven", "breakeven"],
    ["breakevenOffset", "breakeven_offset"],
  ];
  for (const [field, key] of stops) {
    const v = value(field, String(o[field]), WHOLE, ticks);
    if (v !== undefined) m[key] = v;
  }
  if (o.riskDollars !== "" && o.riskPercent !== "")
    problems.riskPercent = "set either the dollars or the percent to risk, not both";
  else {
    const dollars = value("riskDollars", o.riskDollars, PLAIN, "dollars, like 150");
    if (dollars !== undefined) m.risk_dollars = dollars;
    const percent = value("riskPercent", o.riskPercent, PLAIN, "a percent, like 1.5");
    if (percent !== undefined) m.risk_percentage = percent;
  }
  return { message: JSON.stringify(m), problems };
}

/** What TradingView puts for each placeholder the builder uses, as a sample (the time: when checked). */
export function samples(now: Date): Record<string, string> {
  return {
    ticker: "MNQ1!",
    close: "21000.25",
    timenow: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    "strategy.order.action": "buy",
    "strategy.order.contracts": "1",
    "strategy.order.id": "Long",
    "strategy.market_position": "long",
    "strategy.prev_market_position": "flat",
    "strategy.position_size": "1",
  };
}

/** The message as TradingView would send it: each known placeholder replaced by its sample; others left. */
export function substitute(message: string, values: Record<string, string>): string {
  return message.replace(/\{\{([\w.]+)\}\}/g, (all, name: string) => values[name] ?? all);
}

/**
 * Whether our intake accepts the message once TradingView filled it in (sample values; a placeholder of
 * your own, such as {{plot_0}}, as 10). The verdict is the real parser's, in its words.
 */
export function check(message: string, now: Date): { ok: true } | { ok: false; message: string } {
  const filled = substitute(message, samples(now)).replace(/\{\{[\w.]+\}\}/g, "10");
  const r = normalizeSignal(JSON.parse(filled));
  return r.ok ? { ok: true } : { ok: false, message: r.message };
}
