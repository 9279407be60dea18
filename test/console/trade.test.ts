/**
 * The manual trade page in Chromium: choose the recorder, fill in the trade, review exactly what will be
 * sent, confirm the dialog; the paper position appears. The form's requestId makes a double submit the
 * same trade, and the API's refusals come back next to the field.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
  // The paper market needs a price to fill market orders.
  const price = await w.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: "21000" });
  if (price.status !== 200) throw new Error(JSON.stringify(price.body));
});
afterAll(() => w?.stop());

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

async function netQty(traderId: string): Promise<number> {
  const r = await w.t.api<{ positions: { netQty: number }[] }>("GET", `/api/traders/${traderId}`);
  return r.body.positions.reduce((n, p) => n + p.netQty, 0);
}

/** From /trade to the review page: recorder, contract, side, quantity and the one trader. */
async function review(page: Page, recorder: string, o: { ticker: string; quantity: string; trader: string }) {
  await page.goto(w.url("/trade"));
  await page.getByLabel("Recorder").selectOption({ label: recorder });
  await page.getByRole("button", { name: "Choose" }).click();
  await page.getByLabel("Contract", { exact: true }).fill(o.ticker);
  await page.getByLabel("Buy").check();
  await page.getByLabel("Quantity (contracts)").fill(o.quantity);
  await page.getByLabel("This trader only").check();
  await page.getByLabel("Trader", { exact: true }).selectOption({ label: o.trader });
  await page.getByRole("button", { name: "Review" }).click();
  await page.waitForURL(w.url("/trade/review"));
}

describe("console manual trade", () => {
  it("CM01 a manual buy on one trader, reviewed and confirmed in the dialog, opens that paper position only", async () => {
    const { traderIds, accountIds } = await paperSetup(w.t, { multipliers: [1, 2], recorderName: "CM01" });
    const [one = "", two = ""] = traderIds;
    const account = await w.t.api<{ brokerAccounts: { id: string }[] }>(
      "GET",
      `/api/accounts/${accountIds[1]}`,
    );
    const label = `Paper 2 · ${account.body.brokerAccounts[0]?.id} (×2)`;
    const page = await w.signedInPage();
    await review(page, "CM01", { ticker: "MNQ1!", quantity: "2", trader: label });

    const summary = `BUY 2 MNQ1! on ${label}`;
    await expect(page.locator("#trade-summary").textContent()).resolves.toBe(summary);
    let asked = "";
    page.once("dialog", (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.getByRole("button", { name: "Send trade" }).click();
    await page.waitForURL(new RegExp(`/signals/${UUID}\\?ok=`));
    expect(asked).toBe(`Send this trade now? ${summary}.`);
    const signalId = new URL(page.url()).pathname.split("/")[2] ?? "";

    await waitFor(async () => (await netQty(two)) === 4, "the chosen trader's paper position of 2 x 2");
    expect(await netQty(one)).toBe(0);
    const signal = await w.t.api<{ source: string; executions: { traderId: string }[] }>(
      "GET",
      `/api/signals/${signalId}`,
    );
    expect(signal.body.source).toBe("manual");
    expect(signal.body.executions.map((e) => e.traderId)).toEqual([two]);
  });

  it("CM02 the confirmed form sent twice is one trade: the second answers with the same signal and sends nothing", async () => {
    const { traderIds, accountIds } = await paperSetup(w.t, { multipliers: [1], recorderName: "CM02" });
    const account = await w.t.api<{ brokerAccounts: { id: string }[] }>(
      "GET",
      `/api/accounts/${accountIds[0]}`,
    );
    const label = `Paper 1 · ${account.body.brokerAccounts[0]?.id} (×1)`;
    const page = await w.signedInPage();
    await review(page, "CM02", { ticker: "MNQ1!", quantity: "1", trader: label });
    // What the browser would post, sent twice (a double click, a resubmitted page).
    const form: Record<string, string> = JSON.parse(
      String(
        await page.evaluate(
          "JSON.stringify(Object.fromEntries(new FormData(document.querySelector('form[action=\"/trade\"]'))))",
        ),
      ),
    );
    const send = () =>
      page.request.post(w.url("/trade"), { form, headers: { origin: w.base }, maxRedirects: 0 });
    const [first, second] = [await send(), await send()];
    expect(first.status()).toBe(303);
    expect(second.status()).toBe(303);
    expect(second.headers().location?.split("?")[0]).toBe(first.headers().location?.split("?")[0]);
    expect(decodeURIComponent(second.headers().location ?? "")).toContain("already sent");
    await waitFor(async () => (await netQty(traderIds[0] ?? "")) === 1, "one paper position of 1");
    const [orders] = await w.t.sql`
      select count(*)::int as n from broker_orders where trader_id = ${traderIds[0] ?? ""}`;
    expect(Number(orders?.n)).toBe(1);
  });

  it("CM03 a trade the API refuses comes back with its message next to the field, what was typed kept", async () => {
    const { accountIds } = await paperSetup(w.t, { multipliers: [1], recorderName: "CM03" });
    const account = await w.t.api<{ brokerAccounts: { id: string }[] }>(
      "GET",
      `/api/accounts/${accountIds[0]}`,
    );
    const label = `Paper 1 · ${account.body.brokerAccounts[0]?.id} (×1)`;
    const page = await w.signedInPage();
    await review(page, "CM03", { ticker: "NOPE1!", quantity: "1", trader: label });
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Send trade" }).click();
    await page.waitForURL(w.url("/trade"));
    await expect(page.getByRole("alert").textContent()).resolves.toContain("ticker: Unknown ticker");
    await expect(page.locator("#ticker-error").textContent()).resolves.toContain("Unknown ticker");
    await expect(page.getByLabel("Contract", { exact: true }).inputValue()).resolves.toBe("NOPE1!");
    await expect(page.getByLabel("Contract", { exact: true }).getAttribute("aria-invalid")).resolves.toBe(
      "true",
    );
  });
});
