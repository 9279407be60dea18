/**
 * The console's Signals pages in Chromium: every webhook with its outcome and reason (refused ones too),
 * filters and paging, live rows; one signal's page with each trader's decision, orders, fills and latency.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { type ConsoleWorld, liveConnected, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  // CG04 sends more webhooks than one page holds: room above the default burst.
  w = await startConsoleWorld({ env: { WEBHOOK_RATE_BURST: "500", WEBHOOK_RATE_PER_MINUTE: "5000" } });
});
afterAll(() => w?.stop());

interface Exec {
  status: string;
}

async function settled(signalId: string, n: number) {
  return waitFor(async () => {
    const res = await w.t.api<{ executions: Exec[] }>("GET", `/api/signals/${signalId}`);
    const ex = res.body.executions;
    return ex.length === n && ex.every((e) => !["pending", "running"].includes(e.status)) ? ex : undefined;
  }, "executions to finish");
}

describe("console signals", () => {
  it("CG01 a webhook refused for its body is listed with its recorder, outcome and reason, live; the outcome and recorder filters narrow the list", async () => {
    const bad = await paperSetup(w.t, { multipliers: [1], recorderName: "Broken alerts" });
    const good = await paperSetup(w.t, { multipliers: [1], recorderName: "Good alerts" });
    const page = await w.signedInPage();
    await page.goto(w.url("/signals"));
    await liveConnected(page);

    const res = await w.t.webhook(bad.token, "this is not json {");
    expect(res.status).toBe(422);
    const list = page.locator("#webhook-list");
    const row = list.getByRole("row").filter({ hasText: "this is not json" });
    await row.waitFor();
    expect(await row.textContent()).toContain("Broken alerts");
    expect(await row.textContent()).toContain("Invalid alert");
    expect(await row.textContent()).toContain("not valid JSON");
    expect(await row.getByRole("link").count()).toBe(0); // refused: no signal to open
    expect(await page.evaluate("Number(document.body.dataset.liveUpdates)")).toBeGreaterThan(0);

    const ok = await w.t.webhook(good.token, JSON.stringify({ ticker: "MES1!", action: "buy", id: "cg01" }));
    expect(ok.status).toBe(202);
    await list.getByText('"id":"cg01"').waitFor();

    await page.getByLabel("Outcome").selectOption("invalid");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/outcome=invalid/);
    expect(await list.getByText("this is not json").count()).toBe(1);
    expect(await list.getByText('"id":"cg01"').count()).toBe(0);

    await page.getByLabel("Outcome").selectOption("");
    await page.getByLabel("Recorder").selectOption({ label: "Good alerts" });
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(new RegExp(`recorderId=${good.recorderId}`));
    expect(await list.getByText('"id":"cg01"').count()).toBe(1);
    expect(await list.getByText("this is not json").count()).toBe(0);
  });

  it("CG02 an accepted signal opens to each trader's decision, orders (client id, side, qty, type, price, status), fills and latency per stage", async () => {
    const setup = await paperSetup(w.t, {
      multipliers: [1, 2],
      recorderName: "Scalper",
      settings: { takeProfit: [{ ticks: 40, trimPercent: 100 }], stopLossTicks: 40 },
    });
    expect((await w.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: "21000" })).status).toBe(
      200,
    );
    const res = await w.t.webhook(
      setup.token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: "cg02" }),
    );
    expect(res.status).toBe(202);
    const signalId = res.body.signalId as string;
    await settled(signalId, 2);

    const page = await w.signedInPage();
    await page.goto(w.url(`/signals?recorderId=${setup.recorderId}`));
    await page
      .getByRole("row")
      .filter({ hasText: '"id":"cg02"' })
      .getByRole("link", { name: /Open signal/ })
      .click();
    await page.waitForURL(w.url(`/signals/${signalId}`));
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Signal: buy MNQ1!");
    expect(await page.locator("#raw").textContent()).toContain('"id":"cg02"');

    const api = await w.t.api<{
      executions: { account: { name: string }; orders: { clientOrderId: string; leg: string }[] }[];
    }>("GET", `/api/signals/${signalId}`);
    for (const [i, qty] of [1, 2].entries()) {
      const ex = api.body.executions.find((e) => e.account.name === `Paper ${i + 1}`);
      expect(ex).toBeDefined();
      const section = page.getByRole("region", { name: new RegExp(`^Paper ${i + 1} `) });
      const text = (await section.textContent()) ?? "";
      expect(text).toContain("opened");
      // Each order by its client order id, with side, quantity, type and price.
      const entry = ex?.orders.find((o) => o.leg === "entry");
      const tp = ex?.orders.find((o) => o.leg === "tp1");
      const sl = ex?.orders.find((o) => o.leg === "sl1");
      const cells = async (id: string | undefined) =>
        (
          await section
            .getByRole("row")
            .filter({ hasText: id ?? "none" })
            .getByRole("cell")
            .allTextContents()
        ).map((c) => c.trim());
      expect(await cells(entry?.clientOrderId)).toEqual([
        entry?.clientOrderId,
        "entry",
        "buy",
        String(qty),
        "market",
        "market",
        "filled",
        "",
      ]);
      expect((await cells(tp?.clientOrderId)).slice(1, 7)).toEqual([
        "tp1",
        "sell",
        String(qty),
        "limit",
        "21010",
        "working",
      ]);
      expect((await cells(sl?.clientOrderId)).slice(1, 7)).toEqual([
        "sl1",
        "sell",
        String(qty),
        "stop",
        "stop 20990",
        "working",
      ]);
      expect(text).toContain(`buy ${qty} @ 21000 (entry)`);
      // Every stage of an executed market entry has a time, in ms since the webhook arrived.
      const latency = await section.getByRole("table").last().getByRole("cell").allTextContents();
      expect(latency).toHaveLength(5);
      for (const cell of latency) expect(cell).toMatch(/^\d+ ms$/);
    }
  });

  it("CG03 an unknown signal id, or no id at all, is a 404 page", async () => {
    const page = await w.signedInPage();
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-an-id"]) {
      const res = await page.goto(w.url(`/signals/${id}`));
      expect(res?.status()).toBe(404);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Signal not found");
      await page.getByRole("link", { name: "All signals" }).waitFor();
    }
  });

  it("CG04 Older pages back through the API's next, keeping the filter, until the first webhook", async () => {
    const setup = await paperSetup(w.t, { multipliers: [1], recorderName: "Pager" });
    for (let i = 0; i < 52; i++) {
      const r = await w.t.webhook(setup.token, `bad body ${String(i).padStart(2, "0")}`);
      expect(r.status).toBe(422);
    }
    const page = await w.signedInPage();
    await page.goto(w.url(`/signals?recorderId=${setup.recorderId}`));
    const rows = page.locator("#webhook-list tbody tr");
    expect(await rows.count()).toBe(50);
    await page.locator("#webhook-list").getByText("bad body 51").waitFor();
    expect(await page.getByText("bad body 01", { exact: true }).count()).toBe(0);

    await page.getByRole("link", { name: "Older" }).click();
    await page.waitForURL(/before=/);
    expect(new URL(page.url()).searchParams.get("recorderId")).toBe(setup.recorderId);
    expect(await rows.count()).toBe(2);
    expect((await page.locator("#webhook-list tbody").textContent()) ?? "").toContain("bad body 00");
    expect(await page.getByRole("link", { name: "Older" }).count()).toBe(0);
    await page.getByRole("link", { name: "Newest" }).click();
    await page.locator("#webhook-list").getByText("bad body 51").waitFor();
  });
});
