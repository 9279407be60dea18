/**
 * History (issue 15): round-trip trades as JSON and CSV, and realized P&L per trading day per account,
 * trader or recorder. Trades are kept as fills are booked (src/db/trades.ts); a trade's P&L is the
 * realized P&L the relay booked for its fills, so the days sum exactly what the positions realized.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { listTrades, type TradeFilter, type TradeRow } from "../../db/trades";
import { add, type Dec, dec, div, toStr, ZERO } from "../../domain/decimal";
import { excursion } from "../../domain/excursion";
import { type DayRule, dayEnd, dayStart, tradingDay } from "../../domain/trading-day";
import { RelayError } from "../../errors";
import type { Env, Services } from "../context";
import { parse } from "../validate";

const id = (what: string) =>
  z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, `must be ${what} id`);
const instant = z.iso.datetime({
  offset: true,
  message: "must be a time (ISO 8601, e.g. 2026-03-10T14:30:00Z)",
});
const day = z.iso.date({ message: "must be a trading day (YYYY-MM-DD)" });

export const tradeQuery = z.strictObject({
  accountId: id("an account").optional(),
  traderId: id("a trader").optional(),
  recorderId: id("a recorder").optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export const csvQuery = tradeQuery.extend({
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
});
export const dailyQuery = z.strictObject({
  by: z.enum(["account", "trader", "recorder"]),
  from: day,
  to: day,
  accountId: id("an account").optional(),
  traderId: id("a trader").optional(),
  recorderId: id("a recorder").optional(),
});

const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

function filterOf(q: z.infer<typeof tradeQuery>): TradeFilter {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from >= to) throw new RelayError("unprocessable", "from: must be before to.");
  return {
    limit: q.limit,
    ...(q.accountId ? { accountId: q.accountId } : {}),
    ...(q.traderId ? { traderId: q.traderId } : {}),
    ...(q.recorderId ? { recorderId: q.recorderId } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
}

export function presentTrade(t: TradeRow) {
  const x = t.valuePerPoint === null ? null : excursion(t, t.valuePerPoint);
  return {
    id: t.id,
    accountId: t.accountId,
    traderId: t.traderId,
    recorderId: t.recorderId,
    brokerAccountId: t.brokerAccountId,
    contract: t.contract,
    direction: t.direction,
    status: t.status,
    qty: t.entryQty,
    maxSize: t.maxSize,
    openQty: Math.abs(t.netQty),
    entryPrice: toStr(div(t.entryValue, dec(t.entryQty))),
    exitPrice: t.exitQty > 0 ? toStr(div(t.exitValue, dec(t.exitQty))) : null,
    exitQty: t.exitQty,
    pnl: toStr(t.realized),
    highPrice: toStr(t.high),
    lowPrice: toStr(t.low),
    mfe: x ? toStr(x.mfe) : null,
    mae: x ? toStr(x.mae) : null,
    fills: t.fills,
    openedAt: t.openedAt.toISOString(),
    closedAt: t.closedAt ? t.closedAt.toISOString() : null,
  };
}

const CSV_COLUMNS = [
  "id",
  "accountId",
  "traderId",
  "recorderId",
  "brokerAccountId",
  "contract",
  "direction",
  "status",
  "qty",
  "maxSize",
  "openQty",
  "entryPrice",
  "exitPrice",
  "exitQty",
  "pnl",
  "highPrice",
  "lowPrice",
  "mfe",
  "mae",
  "fills",
  "openedAt",
  "closedAt",
] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled; lines end in CRLF. */
export function csvField(v: string | number | null): string {
  const s = v === null ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function query(c: Context<Env>): Record<string, string> {
  return c.req.query();
}

export function tradeRoutes(s: Services) {
  const app = new Hono<Env>();
  const ruleOf = (t: TradeRow): DayRule => ({
    roll: t.roll ?? s.config.TRADING_DAY_ROLL,
    timeZone: t.timeZone ?? s.config.TRADING_DAY_TIME_ZONE,
  });

  app.get("/trades", async (c) => {
    const q = parse(tradeQuery, query(c));
    const rows = await listTrades(s.sql, filterOf(q));
    return c.json({ trades: rows.map(presentTrade) });
  });

  app.get("/trades.csv", async (c) => {
    const q = parse(csvQuery, query(c));
    const rows = await listTrades(s.sql, filterOf(q));
    const lines = [CSV_COLUMNS.join(",")];
    for (const t of rows) {
      const p = presentTrade(t);
      lines.push(CSV_COLUMNS.map((k) => csvField(p[k])).join(","));
    }
    return c.body(`${lines.join("\r\n")}\r\n`, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": 'attachment; filename="trades.csv"',
    });
  });

  app.get("/pnl/daily", async (c) => {
    const q = parse(dailyQuery, query(c));
    if (q.from > q.to) throw new RelayError("unprocessable", "from: must not be after to.");
    const relayRule = { roll: s.config.TRADING_DAY_ROLL, timeZone: s.config.TRADING_DAY_TIME_ZONE };
    const start = dayStart(q.from, relayRule);
    const end = dayEnd(q.to, relayRule);
    if ((end.getTime() - start.getTime()) / DAY_MS > MAX_DAYS + 3)
      throw new RelayError("unprocessable", `from: the range is limited to ${MAX_DAYS} days.`);
    // Accounts may roll at other times or zones: read a margin either side, then place each trade by
    // its own account's rule.
    const rows = await listTrades(s.sql, {
      closedFrom: new Date(start.getTime() - 2 * DAY_MS),
      closedTo: new Date(end.getTime() + 2 * DAY_MS),
      ...(q.accountId ? { accountId: q.accountId } : {}),
      ...(q.traderId ? { traderId: q.traderId } : {}),
      ...(q.recorderId ? { recorderId: q.recorderId } : {}),
    });
    const totals = new Map<string, { day: string; key: string; realized: Dec; trades: number }>();
    for (const t of rows) {
      if (!t.closedAt) continue;
      const d = tradingDay(t.closedAt, ruleOf(t));
      if (d < q.from || d > q.to) continue;
      const key = q.by === "account" ? t.accountId : q.by === "trader" ? t.traderId : t.recorderId;
      const k = `${d}|${key}`;
      const entry = totals.get(k) ?? { day: d, key, realized: ZERO, trades: 0 };
      entry.realized = add(entry.realized, t.realized);
      entry.trades += 1;
      totals.set(k, entry);
    }
    const field = `${q.by}Id`;
    const days = [...totals.values()]
      .sort((a, b) => (a.day === b.day ? a.key.localeCompare(b.key) : a.day.localeCompare(b.day)))
      .map((e) => ({ tradingDay: e.day, [field]: e.key, realized: toStr(e.realized), trades: e.trades }));
    return c.json({ by: q.by, from: q.from, to: q.to, days });
  });
  return app;
}
