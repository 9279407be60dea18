/**
 * The Accounts page in Chromium: adding a login with its broker's form and seeing its session and
 * sub-accounts, secrets never written back, testing a connection, editing and deleting a login.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paperSetup } from "../support/relay";
import { type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

interface ApiAccount {
  id: string;
  name: string;
  maxDailyLoss: string | null;
  brokerAccounts: { id: string; name: string }[];
  session: { state: string } | null;
}

const accounts = async () =>
  (await w.t.api<{ accounts: ApiAccount[] }>("GET", "/api/accounts")).body.accounts;

describe("console accounts", () => {
  it("CA01 a paper login added with the paper form comes up connected, its sub-account shown by name", async () => {
    const page = await w.signedInPage();
    await page.goto(w.url("/accounts"));
    await page.getByRole("link", { name: "Add a broker login" }).click();
    await page.getByRole("navigation", { name: "Broker" }).getByRole("link", { name: "Paper" }).click();
    await page.getByLabel("Name", { exact: true }).fill("CA01 paper");
    await page.getByLabel("Starting balance (dollars) (optional)").fill("25000");
    await page.getByRole("button", { name: "Add login and connect" }).click();
    await page.waitForURL(/\/accounts\/[0-9a-f-]{36}\?ok=/);
    await page.getByRole("status").getByText("CA01 paper: connected, 1 sub-account.").waitFor();

    const added = (await accounts()).find((a) => a.name === "CA01 paper");
    expect(added?.session?.state).toBe("ready");
    expect(added?.brokerAccounts.map((b) => b.name)).toEqual(["CA01 paper (paper)"]);

    await page.goto(w.url("/accounts"));
    const row = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "CA01 paper" }) });
    await expect(row.getByText("connected", { exact: true }).count()).resolves.toBe(1);
    await expect(row.getByText("CA01 paper (paper)").count()).resolves.toBe(1);
  });

  it("CA02 secrets typed into a form the API refuses are not in the page it re-renders; the rest is kept", async () => {
    const page = await w.signedInPage();
    await page.goto(w.url("/accounts/new?broker=tradovate"));
    await expect(page.getByLabel("Password (optional)").getAttribute("type")).resolves.toBe("password");
    await expect(page.getByLabel("Password (optional)").getAttribute("autocomplete")).resolves.toBe("off");
    await page.getByLabel("Name", { exact: true }).fill("CA02 tradovate");
    await page.getByLabel("Password (optional)").fill("CA02-pass-s3cret");
    await page.getByLabel("API key id (cid) (optional)").fill("4242");
    await page.getByLabel("API secret (sec) (optional)").fill("CA02-sec-s3cret");
    await page.getByRole("button", { name: "Add login and connect" }).click();
    await page.getByText("Tradovate username is required").waitFor();

    const html = await page.content();
    expect(html).not.toContain("CA02-pass-s3cret");
    expect(html).not.toContain("CA02-sec-s3cret");
    await expect(page.getByLabel("Password (optional)").inputValue()).resolves.toBe("");
    await expect(page.getByLabel("Name", { exact: true }).inputValue()).resolves.toBe("CA02 tradovate");
    await expect(page.getByLabel("API key id (cid) (optional)").inputValue()).resolves.toBe("4242");
    expect((await accounts()).some((a) => a.name === "CA02 tradovate")).toBe(false);
    expect(w.t.logs.join("\n")).not.toContain("CA02-pass-s3cret");
  });

  it("CA03 testing the connection shows the session it found: connected with its sub-accounts, or the broker's error", async () => {
    const made = await w.t.api<{ id: string }>("POST", "/api/accounts", {
      name: "CA03 paper",
      broker: "paper",
    });
    const page = await w.signedInPage();
    await page.goto(w.url("/accounts"));
    await page.getByRole("button", { name: "Test the connection of CA03 paper" }).click();
    await page.getByRole("status").getByText("CA03 paper: connected, 1 sub-account.").waitFor();
    expect(new URL(page.url()).pathname).toBe("/accounts");

    // A ProjectX login at a firm host nobody listens on: added, but its session does not come up.
    await page.goto(w.url("/accounts/new?broker=projectx"));
    await page.getByLabel("Name", { exact: true }).fill("CA03 unreachable");
    await page.getByLabel("User name").fill("ca03");
    await page.getByLabel("API key").fill("CA03-key-s3cret");
    await page.getByLabel("Firm API host (optional)").fill("http://127.0.0.1:9");
    await page.getByLabel("Firm real-time host (optional)").fill("http://127.0.0.1:9");
    await page.getByRole("button", { name: "Add login and connect" }).click();
    await page.waitForURL(/\/accounts\/[0-9a-f-]{36}\?error=/);
    const alert = (await page.getByRole("alert").filter({ hasText: "CA03 unreachable" }).textContent()) ?? "";
    expect(alert).toContain("Added, but the session did not come up. CA03 unreachable:");
    expect(alert).toMatch(/CA03 unreachable: down: .*ECONNREFUSED/);
    await page.getByRole("button", { name: "Test the connection of CA03 unreachable" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /^CA03 unreachable: down: .*ECONNREFUSED/ })
      .waitFor();
    const row = await w.t.api<{ accounts: ApiAccount[] }>("GET", "/api/accounts");
    expect(row.body.accounts.find((a) => a.name === "CA03 unreachable")?.session?.state).toBe("error");
    expect(await page.content()).not.toContain("CA03-key-s3cret");
    expect(made.status).toBe(201);
  });

  it("CA04 edit: name and the login's loss limit go through PATCH; a refused value shows the API's message", async () => {
    const made = await w.t.api<{ id: string }>("POST", "/api/accounts", {
      name: "CA04 paper",
      broker: "paper",
    });
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${made.body.id}`));
    await page.getByLabel("Name", { exact: true }).fill("CA04 renamed");
    await page.getByLabel("Daily loss limit of the whole login (dollars)").fill("750.50");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("Saved.").waitFor();
    const a = (await accounts()).find((x) => x.id === made.body.id);
    expect(a).toMatchObject({ name: "CA04 renamed", maxDailyLoss: "750.5" });

    await page.getByLabel("Daily loss limit of the whole login (dollars)").fill("-3");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("must be a number greater than 0").waitFor();
    await expect(
      page.getByLabel("Daily loss limit of the whole login (dollars)").getAttribute("aria-invalid"),
    ).resolves.toBe("true");
    expect((await accounts()).find((x) => x.id === made.body.id)?.maxDailyLoss).toBe("750.5");
  });

  it("CA05 delete asks first, shows the API's refusal for a login with traders, and with flatten deletes it", async () => {
    const { accountIds } = await paperSetup(w.t, { multipliers: [1], recorderName: "CA05 recorder" });
    const id = accountIds[0] as string;
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${id}`));

    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Delete login" }).click();
    expect((await accounts()).some((a) => a.id === id)).toBe(true);

    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete login" }).click();
    await page.getByRole("alert").getByText("linked to 1 trader(s)").waitFor();
    expect((await accounts()).some((a) => a.id === id)).toBe(true);

    await page.getByLabel(/Flatten first/).check();
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete login" }).click();
    await page.getByRole("status").getByText("Login deleted.").waitFor();
    expect((await accounts()).some((a) => a.id === id)).toBe(false);
    const traders = await w.t.api<{ traders: { accountId: string }[] }>("GET", "/api/traders");
    expect(traders.body.traders.some((t) => t.accountId === id)).toBe(false);
  });
});
