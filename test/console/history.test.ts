/**
 * The history page in Chromium: after a paper trade whose market ran for and against it, the calendar
 * shows the day's P&L, lightweight-charts draws the equity curve, the trades table shows MFE / MAE, and
 * the CSV link downloads the trades; without script the calendar and tables are still there.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tradingDay } from "../../src/domain/trading-day";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
let ids: { recorderId: string; token: string; traderIds: string[]; accountIds: string[] };
let day = "";
type Trade = { status: string; mfe: string | null; mae: string | null; closedAt: string | null };

let alertId = 0;
async function send(body: Record<string, unknown>): Promise<void> {
  const res = await w.t.webhook(
    ids.token,
    JSON.stringify({ ticker: "MNQ1!", id: `ch${alertId++}`, ...body }),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  await waitFor(async () => {
    const r = await w.t.api<{ executions: { status: string }[] }>("GET", `/api/signals/${res.body.signalId}`);
    const e = r.body.executions[0];
    return e && !["pending", "running"].includes(e.status) ? e : undefined;
  }, "the execution to finish");
}
const price = (p: string) => w.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: p });

beforeAll(async () => {
  w = await startConsoleWorld();
  ids = await paperSetup(w.t, { multipliers: [1], recorderName: "History recorder" });
  await price("21000");
  await send({ action: "buy", price: "21000" });
  for (const p of ["21004", "21010.25", "20992.5", "21001"]) await price(p);
  await price("21005");
  await send({ action: "exit", price: "21005" });
  const trade = await waitFor(async () => {
    const r = await w.t.api<{ trades: Trade[] }>("GET", `/api/trades?traderId=${ids.traderIds[0]}`);
    const t = r.body.trades[0];
    return t?.status === "closed" && t.mae === "-15" ? t : undefined;
  }, "the closed trade with its extremes");
  const cfg = w.t.relay.services.config;
  day = tradingDay(new Date(trade.closedAt ?? ""), {
    roll: cfg.TRADING_DAY_ROLL,
    timeZone: cfg.TRADING_DAY_TIME_ZONE,
  });
});
afterAll(() => w?.stop());

async function historyPage(javaScriptEnabled = true, errors?: string[]) {
  const page = await w.signedInPage();
  if (errors) {
    // The browser's own favicon request (no favicon is served) is not the page's.
    page.on("console", (m) => {
      if (m.type() === "error" && !m.location().url.endsWith("/favicon.ico")) errors.push(m.text());
    });
    page.on("pageerror", (e) => void errors.push(String(e)));
    page.on("response", (r) => void (r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`)));
  }
  if (!javaScriptEnabled) {
    const ctx = await w.browser.newContext({ javaScriptEnabled: false });
    const cookies = await page.context().cookies();
    await ctx.addCookies(cookies);
    const bare = await ctx.newPage();
    await bare.goto(w.url(`/history?from=${day}&to=${day}`));
    return bare;
  }
  await page.goto(w.url("/history"));
  await page.getByLabel("Trader").selectOption(ids.traderIds[0] ?? "");
  await page.getByLabel("From (trading day)").fill(day);
  await page.getByLabel("To (trading day)").fill(day);
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForURL(/traderId=/);
  return page;
}

describe("console history", () => {
  it("CH01 the calendar shows the trading day's realized P&L and trade count, in a table with headers", async () => {
    const page = await historyPage();
    const [y, m] = day.split("-");
    const month = new Date(Date.UTC(Number(y), Number(m) - 1, 1)).toLocaleString("en-US", {
      month: "long",
      timeZone: "UTC",
    });
    const calendar = page.getByRole("table", { name: `Realized P&L by trading day, ${month} ${y}` });
    await expect(calendar.getByRole("columnheader", { name: "Monday" }).count()).resolves.toBe(1);
    const cell = calendar.locator(`td[data-day="${day}"]`);
    await expect(cell.textContent()).resolves.toMatch(/\+10\s*1 trade/);
    // The other days of the month show no P&L.
    const others = await calendar.locator("td[data-day] .day-pnl").count();
    expect(others).toBe(1);
  });

  it("CH02 the equity curve is drawn by lightweight-charts: a canvas inside the chart with the series' colours", async () => {
    const errors: string[] = [];
    const page = await historyPage(true, errors);
    // Locators, not waitForFunction: a string predicate that polls is evaluated with eval, which the
    // console's CSP refuses.
    await page.locator("#equity-chart canvas").first().waitFor({ state: "attached" });
    await page.locator("#equity-chart[data-drawn='2']").waitFor({ state: "attached" });
    // Coloured pixels (the series; text and grid are greys) on one of the chart's canvases.
    const coloured = `(() => {
      let n = 0;
      for (const c of document.querySelectorAll('#equity-chart canvas')) {
        if (!c.width || !c.height) continue;
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4)
          if (px[i + 3] > 0 && (Math.abs(px[i] - px[i + 1]) > 40 || Math.abs(px[i + 1] - px[i + 2]) > 40)) n++;
      }
      return n;
    })()`;
    await waitFor(async () => Number(await page.evaluate(coloured)) > 0, "the series drawn in colour");
    const data = JSON.parse((await page.locator("#equity-data").textContent()) ?? "[]");
    expect(data.at(-1)).toEqual({ time: day, value: "10" });
    expect(data[0].value).toBe("0");
    // Nothing the console's CSP refused, no script error.
    expect(errors).toEqual([]);
  });

  it("CH03 the trades table lists the trade with entry, exit, P&L, MFE and MAE", async () => {
    const page = await historyPage();
    const table = page.getByRole("table", { name: "Trades, newest first" });
    await expect(
      table.getByRole("columnheader", { name: "Maximum favourable excursion (MFE)" }).count(),
    ).resolves.toBe(1);
    const rows = table.locator("tbody tr");
    expect(await rows.count()).toBe(1);
    const cells = await rows.first().getByRole("cell").allTextContents();
    // Opened, Closed, Contract, Side, Qty, Entry, Exit, P&L, MFE, MAE, Status
    expect(cells.slice(3)).toEqual(["long", "1", "21000", "21005", "+10", "+20.5", "-15", "closed"]);
    expect(cells[2]).toMatch(/^MNQ/);
  });

  it("CH04 the CSV link downloads the same trades through the console (no bearer token in the browser)", async () => {
    const page = await historyPage();
    const link = page.getByRole("link", { name: "Download these trades as CSV" });
    expect(await link.getAttribute("href")).toMatch(/^\/history\/trades\.csv\?/);
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const text = await readFile(await download.path(), "utf8");
    const [header, ...rows] = text.trimEnd().split("\r\n");
    expect(rows).toHaveLength(1);
    const cols = (header ?? "").split(",");
    const row = (rows[0] ?? "").split(",");
    const col = (name: string) => row[cols.indexOf(name)];
    expect([col("traderId"), col("pnl"), col("mfe"), col("mae")]).toEqual([
      ids.traderIds[0],
      "10",
      "20.5",
      "-15",
    ]);
    // Signed out, the console's CSV is not served.
    const anon = await fetch(w.url(`/history/trades.csv?traderId=${ids.traderIds[0]}`), {
      redirect: "manual",
    });
    expect(anon.status).toBe(303);
  });

  it("CH05 without script the calendar and tables are there; a bad day is the API's message next to its field", async () => {
    const page = await historyPage(false);
    await expect(page.locator(`td[data-day="${day}"]`).textContent()).resolves.toMatch(/\+10/);
    await expect(page.locator("#equity-chart canvas").count()).resolves.toBe(0);
    await page.getByText("Equity as a table").click();
    const equity = page.getByRole("table", { name: "Equity by trading day" });
    await expect(equity.getByRole("row").count()).resolves.toBe(2);
    await expect(
      page.getByRole("table", { name: "Trades, newest first" }).locator("tbody tr").count(),
    ).resolves.toBe(1);
    await page.goto(w.url("/history?from=2026-3-1&to=2026-03-10"));
    await expect(page.getByRole("alert").textContent()).resolves.toContain("from");
    await expect(page.locator("#h-from-err").textContent()).resolves.toContain("must be a trading day");
    await expect(page.getByLabel("From (trading day)").getAttribute("aria-describedby")).resolves.toBe(
      "h-from-err",
    );
  });
});
