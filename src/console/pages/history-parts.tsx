/**
 * Pieces of the history page (pages/history.tsx): the daily P&L calendar (a month grid per month of the
 * range, a real table with week and weekday headers), the equity points, and the trades table. Money
 * stays decimal strings; day totals and the running sum use src/domain/decimal, never floats.
 */
import { add, type Dec, dec, toStr, ZERO } from "../../domain/decimal";
import { Money, When } from "../format";

export interface DayRow {
  tradingDay: string;
  realized: string;
  trades: number;
}

export interface Trade {
  id: string;
  contract: string;
  direction: string;
  status: string;
  qty: number;
  entryPrice: string;
  exitPrice: string | null;
  pnl: string;
  highPrice: string;
  lowPrice: string;
  mfe: string | null;
  mae: string | null;
  openedAt: string;
  closedAt: string | null;
}

export interface DayTotal {
  realized: Dec;
  trades: number;
}

/** The API's rows (one per day and account, trader or recorder) summed per trading day. */
export function dayTotals(rows: DayRow[]): Map<string, DayTotal> {
  const totals = new Map<string, DayTotal>();
  for (const r of rows) {
    const t = totals.get(r.tradingDay) ?? { realized: ZERO, trades: 0 };
    totals.set(r.tradingDay, { realized: add(t.realized, dec(r.realized)), trades: t.trades + r.trades });
  }
  return totals;
}

/** Cumulative realized P&L at the end of each trading day with trades, in day order. */
export function equityPoints(totals: Map<string, DayTotal>): { time: string; value: string }[] {
  let running = ZERO;
  return [...totals.keys()].sort().map((day) => {
    running = add(running, (totals.get(day) as DayTotal).realized);
    return { time: day, value: toStr(running) };
  });
}

const WEEKDAYS = [
  ["Mon", "Monday"],
  ["Tue", "Tuesday"],
  ["Wed", "Wednesday"],
  ["Thu", "Thursday"],
  ["Fri", "Friday"],
  ["Sat", "Saturday"],
  ["Sun", "Sunday"],
] as const;
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const iso = (d: Date) => d.toISOString().slice(0, 10);
const utc = (day: string) => new Date(`${day}T00:00:00Z`);

/** The months (first days) from the month of `from` to the month of `to`. */
export function monthsOf(from: string, to: string, most = 13): string[] {
  const out: string[] = [];
  const d = utc(`${from.slice(0, 7)}-01`);
  while (iso(d).slice(0, 7) <= to.slice(0, 7) && out.length < most) {
    out.push(iso(d));
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out;
}

/** Weeks (Monday first) of the month, each seven days or null outside the month. */
function weeksOf(first: string): (string | null)[][] {
  const start = utc(first);
  const month = start.getUTCMonth();
  const lead = (start.getUTCDay() + 6) % 7;
  const cells: (string | null)[] = Array.from({ length: lead }, () => null);
  for (const d = new Date(start); d.getUTCMonth() === month; d.setUTCDate(d.getUTCDate() + 1))
    cells.push(iso(d));
  while (cells.length % 7) cells.push(null);
  const weeks: (string | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  return weeks;
}

export function MonthGrid(p: { first: string; totals: Map<string, DayTotal>; from: string; to: string }) {
  const [y, m] = p.first.split("-");
  const title = `${MONTHS[Number(m) - 1]} ${y}`;
  return (
    <div class="table-wrap">
      <table class="calendar">
        <caption>Realized P&amp;L by trading day, {title}</caption>
        <thead>
          <tr>
            <th scope="col">Week of</th>
            {WEEKDAYS.map(([short, long]) => (
              <th scope="col" aria-label={long}>
                <abbr title={long}>{short}</abbr>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {weeksOf(p.first).map((week) => (
            <tr>
              <th scope="row">{week.find((d) => d !== null)?.slice(5)}</th>
              {week.map((day) => {
                if (!day) return <td class="out" />;
                const t = p.totals.get(day);
                const inRange = day >= p.from && day <= p.to;
                return (
                  <td data-day={day} class={inRange ? (t ? "has-trades" : "") : "out"}>
                    <span class="day-num">{Number(day.slice(8))}</span>
                    {t ? (
                      <>
                        <span class="day-pnl">
                          <Money value={toStr(t.realized)} />
                        </span>
                        <span class="day-count">
                          {t.trades} {t.trades === 1 ? "trade" : "trades"}
                        </span>
                      </>
                    ) : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function EquityTable(p: { points: { time: string; value: string }[]; totals: Map<string, DayTotal> }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>Equity by trading day</caption>
        <thead>
          <tr>
            <th scope="col">Trading day</th>
            <th scope="col" class="num">
              Realized that day
            </th>
            <th scope="col" class="num">
              Cumulative
            </th>
          </tr>
        </thead>
        <tbody>
          {p.points.map((x) => (
            <tr>
              <th scope="row">{x.time}</th>
              <td class="num">
                <Money value={toStr(p.totals.get(x.time)?.realized ?? ZERO)} />
              </td>
              <td class="num">
                <Money value={x.value} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TradesTable(p: { trades: Trade[] }) {
  return (
    <div class="table-wrap">
      <table id="trades-table">
        <caption>Trades, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Opened</th>
            <th scope="col">Closed</th>
            <th scope="col">Contract</th>
            <th scope="col">Side</th>
            <th scope="col" class="num">
              Qty
            </th>
            <th scope="col" class="num">
              Entry
            </th>
            <th scope="col" class="num">
              Exit
            </th>
            <th scope="col" class="num">
              P&amp;L
            </th>
            <th scope="col" class="num" aria-label="Maximum favourable excursion (MFE)">
              <abbr title="Maximum favourable excursion">MFE</abbr>
            </th>
            <th scope="col" class="num" aria-label="Maximum adverse excursion (MAE)">
              <abbr title="Maximum adverse excursion">MAE</abbr>
            </th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {p.trades.length === 0 ? (
            <tr>
              <td colspan={11} class="muted">
                No trades in this range.
              </td>
            </tr>
          ) : (
            p.trades.map((t) => (
              <tr data-trade={t.id}>
                <td>
                  <When at={t.openedAt} />
                </td>
                <td>
                  <When at={t.closedAt} />
                </td>
                <td>{t.contract}</td>
                <td>{t.direction}</td>
                <td class="num">{t.qty}</td>
                <td class="num">{t.entryPrice}</td>
                <td class="num">{t.exitPrice ?? "–"}</td>
                <td class="num">
                  <Money value={t.pnl} />
                </td>
                <td class="num">
                  <Money value={t.mfe} />
                </td>
                <td class="num">
                  <Money value={t.mae} />
                </td>
                <td>{t.status}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
