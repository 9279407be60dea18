/**
 * The console's overview in Chromium: a paper trader's position with its working exits and today's P&L
 * after a fill, and a loss limit tripped by the paper market showing its banner without a reload.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { type ConsoleWorld, liveConnected, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

const price = async (symbol: string, p: string) => {
  const res = await w.t.api("POST", "/api/paper/prices", { symbol, price: p });
  expect(res.status).toBe(200);
};

async function settled(signalId: string) {
  return waitFor(async () => {
    const res = await w.t.api<{ executions: { status: string }[] }>("GET", `/api/signals/${signalId}`);
    return res.body.executions.length > 0 && res.body.executions.every((e) => e.status === "done");
  }, "the execution to finish");
}

describe("console overview", () => {
  it("CO01 after a fill, the paper trader's position shows live with its working exits, and its P&L against the limit", async () => {
    const s = await paperSetup(w.t, {
      multipliers: [2],
      recorderName: "ES follower",
      settings: { takeProfit: [{ ticks: 8, trimPercent: 100 }], stopLossTicks: 8 },
    });
    const limit = await w.t.api("PATCH", `/api/traders/${s.traderIds[0]}`, { maxDailyLoss: 500 });
    expect(limit.status).toBe(200);
    await price("MES1!", "6000");
    const page = await w.signedInPage();
    await liveConnected(page);
    const positions = page.locator("#positions");
    expect(await positions.textContent()).toContain("Flat everywhere");

    const res = await w.t.webhook(s.token, JSON.stringify({ ticker: "MES1!", action: "buy", price: "6000" }));
    expect(res.status).toBe(202);
    await settled(res.body.signalId as string);

    const row = positions.getByRole("row").filter({ hasText: "ES follower on Paper 1" });
    await row.waitFor();
    const cells = (await row.getByRole("cell").allTextContents()).map((c) => c.trim());
    expect(cells.slice(0, 4)).toEqual([expect.stringMatching(/^MES/), "long 2", "6000", "6000"]);
    // Both exits, working at the broker: the take-profit 8 ticks up, the stop 8 ticks down.
    expect(cells[5]).toContain("sell 2 limit @ 6002 (tp1, working)");
    expect(cells[5]).toContain("sell 2 stop @ 5998 (sl1, working)");
    // The page was not reloaded: the position arrived over the live feed.
    expect(await page.evaluate("Number(document.body.dataset.liveUpdates)")).toBeGreaterThan(0);

    // Today's P&L for the trader against its limit: flat at the entry price, 500 left of 500.
    await price("MES1!", "6001");
    const pnl = page.locator("#pnl").getByRole("row").filter({ hasText: "ES follower on Paper 1" });
    const pnlCells = async () => (await pnl.getByRole("cell").allTextContents()).map((c) => c.trim());
    // The monitor marks the position on every quote, which is no event: the P&L region re-reads itself
    // every few seconds (data-live-every), so the page shows it with no reload.
    const loaded = await page.evaluate("performance.timeOrigin");
    await waitFor(async () => (await pnlCells())[1] === "+10", "the trader's P&L marked at 6001", 20_000);
    expect(await page.evaluate("performance.timeOrigin")).toBe(loaded);
    // MES is $5 a point: 2 contracts up 1 point. Realized, unrealized, total, limit, loss left, breach.
    expect(await pnlCells()).toEqual(["0", "+10", "+10", "500", "510", "none"]);
    const account = page.locator("#pnl table").first().getByRole("row").filter({ hasText: "Paper 1" });
    expect((await account.getByRole("cell").allTextContents()).map((c) => c.trim()).slice(1, 4)).toEqual([
      "0",
      "+10",
      "+10",
    ]);
  });

  it("CO02 a loss limit tripped by the market shows the breach banner and the breach in today's P&L without a reload", async () => {
    const s = await paperSetup(w.t, {
      multipliers: [1],
      recorderName: "NQ risky",
      settings: { takeProfit: [{ ticks: 200, trimPercent: 100 }], stopLossTicks: 200 },
    });
    const traderId = s.traderIds[0] as string;
    expect((await w.t.api("PATCH", `/api/traders/${traderId}`, { maxDailyLoss: 50 })).status).toBe(200);
    await price("MNQ1!", "21000");
    const res = await w.t.webhook(
      s.token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
    );
    expect(res.status).toBe(202);
    await settled(res.body.signalId as string);

    const page = await w.signedInPage();
    await liveConnected(page);
    const alerts = page.getByRole("alert", { name: "Alerts" });
    expect(await alerts.count()).toBe(0);
    await page.locator("#positions").getByText("NQ risky on Paper 1").waitFor();

    await price("MNQ1!", "20990"); // -20 ($2 a point)
    await price("MNQ1!", "20980"); // -40: not yet
    await price("MNQ1!", "20975"); // -50: the limit
    await alerts.getByText("Loss limit breached").waitFor();
    const text = (await alerts.textContent()) ?? "";
    expect(text).toContain("Trader NQ risky on Paper 1");
    expect(text).toContain("P&L -50 against a limit of 50");
    // The P&L table says so too, in words, and the position is gone once flattened.
    const row = page.locator("#pnl").getByRole("row").filter({ hasText: "NQ risky on Paper 1" });
    await row.getByText("breached").waitFor();
    await waitFor(
      async () => (await page.locator("#positions").getByText("NQ risky on Paper 1").count()) === 0,
      "the flattened position to leave the page",
    );
    expect(await page.evaluate("Number(document.body.dataset.liveUpdates)")).toBeGreaterThan(0);
  });
});
