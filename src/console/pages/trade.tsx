/**
 * Manual trade: buy, sell or close a contract on one trader of a recorder, or on all of its traders with
 * their multipliers, through POST /api/manual-trades (a signal like any other: the same planner, executor,
 * filters, loss limits and kill switch). Three steps, all plain forms: choose the recorder (GET), fill in
 * the trade, review exactly what will be sent and confirm. The form carries a requestId made when it is
 * rendered, so sending it twice (a double click, a resubmit) is the same trade, never a second one.
 */
import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { banner } from "../alerts";
import type { ApiCall, ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { CsrfField, FieldError, Flash, Page } from "../layout";

interface Recorder {
  id: string;
  name: string;
  enabled: boolean;
  quantity: number;
  ticker?: string | null;
}
interface Trader {
  id: string;
  accountId: string;
  brokerAccountId: string;
  multiplier: string;
  enabled: boolean;
}
interface Account {
  id: string;
  name: string;
  broker: string;
}

const SIDES = [
  { value: "buy", label: "Buy" },
  { value: "sell", label: "Sell" },
  { value: "close", label: "Close the position" },
] as const;

/** What the trade form holds, as typed (strings), carried from step to step. */
interface TradeForm {
  requestId: string;
  recorderId: string;
  ticker: string;
  action: string;
  quantity: string;
  who: "all" | "one";
  traderId: string;
}

interface Loaded {
  recorders: Recorder[];
  recorder?: Recorder | undefined;
  traders: (Trader & { label: string })[];
}

async function load(api: ApiCall, recorderId: string | undefined): Promise<Loaded> {
  const recorders = await api<{ recorders: Recorder[] }>("GET", "/recorders");
  const list = recorders.ok ? recorders.body.recorders : [];
  const recorder = list.find((r) => r.id === recorderId);
  if (!recorder) return { recorders: list, traders: [] };
  const [traders, accounts] = await Promise.all([
    api<{ traders: Trader[] }>("GET", `/traders?recorderId=${encodeURIComponent(recorder.id)}`),
    api<{ accounts: Account[] }>("GET", "/accounts"),
  ]);
  const byId = new Map((accounts.ok ? accounts.body.accounts : []).map((a) => [a.id, a]));
  return {
    recorders: list,
    recorder,
    traders: (traders.ok ? traders.body.traders : [])
      .filter((t) => t.enabled)
      .map((t) => ({
        ...t,
        label: `${byId.get(t.accountId)?.name ?? "account"} · ${t.brokerAccountId} (×${t.multiplier})`,
      })),
  };
}

function readForm(body: Record<string, unknown>): TradeForm {
  const text = (k: string) => (typeof body[k] === "string" ? (body[k] as string).trim() : "");
  return {
    requestId: text("requestId"),
    recorderId: text("recorderId"),
    ticker: text("ticker"),
    action: text("action"),
    quantity: text("quantity"),
    who: text("who") === "one" ? "one" : "all",
    traderId: text("traderId"),
  };
}

/** The sentence the review shows and the confirmation dialog asks. */
function describe(f: TradeForm, ctx: Loaded): string {
  const side = f.action.toUpperCase();
  const size =
    f.action === "close"
      ? " the whole position in"
      : f.quantity
        ? ` ${f.quantity}`
        : ` ${ctx.recorder?.quantity ?? ""} (recorder's quantity)`;
  const who =
    f.who === "one"
      ? (ctx.traders.find((t) => t.id === f.traderId)?.label ?? "the chosen trader")
      : `all ${ctx.traders.length} followers of ${ctx.recorder?.name ?? "the recorder"} with their multipliers`;
  return `${side}${size} ${f.ticker.toUpperCase()} on ${who}`;
}

function Hidden(p: { f: TradeForm }) {
  return (
    <>
      <input type="hidden" name="requestId" value={p.f.requestId} />
      <input type="hidden" name="recorderId" value={p.f.recorderId} />
    </>
  );
}

function TradeFields(p: { f: TradeForm; ctx: Loaded; csrf: string; errors: Record<string, string> }) {
  const { f, ctx, errors } = p;
  return (
    <form method="post" action="/trade/review" class="trade-form">
      <CsrfField token={p.csrf} />
      <Hidden f={f} />
      <label for="ticker">Contract</label>
      <p class="hint" id="ticker-hint">
        As in an alert, e.g. MNQ1! (front month) or MNQZ2026.
        {ctx.recorder?.ticker ? ` The recorder trades ${ctx.recorder.ticker} whatever is typed here.` : ""}
      </p>
      <input
        id="ticker"
        name="ticker"
        required
        maxlength={40}
        value={f.ticker}
        aria-describedby={errors.ticker ? "ticker-hint ticker-error" : "ticker-hint"}
        aria-invalid={errors.ticker ? "true" : undefined}
      />
      <FieldError id="ticker-error" message={errors.ticker} />
      <fieldset>
        <legend>Side</legend>
        {SIDES.map((s) => (
          <label class="inline" for={`side-${s.value}`}>
            <input
              type="radio"
              id={`side-${s.value}`}
              name="action"
              value={s.value}
              required
              checked={f.action === s.value}
            />
            {s.label}
          </label>
        ))}
        <FieldError id="action-error" message={errors.action} />
      </fieldset>
      <label for="quantity">Quantity (contracts)</label>
      <p class="hint" id="quantity-hint">
        Before each trader's multiplier. Empty: the recorder's quantity ({ctx.recorder?.quantity ?? "–"}). A
        close closes the whole position.
      </p>
      <input
        id="quantity"
        name="quantity"
        type="number"
        inputmode="numeric"
        min={1}
        step={1}
        value={f.quantity}
        aria-describedby={errors.quantity ? "quantity-hint quantity-error" : "quantity-hint"}
        aria-invalid={errors.quantity ? "true" : undefined}
      />
      <FieldError id="quantity-error" message={errors.quantity} />
      <fieldset>
        <legend>Who trades</legend>
        <label class="inline" for="who-all">
          <input type="radio" id="who-all" name="who" value="all" checked={f.who === "all"} />
          All followers with their multipliers ({ctx.traders.length})
        </label>
        <label class="inline" for="who-one">
          <input type="radio" id="who-one" name="who" value="one" checked={f.who === "one"} />
          This trader only
        </label>
        <label for="trader">Trader</label>
        <select id="trader" name="traderId" aria-describedby={errors.traderIds ? "trader-error" : undefined}>
          {ctx.traders.map((t) => (
            <option value={t.id} selected={t.id === f.traderId}>
              {t.label}
            </option>
          ))}
        </select>
        <FieldError id="trader-error" message={errors.traderIds} />
      </fieldset>
      <p>
        <button type="submit">Review</button>
      </p>
    </form>
  );
}

export function tradePages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();

  const render = async (
    c: Context<ConsoleEnv>,
    ctx: Loaded,
    f: TradeForm,
    o: { errors?: Record<string, string>; error?: string; status?: 200 | 400 | 409 | 422 | 503 } = {},
  ) =>
    c.html(
      <Page title="Manual trade" active="trade" csrf={c.get("session").csrf} banner={await banner(k.api)}>
        <Flash ok={c.req.query("ok")} error={o.error ?? c.req.query("error")} />
        <p>
          A manual trade is a signal like an alert's: the recorder's settings, each trader's filters and loss
          limits and the kill switch apply (entries are refused while it is on; a close always runs).
        </p>
        <form method="get" action="/trade" class="row">
          <div>
            <label for="recorder">Recorder</label>
            <select id="recorder" name="recorderId" required>
              {ctx.recorders.map((r) => (
                <option value={r.id} selected={r.id === ctx.recorder?.id}>
                  {r.name}
                  {r.enabled ? "" : " (disabled)"}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="secondary">
            Choose
          </button>
        </form>
        {ctx.recorder ? (
          ctx.traders.length === 0 ? (
            <p class="muted">This recorder has no enabled trader: add one under Traders.</p>
          ) : (
            <TradeFields f={f} ctx={ctx} csrf={c.get("session").csrf} errors={o.errors ?? {}} />
          )
        ) : (
          <p class="muted">Choose the recorder whose traders trade.</p>
        )}
      </Page>,
      o.status ?? 200,
    );

  const blank = (recorderId: string): TradeForm => ({
    requestId: randomUUID(),
    recorderId,
    ticker: "",
    action: "buy",
    quantity: "",
    who: "all",
    traderId: "",
  });

  app.get("/trade", async (c) => {
    const ctx = await load(k.api, c.req.query("recorderId"));
    return render(c, ctx, blank(ctx.recorder?.id ?? ""));
  });

  app.post("/trade/review", async (c) => {
    const f = readForm(await c.req.parseBody());
    const ctx = await load(k.api, f.recorderId);
    if (!ctx.recorder) return render(c, ctx, blank(""), { error: "Choose a recorder first.", status: 400 });
    const errors: Record<string, string> = {};
    if (!f.ticker) errors.ticker = "Type the contract, e.g. MNQ1!.";
    if (!SIDES.some((s) => s.value === f.action)) errors.action = "Choose buy, sell or close.";
    if (f.quantity && !/^\d+$/.test(f.quantity)) errors.quantity = "A whole number of contracts, like 2.";
    if (f.who === "one" && !ctx.traders.some((t) => t.id === f.traderId))
      errors.traderIds = "Choose the trader.";
    if (Object.keys(errors).length > 0) return render(c, ctx, f, { errors, status: 400 });
    const what = describe(f, ctx);
    const csrf = c.get("session").csrf;
    const targets = f.who === "one" ? ctx.traders.filter((t) => t.id === f.traderId) : ctx.traders;
    return c.html(
      <Page title="Review the trade" active="trade" csrf={csrf} banner={await banner(k.api)}>
        <p>This is what will be sent:</p>
        <p class="trade-summary" id="trade-summary">
          {what}
        </p>
        <div class="table-wrap">
          <table>
            <caption>Traders</caption>
            <thead>
              <tr>
                <th scope="col">Account · sub-account</th>
                <th scope="col" class="num">
                  Multiplier
                </th>
              </tr>
            </thead>
            <tbody>
              {targets.map((t) => (
                <tr>
                  <td>{t.label.replace(/ \(×[^)]*\)$/, "")}</td>
                  <td class="num">×{t.multiplier}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form method="post" action="/trade" data-confirm={`Send this trade now? ${what}.`} class="row">
          <CsrfField token={csrf} />
          <Hidden f={f} />
          <input type="hidden" name="ticker" value={f.ticker} />
          <input type="hidden" name="action" value={f.action} />
          <input type="hidden" name="quantity" value={f.quantity} />
          <input type="hidden" name="who" value={f.who} />
          <input type="hidden" name="traderId" value={f.traderId} />
          <button type="submit" class="danger">
            Send trade
          </button>
          <a class="button secondary" href={`/trade?recorderId=${encodeURIComponent(f.recorderId)}`}>
            Start over
          </a>
        </form>
      </Page>,
    );
  });

  app.post("/trade", async (c) => {
    const f = readForm(await c.req.parseBody());
    const r = await k.api<{ status: string; signalId: string; traders: unknown[] }>(
      "POST",
      "/manual-trades",
      {
        requestId: f.requestId,
        recorderId: f.recorderId,
        action: f.action,
        ticker: f.ticker,
        // A close closes the whole position: no quantity goes with it (the review said so).
        ...(f.quantity && f.action !== "close"
          ? { quantity: /^\d+$/.test(f.quantity) ? Number(f.quantity) : f.quantity }
          : {}),
        ...(f.who === "one" ? { traderIds: [f.traderId] } : {}),
      },
    );
    if (r.ok) {
      const word =
        r.body.status === "duplicate"
          ? "This trade was already sent; nothing was sent again."
          : `Trade sent to ${r.body.traders.length} trader${r.body.traders.length === 1 ? "" : "s"}.`;
      return c.redirect(`/signals/${r.body.signalId}?ok=${encodeURIComponent(word)}`, 303);
    }
    const ctx = await load(k.api, f.recorderId);
    // A requestId already used for another trade: this form is a new trade, with a new id.
    const form = r.status === 409 ? { ...f, requestId: randomUUID() } : f;
    // Anything else (the relay could not answer) keeps the requestId: sending again cannot double it.
    const status = r.status === 400 || r.status === 409 || r.status === 422 ? r.status : 503;
    return render(c, ctx, form, { errors: r.error.fields, error: r.error.message, status });
  });

  return app;
}
