/**
 * The console's recorder pages in Chromium: create and edit every setting through the API (its messages
 * next to the field), the take-profit and trading-window editors with and without script, the webhook URL
 * (copy, rotate), the alert-message builder's output accepted by the webhook, enable/disable, the leader
 * and delete.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { samples, substitute } from "../../src/console/alert-builder";
import { type ConsoleWorld, signIn, startConsoleWorld } from "./support/browser";

interface Recorder {
  id: string;
  name: string;
  enabled: boolean;
  webhookToken: string;
  webhookUrl: string;
  [k: string]: unknown;
}

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

const recorders = async () =>
  (await w.t.api<{ recorders: Recorder[] }>("GET", "/api/recorders")).body.recorders;
const recorder = async (id: string) => (await w.t.api<Recorder>("GET", `/api/recorders/${id}`)).body;

/** CSP refusals and script errors the page met: there must be none (a 400 page answer is not one). */
function problems(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) seen.push(m.text());
  });
  page.on("pageerror", (e) => seen.push(e.message));
  return seen;
}

async function createViaApi(name: string, settings: Record<string, unknown> = {}): Promise<Recorder> {
  const r = await w.t.api<Recorder>("POST", "/api/recorders", { name, ...settings });
  expect(r.status).toBe(201);
  return r.body;
}

async function paperTrader(recorderId: string): Promise<{ accountId: string; traderId: string }> {
  const account = await w.t.api<{ id: string }>("POST", "/api/accounts", { name: "Paper", broker: "paper" });
  const trader = await w.t.api<{ id: string }>("POST", "/api/traders", {
    recorderId,
    accountId: account.body.id,
  });
  expect(trader.status).toBe(201);
  return { accountId: account.body.id, traderId: trader.body.id };
}

