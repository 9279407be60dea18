/**
 * The control center in Chromium: executions by status with what happened, the paper market's price,
 * the book against the broker.
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

describe("console control center", () => {
  it("CC01 an execution sized to nothing is listed under its status with the reason, linked to its signal", async () => {
    const { token } = await paperSetup(w.t, { multipliers: ["0.1"], recorderName: "Tiny" });
    await w.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: "21000" });
    const res = await w.t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", id: "cc01" }));
    const signalId = res.body.signalId as string;
    await waitFor(async () => {
      const rows = await w.t.sql`select status from executions where signal_id = ${signalId}`;
      return rows[0]?.status === "ignored";
    }, "the execution ignored");
    const page = await w.signedInPage();
    await page.goto(w.url("/control"));
    await page.getByLabel("Status").selectOption("ignored");
    await page.getByRole("button", { name: "Show" }).click();
    const row = page.locator("#executions tbody tr").first();
    await expect(row.textContent()).resolves.toMatch(/Tiny/);
    await expect(row.textContent()).resolves.toMatch(/ignored/);
    expect(await row.getByRole("link").getAttribute("href")).toBe(`/signals/${signalId}`);
  });

  it("CC02 the paper market's price is set from the form; a bad price gets the API's message", async () => {
    const page = await w.signedInPage();
    await page.goto(w.url("/control"));
    await page.getByLabel("Symbol").fill("MNQ1!");
    await page.getByLabel("Price").fill("21012.25");
    await page.getByRole("button", { name: "Set price" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toMatch(/is now 21012\.25/);

    await page.getByLabel("Symbol").fill("MNQ1!");
    await page.getByLabel("Price").fill("-5");
    await page.getByRole("button", { name: "Set price" }).click();
    await expect(page.locator(".flash.error").textContent()).resolves.toMatch(
      /price: must be a number greater than 0/,
    );
  });

  it("CC03 the relay's health and the book against the broker are shown", async () => {
    const page = await w.signedInPage();
    await page.goto(w.url("/control"));
    await expect(page.locator("#health").textContent()).resolves.toMatch(/Sessions ready/);
    await expect(page.locator("#drift").textContent()).resolves.toMatch(/matches every broker/);
  });
});
