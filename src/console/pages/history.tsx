/**
 * History: realized P&L per trading day as a month calendar, the equity curve (cumulative realized P&L per
 * trading day, drawn by lightweight-charts in /assets/history.js, also shown as a table), the trades with
 * MFE / MAE, and their CSV. Filters: account, trader or recorder and a range of trading days. Everything is
 * read through the API (/pnl/daily, /trades, /trades.csv); without script the calendar and tables remain.
 */
import { Hono } from "hono";
import { dayEnd, dayStart, previousDay, tradingDay } from "../../domain/trading-day";
import { banner } from "../alerts";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { FieldError, Flash, Page } from "../layout";
import {
  type DayRow,
  dayTotals,
  EquityTable,
  equityPoints,
  MonthGrid,
  monthsOf,
  type Trade,
  TradesTable,
} from "./history-parts";

interface Named {
  id: string;
  name: string;
}
interface TraderItem {
  id: string;
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
}

const FILTERS = ["accountId", "traderId", "recorderId"] as const;

/** The filters the user chose (blank ones left out), as the API's query. */
function chosen(q: Record<string, string>): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (q[k]) p.set(k, q[k]);
  return p;
}

export function historyPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();
  const rule = () => ({ roll: k.s.config.TRADING_DAY_ROLL, timeZone: k.s.config.TRADING_DAY_TIME_ZONE });

  app.get("/history", async (c) => {
    const q = c.req.query();
    const today = tradingDay(new Date(), rule());
    const from = q.from ?? `${today.slice(0, 7)}-01`;
    const to = q.to ?? today;
    const filters = chosen(q);
    const by = q.traderId ? "trader" : q.recorderId ? "recorder" : "account";
    const daily = await k.api<{ days: DayRow[] }>(
      "GET",
      `/pnl/daily?${new URLSearchParams({ by, from, to })}&${filters}`,
    );
    // The days are valid trading days once the API accepted them: the trades of the same range.
    const range = daily.ok
      ? new URLSearchParams({
          from: dayStart(from, rule()).toISOString(),
          to: dayEnd(to, rule()).toISOString(),
        })
      : undefined;
    const [accounts, recorders, traders, trades] = await Promise.all([
      k.api<{ accounts: Named[] }>("GET", "/accounts"),
      k.api<{ recorders: Named[] }>("GET", "/recorders"),
      k.api<{ traders: TraderItem[] }>("GET", "/traders"),
      range ? k.api<{ trades: Trade[] }>("GET", `/trades?${range}&${filters}&limit=500`) : undefined,
    ]);
    const accountList = accounts.ok ? accounts.body.accounts : [];
    const recorderList = recorders.ok ? recorders.body.recorders : [];
    const nameOf = (list: Named[], id: string) => list.find((x) => x.id === id)?.name ?? id;
    const errors = daily.ok ? {} : daily.error.fields;
    const failed = !daily.ok ? daily.error.message : trades && !trades.ok ? trades.error.message : undefined;
    const totals = dayTotals(daily.ok ? daily.body.days : []);
    const points = equityPoints(totals);
    // The curve starts from zero the day before the first day with trades.
    const curve = points.length ? [{ time: previousDay(points[0]?.time ?? ""), value: "0" }, ...points] : [];
    const csv = range ? `/history/trades.csv?${range}&${filters}` : undefined;

    return c.html(
      <Page
        title="History"
        active="history"
        csrf={c.get("session").csrf}
        banner={await banner(k.api)}
        scripts={["/assets/lightweight-charts.js", "/assets/history.js"]}
      >
        <Flash error={failed} />
        <form method="get" action="/history" class="filters" aria-label="Choose trades">
          <div class="row">
            <div>
              <label for="h-account">Account</label>
              <select id="h-account" name="accountId" aria-describedby="h-account-err">
                <option value="">All accounts</option>
                {accountList.map((a) => (
                  <option value={a.id} selected={q.accountId === a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
              <FieldError id="h-account-err" message={errors.accountId} />
            </div>
            <div>
              <label for="h-trader">Trader</label>
              <select id="h-trader" name="traderId" aria-describedby="h-trader-err">
                <option value="">All traders</option>
                {(traders.ok ? traders.body.traders : []).map((t) => (
                  <option value={t.id} selected={q.traderId === t.id}>
                    {`${nameOf(recorderList, t.recorderId)} on ${nameOf(accountList, t.accountId)} ${t.brokerAccountId}`}
                  </option>
                ))}
              </select>
              <FieldError id="h-trader-err" message={errors.traderId} />
            </div>
            <div>
              <label for="h-recorder">Recorder</label>
              <select id="h-recorder" name="recorderId" aria-describedby="h-recorder-err">
                <option value="">All recorders</option>
                {recorderList.map((r) => (
                  <option value={r.id} selected={q.recorderId === r.id}>
                    {r.name}
                  </option>
                ))}
              </select>
              <FieldError id="h-recorder-err" message={errors.recorderId} />
            </div>
            <div>
              <label for="h-from">From (trading day)</label>
              <input id="h-from" name="from" type="date" value={from} aria-describedby="h-from-err" />
              <FieldError id="h-from-err" message={errors.from} />
            </div>
            <div>
              <label for="h-to">To (trading day)</label>
              <input id="h-to" name="to" type="date" value={to} aria-describedby="h-to-err" />
              <FieldError id="h-to-err" message={errors.to} />
            </div>
            <div>
              <button type="submit">Show</button>
            </div>
          </div>
        </form>

        <section aria-labelledby="cal-h">
          <h2 id="cal-h">Daily P&amp;L</h2>
          <p class="hint">
            Closed trades by the trading day they closed on (each account's roll; weekends count for Monday).
          </p>
          {daily.ok
            ? monthsOf(from, to).map((first) => (
                <MonthGrid first={first} totals={totals} from={from} to={to} />
              ))
            : null}
        </section>

        <section aria-labelledby="eq-h">
          <h2 id="eq-h">Equity curve</h2>
          <div
            id="equity-chart"
            class="chart"
            role="img"
            aria-label="Equity curve: cumulative realized P&L at the end of each trading day; the same figures are in the table below"
          />
          <script
            type="application/json"
            id="equity-data"
            // Data, not script (the CSP allows it): `<` escaped so no text can close the element.
            dangerouslySetInnerHTML={{ __html: JSON.stringify(curve).replace(/</g, "\\u003c") }}
          />
          <p class="hint">
            Charting by <a href="https://www.tradingview.com/">TradingView</a> (lightweight-charts).
          </p>
          <details>
            <summary>Equity as a table</summary>
            <EquityTable points={points} totals={totals} />
          </details>
        </section>

        <section aria-labelledby="trades-h">
          <h2 id="trades-h">Trades</h2>
          <p class="hint">
            Trades opened in the range (newest 500). MFE / MAE: the best and worst the market went for the
            trade while it was open, in dollars.
            {csv ? (
              <>
                {" "}
                <a href={csv} download="trades.csv">
                  Download these trades as CSV
                </a>
              </>
            ) : null}
          </p>
          <TradesTable trades={trades?.ok ? trades.body.trades : []} />
        </section>
      </Page>,
    );
  });

  // The browser has no bearer token: the console fetches the API's CSV for it.
  app.get("/history/trades.csv", async (c) => {
    const q = c.req.query();
    const p = chosen(q);
    for (const key of ["from", "to"]) if (q[key]) p.set(key, q[key]);
    const r = await k.api<string>("GET", `/trades.csv?${p}`);
    if (!r.ok) return c.text(r.error.message, r.status as 400);
    return c.body(r.body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": 'attachment; filename="trades.csv"',
    });
  });

  return app;
}