describe("console recorders", () => {
  it("CR01 without script, a recorder is created from the form with targets, a stop, windows and flags, as the API then shows", async () => {
    const ctx = await w.browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await signIn(page, w.base);
    await page.goto(w.url("/recorders"));
    const form = page.locator("form.recorder-form");
    await form.getByLabel("Name").fill("ES scalper");
    await form.getByLabel("Contracts per entry").fill("2");
    await form.getByLabel("Most contracts held").fill("6");
    // Without script the editor shows two blank rows: one target each.
    await form.getByLabel("Target 1: distance").fill("16");
    await form.getByLabel("Target 1: closes % of the position").fill("100");
    await form.getByLabel("Target 2: distance").fill("8");
    await form.getByLabel("Target 2: closes % of the position").fill("50");
    await form.getByLabel("Stop-loss distance").fill("12");
    await form.getByLabel("Window 1: start (HH:MM)").fill("08:30");
    await form.getByLabel("Window 1: end (HH:MM)").fill("15:00");
    const days = form.getByRole("group", { name: "Window 1: days" });
    await days.getByLabel("Mon").check();
    await days.getByLabel("Fri").check();
    await form.getByLabel("Time zone").fill("America/New_York");
    await form.getByLabel("Flatten every trader when the windows close").check();
    await form.getByLabel("Add on same-direction signals").check();
    await form.getByLabel("Sides allowed").selectOption("long");
    await form.getByLabel("Break-even after (ticks of profit)").fill("10");
    await form.getByRole("button", { name: "Create recorder" }).click();
    await page.waitForURL(/\/recorders\/[0-9a-f-]{36}\?ok=/);
    await page.getByRole("status").getByText("Recorder ES scalper created.").waitFor();

    const created = (await recorders()).find((r) => r.name === "ES scalper");
    expect(created).toMatchObject({
      enabled: true,
      quantity: 2,
      maxContracts: 6,
      takeProfit: [
        { ticks: 8, trimPercent: 50 },
        { ticks: 16, trimPercent: 100 },
      ],
      stopLossTicks: 12,
      tradingWindows: [{ start: "08:30", end: "15:00", days: ["mon", "fri"] }],
      timeZone: "America/New_York",
      flattenAtWindowEnd: true,
      avgDown: true,
      direction: "long",
      breakEvenTicks: 10,
      maxSignalAgeSeconds: 30,
    });
    // Unset settings stay unset, not zero.
    expect(created?.addQuantity).toBeUndefined();
    expect(created?.riskDollars).toBeUndefined();
    await ctx.close();
  });

  it("CR02 a negative quantity is refused with the API's message next to the field (400), the typed values kept, nothing created", async () => {
    const page = await w.signedInPage();
    await page.goto(w.url("/recorders"));
    const before = (await recorders()).length;
    const form = page.locator("form.recorder-form");
    await form.getByLabel("Name").fill("Bad quantity");
    await form.getByLabel("Contracts per entry").fill("-1");
    await form.getByLabel("Target 1: distance").fill("20");
    await form.getByLabel("Target 1: closes % of the position").fill("100");
    const answer = page.waitForResponse(
      (r) => r.url() === w.url("/recorders") && r.request().method() === "POST",
    );
    await form.getByRole("button", { name: "Create recorder" }).click();
    expect((await answer).status()).toBe(400);

    const quantity = page.getByLabel("Contracts per entry");
    await expect(quantity.inputValue()).resolves.toBe("-1");
    expect(await quantity.getAttribute("aria-invalid")).toBe("true");
    const message = await page.locator("#e-quantity").textContent();
    expect(message).toMatch(/>=\s*1/);
    // The message is the control's description, so a screen reader reads it with the field.
    expect(await quantity.getAttribute("aria-describedby")).toContain("e-quantity");
    await expect(page.getByRole("alert").first().textContent()).resolves.toContain("quantity:");
    await expect(page.getByLabel("Name").inputValue()).resolves.toBe("Bad quantity");
    await expect(page.getByLabel("Target 1: distance").inputValue()).resolves.toBe("20");
    expect((await recorders()).length).toBe(before);

    // A problem inside a target row is shown on that row.
    await page.getByLabel("Contracts per entry").fill("1");
    await page.getByLabel("Target 1: closes % of the position").fill("0");
    await page.getByRole("button", { name: "Create recorder" }).click();
    await page.locator("#e-tp\\.0").waitFor();
    expect(await page.locator("#e-tp\\.0").textContent()).toMatch(/>\s*0/);
  });

  it("CR03 editing settings and targets (rows added and removed by script) changes exactly those settings; empty resets a setting", async () => {
    const rec = await createViaApi("Edit me", {
      quantity: 1,
      maxContracts: 5,
      takeProfit: [
        { ticks: 4, trimPercent: 50 },
        { ticks: 8, trimPercent: 100 },
      ],
      stopLossTicks: 10,
    });
    const page = await w.signedInPage();
    const seen = problems(page);
    await page.goto(w.url(`/recorders/${rec.id}`));
    const form = page.locator("form.recorder-form");
    await expect(form.getByLabel("Target 2: distance").inputValue()).resolves.toBe("8");
    await form.getByLabel("Contracts per entry").fill("3");
    await form.getByLabel("Most contracts held").fill("");
    await form.getByRole("button", { name: "Remove target 1" }).click();
    await form.getByLabel("Target 2: distance").fill("12");
    await form.getByRole("button", { name: "Add a target" }).click();
    await form.getByLabel("Target 5: distance").fill("20");
    await form.getByLabel("Target 5: closes % of the position").fill("100");
    await form.getByLabel("Target 2: closes % of the position").fill("50");
    await form.getByLabel("Stop-loss unit").selectOption("points");
    await form.getByLabel("Stop-loss distance").fill("2.5");
    await form.getByLabel("Trailing stop", { exact: true }).check();
    await form
      .getByLabel("Discord user ids (comma separated)")
      .fill("123456789012345678, 223456789012345678");
    await form.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("status").getByText("Settings saved.").waitFor();

    const after = await recorder(rec.id);
    expect(after).toMatchObject({
      quantity: 3,
      takeProfit: [
        { ticks: 12, trimPercent: 50 },
        { ticks: 20, trimPercent: 100 },
      ],
      stopLossTicks: 0,
      stopLoss: { points: 2.5 },
      trailingStop: true,
      discordUserIds: ["123456789012345678", "223456789012345678"],
      name: "Edit me",
    });
    expect(after.maxContracts).toBeUndefined();
    // The page shows what was stored.
    await expect(page.getByLabel("Stop-loss distance").inputValue()).resolves.toBe("2.5");
    await expect(page.getByLabel("Target 1: distance").inputValue()).resolves.toBe("12");

    // Saving an unchanged form sends nothing.
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("status").getByText("Nothing changed.").waitFor();

    // A bad value on edit: the API's message at the field, the typed value kept, nothing stored.
    await page.getByLabel("Risk per trade, dollars").fill("12.345");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator("#e-riskDollars").waitFor();
    expect(await page.locator("#e-riskDollars").textContent()).toContain("dollars and cents");
    await expect(page.getByLabel("Risk per trade, dollars").inputValue()).resolves.toBe("12.345");
    expect((await recorder(rec.id)).riskDollars).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it("CR04 the list and the recorder page show the webhook URL with a copy button that copies it", async () => {
    const rec = await createViaApi("Copy me");
    const page = await w.signedInPage();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: w.base });
    const seen = problems(page);
    await page.goto(w.url("/recorders"));
    const row = page.getByRole("row", { name: /Copy me/ });
    await expect(row.locator("code").textContent()).resolves.toBe(rec.webhookUrl);
    await row.getByRole("button", { name: "Copy the webhook URL of Copy me" }).click();
    await row.getByRole("button", { name: "Copy the webhook URL of Copy me" }).getByText("Copied").waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(rec.webhookUrl);

    await page.goto(w.url(`/recorders/${rec.id}`));
    await expect(page.locator("#webhook-url").textContent()).resolves.toBe(rec.webhookUrl);
    await page.getByRole("button", { name: "Copy URL" }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(rec.webhookUrl);
    expect(seen).toEqual([]);
  });

  it("CR05 rotating the token asks first, then shows a new URL; the old URL stops working", async () => {
    const rec = await createViaApi("Rotate me");
    await paperTrader(rec.id);
    const page = await w.signedInPage();
    await page.goto(w.url(`/recorders/${rec.id}`));
    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Rotate the webhook URL" }).click();
    expect((await recorder(rec.id)).webhookToken).toBe(rec.webhookToken);

    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Rotate the webhook URL" }).click();
    await page.getByRole("status").getByText("New webhook URL issued").waitFor();
    const now = await recorder(rec.id);
    expect(now.webhookToken).not.toBe(rec.webhookToken);
    await expect(page.locator("#webhook-url").textContent()).resolves.toBe(now.webhookUrl);
    const body = JSON.stringify({ ticker: "MNQ1!", action: "buy" });
    expect((await w.t.webhook(rec.webhookToken, body)).status).toBe(404);
    expect((await w.t.webhook(now.webhookToken, body)).status).toBe(202);
  });

  it("CR06 the alert builder's messages, filled in as TradingView does, are accepted by the webhook (202)", async () => {
    const rec = await createViaApi("Builder");
    await paperTrader(rec.id);
    const page = await w.signedInPage();
    await page.goto(w.url(`/recorders/${rec.id}`));
    const builder = page.locator("#alert");
    const strategy = await builder.getByLabel("Alert message").inputValue();
    expect(strategy).toContain("{{strategy.order.action}}");
    await builder.getByText("Checked: our intake accepts this message").waitFor();

    // An indicator with a fixed action and overrides, built by the GET form.
    await builder.getByLabel("an indicator (one fixed action)").check();
    await builder.getByLabel("Action (indicator alerts)").selectOption("sell");
    await builder.getByLabel("Quantity").fill("2");
    await builder.getByLabel("Take-profit", { exact: true }).fill("10");
    await builder.getByLabel("Stop-loss", { exact: true }).fill("1.5");
    await builder.getByLabel("Stop-loss unit").selectOption("points");
    await builder.getByLabel("Break-even after (ticks)").fill("6");
    await builder.getByLabel("an alert id (a re-sent alert runs once)").check();
    await builder.getByRole("button", { name: "Build the message" }).click();
    await page.waitForURL(/kind=indicator/);
    const indicator = await page.locator("#alert").getByLabel("Alert message").inputValue();
    expect(JSON.parse(indicator)).toMatchObject({
      action: "sell",
      quantity: "2",
      takeProfit: { ticks: "10" },
      stopLoss: { points: "1.5" },
      breakeven: "6",
    });
    await page.locator("#alert").getByText("Checked: our intake accepts this message").waitFor();

    for (const message of [strategy, indicator]) {
      const sent = substitute(message, samples(new Date()));
      expect(sent).not.toContain("{{");
      const res = await w.t.webhook(rec.webhookToken, sent);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    // A value the intake would refuse is named at its field, not put into the message.
    await page.locator("#alert").getByLabel("Quantity").fill("1,5");
    await page.locator("#alert").getByRole("button", { name: "Build the message" }).click();
    await page.locator("#ab-quantity-e").waitFor();
    expect(await page.locator("#alert").getByLabel("Alert message").inputValue()).not.toContain("1,5");
  });

  it("CR07 disable and enable: a disabled recorder's alerts are refused", async () => {
    const rec = await createViaApi("Switch me");
    const page = await w.signedInPage();
    await page.goto(w.url(`/recorders/${rec.id}`));
    await page.getByRole("button", { name: "Disable" }).click();
    await page.getByRole("status").getByText("Disabled").waitFor();
    expect((await recorder(rec.id)).enabled).toBe(false);
    const res = await w.t.webhook(rec.webhookToken, JSON.stringify({ ticker: "MNQ1!", action: "buy" }));
    expect(res.status).toBe(422);
    await page.getByRole("button", { name: "Enable" }).click();
    await page.getByRole("status").getByText("Enabled").waitFor();
    expect((await recorder(rec.id)).enabled).toBe(true);
  });

  it("CR08 delete asks first; the API's refusal while traders follow is shown; without traders it is gone", async () => {
    const held = await createViaApi("Held");
    await paperTrader(held.id);
    const page = await w.signedInPage();
    await page.goto(w.url(`/recorders/${held.id}`));
    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Delete recorder" }).click();
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete recorder" }).click();
    await page.getByRole("alert").getByText("delete those links first").waitFor();
    expect((await w.t.api("GET", `/api/recorders/${held.id}`)).status).toBe(200);

    const free = await createViaApi("Free");
    await page.goto(w.url(`/recorders/${free.id}`));
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete recorder" }).click();
    await page.getByRole("status").getByText("Recorder deleted.").waitFor();
    expect((await w.t.api("GET", `/api/recorders/${free.id}`)).status).toBe(404);
    expect(await page.getByRole("row", { name: /^Free/ }).count()).toBe(0);
  });

  it("CR09 the leader: an account's sub-account is chosen and set through the API, then removed", async () => {
    const rec = await createViaApi("Led");
    const account = await w.t.api<{ id: string; brokerAccounts: { id: string }[] }>("POST", "/api/accounts", {
      name: "Leader login",
      broker: "paper",
    });
    const page = await w.signedInPage();
    await page.goto(w.url(`/recorders/${rec.id}`));
    const sub = (
      await w.t.api<{ brokerAccounts: { id: string }[] }>("GET", `/api/accounts/${account.body.id}`)
    ).body.brokerAccounts[0]?.id;
    await page.getByLabel("Account and sub-account").selectOption(`${account.body.id}:${sub ?? ""}`);
    await page.getByRole("button", { name: "Set leader" }).click();
    await page.getByRole("status").getByText("Leader set").waitFor();
    const leader = await w.t.api<{ leader: { accountId: string } | null }>(
      "GET",
      `/api/recorders/${rec.id}/leader`,
    );
    expect(leader.body.leader?.accountId).toBe(account.body.id);
    await page.getByText("Leader: Leader login").waitFor();

    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Remove leader" }).click();
    await page.getByRole("status").getByText("Leader removed.").waitFor();
    const gone = await w.t.api<{ leader: unknown }>("GET", `/api/recorders/${rec.id}/leader`);
    expect(gone.body.leader).toBeNull();
  });
});
