/**
 * A trader's overrides on its page in Chromium: set from the form and stored by the API, used by the next
 * signal (this trader's quantity, the other trader's the recorder's), a refusal shown at the field the API
 * named with nothing stored, and an emptied field handing the setting back to the recorder.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

interface ApiTrader {
  id: string;
  overrides: Record<string, unknown>;
  positions: { contract: string; netQty: number }[];
}

const trader = async (id: string) => (await w.t.api<ApiTrader>("GET", `/api/traders/${id}`)).body;

describe("console trader overrides", () => {
  it("CX01 quantity 3 and a stop set on one trader's page are stored, and a buy opens 3 there while its sibling opens the recorder's 2", async () => {
    const { traderIds, token } = await paperSetup(w.t, {
      multipliers: [1, 1],
      recorderName: "CX01 recorder",
      settings: { quantity: 2, stopLossTicks: 20 },
    });
    const [a = "", b = ""] = traderIds;
    const page = await w.signedInPage();
    await page.goto(w.url(`/traders/${a}`));
    const quantity = page.getByLabel("Contracts per entry");
    // Empty: the recorder's value, which the hint names.
    await expect(quantity.inputValue()).resolves.toBe("");
    await page.locator("#h-quantity").getByText("Empty: the recorder's (2).").waitFor();
    await page.locator("#h-stop").getByText("Empty: the recorder's (20 ticks)").waitFor();
    await quantity.fill("3");
    await page.getByLabel("Stop-loss distance").fill("8");
    await page.getByLabel("Stop-loss unit").selectOption("ticks");
    await page.getByRole("button", { name: "Update overrides" }).click();
    await page.getByRole("status").getByText("Overrides saved.").waitFor();
    expect((await trader(a)).overrides).toEqual({ quantity: 3, stopLossTicks: 8 });
    expect((await trader(b)).overrides).toEqual({});
    // The page shows them back, and the effective settings say where each comes from.
    await expect(page.getByLabel("Contracts per entry").inputValue()).resolves.toBe("3");
    await expect(page.getByLabel("Stop-loss distance").inputValue()).resolves.toBe("8");
    const row = (name: string) => page.locator("#trader-effective tr").filter({ hasText: name });
    await expect(row("Contracts per entry").textContent()).resolves.toMatch(/3\s*this trader/);
    await expect(row("Stop-loss").textContent()).resolves.toMatch(/8 ticks\s*this trader/);
    await expect(row("Sides allowed").textContent()).resolves.toMatch(/both\s*recorder/);

    const hook = await w.t.webhook(
      token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: "cx01" }),
    );
    expect(hook.status).toBe(202);
    const held = (id: string) =>
      waitFor(async () => (await trader(id)).positions[0]?.netQty, `the paper position of ${id}`);
    expect(await held(a)).toBe(3);
    expect(await held(b)).toBe(2);
  });

  it("CX02 a refused override shows the API's message at the field it names, keeps what was typed and stores nothing", async () => {
    const { traderIds } = await paperSetup(w.t, { multipliers: [1], recorderName: "CX02 recorder" });
    const id = traderIds[0] as string;
    expect((await w.t.api("PATCH", `/api/traders/${id}`, { overrides: { quantity: 4 } })).status).toBe(200);
    // The API's own words for the same change.
    const refused = await w.t.api<{ error: { message: string } }>("PATCH", `/api/traders/${id}`, {
      overrides: { quantity: 5, takeProfit: [{ ticks: 12, trimPercent: 150 }] },
    });
    expect(refused.status).toBe(400);
    const message = refused.body.error.message;
    expect(message).toMatch(/^overrides\.takeProfit\.0\.trimPercent: /);

    const page = await w.signedInPage();
    await page.goto(w.url(`/traders/${id}`));
    await page.getByLabel("Contracts per entry").fill("5");
    await page.getByLabel("Target 1: distance").fill("12");
    await page.getByLabel("Target 1: closes % of the position").fill("150");
    await page.getByRole("button", { name: "Update overrides" }).click();
    await page.getByRole("alert").getByText("Overrides not saved: see the field below.").waitFor();
    const targetRow = page.locator("[data-row]").filter({ has: page.getByLabel("Target 1: distance") });
    await targetRow
      .locator(".field-error")
      .getByText(message.replace(/^overrides\.takeProfit\.0\.trimPercent: /, ""))
      .waitFor();
    await expect(page.getByLabel("Target 1: distance").getAttribute("aria-describedby")).resolves.toContain(
      "e-tp.0",
    );
    // What was typed is still there; nothing was stored.
    await expect(page.getByLabel("Contracts per entry").inputValue()).resolves.toBe("5");
    await expect(page.getByLabel("Target 1: distance").inputValue()).resolves.toBe("12");
    await expect(page.getByLabel("Target 1: closes % of the position").inputValue()).resolves.toBe("150");
    expect((await trader(id)).overrides).toEqual({ quantity: 4 });

    // The API's check against the recorder (risk sizing needs a stop) lands at its field too.
    await page.getByLabel("Target 1: distance").fill("");
    await page.getByLabel("Target 1: closes % of the position").fill("");
    await page.getByLabel("Risk per trade, dollars").fill("250");
    await page.getByRole("button", { name: "Update overrides" }).click();
    await page
      .locator(".field-error#e-riskDollars")
      .getByText(/risk sizing divides the risk by the stop's distance/)
      .waitFor();
    await expect(page.getByLabel("Risk per trade, dollars").getAttribute("aria-invalid")).resolves.toBe(
      "true",
    );
    expect((await trader(id)).overrides).toEqual({ quantity: 4 });
  });

  it("CX03 emptying an override hands the setting back to the recorder; no take-profit is an override of its own", async () => {
    const { traderIds } = await paperSetup(w.t, {
      multipliers: [1],
      recorderName: "CX03 recorder",
      settings: { quantity: 2, takeProfit: [{ ticks: 10, trimPercent: 100 }] },
    });
    const id = traderIds[0] as string;
    expect(
      (
        await w.t.api("PATCH", `/api/traders/${id}`, {
          overrides: { quantity: 6, inverse: true, direction: "long" },
        })
      ).status,
    ).toBe(200);
    const page = await w.signedInPage();
    await page.goto(w.url(`/traders/${id}`));
    await expect(page.getByLabel("Contracts per entry").inputValue()).resolves.toBe("6");
    await expect(page.getByLabel("Inverse (trade the opposite side)").inputValue()).resolves.toBe("on");
    await page.locator("#h-takeProfit").getByText("the recorder's (10 ticks closing 100%)").waitFor();
    await page.getByLabel("Contracts per entry").fill("");
    await page.getByLabel("Inverse (trade the opposite side)").selectOption({ label: "recorder's (no)" });
    // No targets typed and "no take-profit" ticked: this trader's own empty list, not the recorder's.
    await page.getByLabel(/No take-profit for this trader/).check();
    await page.getByRole("button", { name: "Update overrides" }).click();
    await page.getByRole("status").getByText("Overrides saved.").waitFor();
    expect((await trader(id)).overrides).toEqual({ direction: "long", takeProfit: [] });
    await expect(page.getByLabel(/No take-profit for this trader/).isChecked()).resolves.toBe(true);
    const tp = page.locator("#trader-effective tr").filter({ hasText: "Take-profit" });
    await expect(tp.textContent()).resolves.toMatch(/none\s*this trader/);
    await expect(page.getByLabel("Contracts per entry").inputValue()).resolves.toBe("");
    await expect(page.getByLabel("Contracts per entry").getAttribute("placeholder")).resolves.toBe(
      "recorder's: 2",
    );
    const row = page.locator("#trader-effective tr").filter({ hasText: "Contracts per entry" });
    await expect(row.textContent()).resolves.toMatch(/2\s*recorder/);
    await expect(page.getByLabel("Sides allowed").inputValue()).resolves.toBe("long");
  });
});
