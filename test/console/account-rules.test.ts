/**
 * A login's page in Chromium: prop-firm rules per sub-account (a preset with an override, the API's
 * refusal at the field, removing them, the loss monitor's live figures) and replacing its credentials
 * (confirmed first, the session logs in again, a secret never written back).
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

interface ApiAccount {
  id: string;
  name: string;
  brokerAccounts: { id: string; name: string }[];
  session: { state: string } | null;
  propRules: Record<string, unknown>[];
}
interface PropLive {
  brokerAccountId: string;
  preset: string | null;
  floor: string | null;
  drawdownLeft: string | null;
  lossLimit: string | null;
  maxContracts: number | null;
}

const account = async (id: string) => (await w.t.api<ApiAccount>("GET", `/api/accounts/${id}`)).body;
const liveProp = async (id: string) => {
  const r = await w.t.api<{ accounts: { accountId: string; prop: PropLive[] }[] }>(
    "GET",
    "/api/loss-monitor",
  );
  return r.body.accounts.find((a) => a.accountId === id)?.prop ?? [];
};

async function paperLogin(name: string): Promise<ApiAccount> {
  const made = await w.t.api<{ id: string }>("POST", "/api/accounts", { name, broker: "paper" });
  expect(made.status).toBe(201);
  return account(made.body.id);
}

const subGroup = (page: Page, name: string) => page.getByRole("group", { name, exact: true });

describe("console account rules and credentials", () => {
  it("CP01 a Topstep 50K preset with max contracts overridden, set on a paper sub-account, is stored and watched live", async () => {
    const a = await paperLogin("CP01 paper");
    const sub = a.brokerAccounts[0];
    expect(sub?.name).toBe("CP01 paper (paper)");
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${a.id}`));
    const group = subGroup(page, "CP01 paper (paper)");
    await group.getByText("No live figures").waitFor();
    await group.getByLabel("Preset").selectOption("topstep-50k");
    await group.getByLabel("Max contracts").fill("3");
    await page.getByRole("button", { name: "Apply prop rules" }).click();
    await page.getByRole("status").getByText("Prop rules saved.").waitFor();

    expect((await account(a.id)).propRules).toEqual([
      { brokerAccountId: sub?.id, riskPreset: "topstep-50k", maxContracts: 3 },
    ]);
    // The monitor applies the preset's plan with the override: floor 50,000 - 2,000, loss limit 1,000.
    await expect
      .poll(async () => (await liveProp(a.id))[0])
      .toMatchObject({
        brokerAccountId: sub?.id,
        preset: "topstep-50k",
        floor: "48000",
        drawdownLeft: "2000",
        lossLimit: "1000",
        maxContracts: 3,
      });
    // The page shows what is stored in the form and the live figures under the sub-account.
    await page.reload();
    await expect(group.getByLabel("Preset").inputValue()).resolves.toBe("topstep-50k");
    await expect(group.getByLabel("Max contracts").inputValue()).resolves.toBe("3");
    await expect(group.getByLabel("Starting balance").inputValue()).resolves.toBe("");
    const facts = group.locator("dl.facts");
    await expect(facts.locator("dt:text-is('Drawdown left') + dd").textContent()).resolves.toBe("2000");
    await expect(facts.locator("dt:text-is('Floor (eod)') + dd").textContent()).resolves.toBe("48000");
    await expect(facts.locator("dt:text-is('Contracts in use') + dd").textContent()).resolves.toBe("0 of 3");
  });

  it('CP06 max contracts "none" lifts a preset\'s limit: stored as null, watched without a limit, shown as none', async () => {
    const a = await paperLogin("CP06 paper");
    const sub = a.brokerAccounts[0];
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${a.id}`));
    const group = subGroup(page, "CP06 paper (paper)");
    await group.getByLabel("Preset").selectOption("topstep-50k");
    await group.getByLabel("Max contracts").fill("none");
    await page.getByRole("button", { name: "Apply prop rules" }).click();
    await page.getByRole("status").getByText("Prop rules saved.").waitFor();
    expect((await account(a.id)).propRules).toEqual([
      { brokerAccountId: sub?.id, riskPreset: "topstep-50k", maxContracts: null },
    ]);
    await expect
      .poll(async () => (await liveProp(a.id))[0])
      .toMatchObject({ brokerAccountId: sub?.id, preset: "topstep-50k", maxContracts: null });
    await page.reload();
    await expect(group.getByLabel("Max contracts").inputValue()).resolves.toBe("none");
  });

  it("CP02 a negative amount shows the API's message at its field, keeps what was typed and stores nothing", async () => {
    const a = await paperLogin("CP02 paper");
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${a.id}`));
    const group = subGroup(page, "CP02 paper (paper)");
    await group.getByLabel("Preset").selectOption("apex-50k");
    await group.getByLabel("Daily loss limit", { exact: true }).fill("-5");
    await group.getByLabel("Starting balance").fill("52000");
    await page.getByRole("button", { name: "Apply prop rules" }).click();
    await page.getByRole("alert").getByText("Prop rules not saved: see the field below.").waitFor();

    const amount = group.getByLabel("Daily loss limit", { exact: true });
    await expect(amount.getAttribute("aria-invalid")).resolves.toBe("true");
    const described = (await amount.getAttribute("aria-describedby")) ?? "";
    await expect(page.locator(`#${described}`).textContent()).resolves.toBe("must be dollars greater than 0");
    await expect(amount.inputValue()).resolves.toBe("-5");
    await expect(group.getByLabel("Preset").inputValue()).resolves.toBe("apex-50k");
    await expect(group.getByLabel("Starting balance").inputValue()).resolves.toBe("52000");
    expect((await account(a.id)).propRules).toEqual([]);
    expect(await liveProp(a.id)).toEqual([]);

    // A rule that needs another field: the API's message lands at the field it names.
    await amount.fill("");
    await group.getByLabel("Preset").selectOption("");
    await group.getByLabel("Starting balance").fill("");
    await group.getByLabel("Trailing drawdown").selectOption("eod");
    await group.getByLabel("Drawdown amount").fill("2000");
    await page.getByRole("button", { name: "Apply prop rules" }).click();
    await page.getByRole("alert").getByText("Prop rules not saved: see the field below.").waitFor();
    await expect(group.getByLabel("Starting balance").getAttribute("aria-invalid")).resolves.toBe("true");
    await group.getByText("a trailing drawdown needs the plan's starting balance").waitFor();
    await expect(group.getByLabel("Drawdown amount").inputValue()).resolves.toBe("2000");
    expect((await account(a.id)).propRules).toEqual([]);
  });

  it("CP03 removing a sub-account's rules sends the list without it; the monitor stops watching it", async () => {
    const a = await paperLogin("CP03 paper");
    const sub = a.brokerAccounts[0]?.id as string;
    const set = await w.t.api("PATCH", `/api/accounts/${a.id}`, {
      propRules: [
        { brokerAccountId: sub, riskPreset: "myfundedfutures-50k", dailyLossLimit: { amount: 800 } },
      ],
    });
    expect(set.status).toBe(200);
    await expect.poll(async () => (await liveProp(a.id)).length).toBe(1);

    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${a.id}`));
    const group = subGroup(page, "CP03 paper (paper)");
    await expect(group.getByLabel("Preset").inputValue()).resolves.toBe("myfundedfutures-50k");
    await expect(group.getByLabel("Daily loss limit", { exact: true }).inputValue()).resolves.toBe("800");
    await group.getByLabel("Remove the rules of CP03 paper (paper)").check();
    await page.getByRole("button", { name: "Apply prop rules" }).click();
    await page.getByRole("status").getByText("Prop rules removed.").waitFor();

    expect((await account(a.id)).propRules).toEqual([]);
    await expect.poll(async () => (await liveProp(a.id)).length).toBe(0);
    await expect(group.getByLabel("Preset").inputValue()).resolves.toBe("");
    await group.getByText("No live figures").waitFor();
  });

  it("CP04 replacing a paper login's credentials asks first, logs in again, and shows the API's refusal", async () => {
    const a = await paperLogin("CP04 paper");
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${a.id}`));
    const creds = page.getByRole("group", { name: "New Paper credentials" });

    // Refused by the paper broker's credential schema: its message at the form, nothing changed.
    await creds.getByLabel("Starting balance (dollars) (optional)").fill("lots");
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Replace credentials and log in again" }).click();
    await page
      .getByRole("alert")
      .getByText("paper credentials may only hold startingBalance (a positive number of dollars)")
      .waitFor();
    await expect(creds.getByLabel("Starting balance (dollars) (optional)").inputValue()).resolves.toBe(
      "lots",
    );

    // Dismissed: nothing is sent.
    const messages: string[] = [];
    page.once("dialog", (d) => {
      messages.push(d.message());
      void d.dismiss();
    });
    await creds.getByLabel("Starting balance (dollars) (optional)").fill("30000");
    await page.getByRole("button", { name: "Replace credentials and log in again" }).click();
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toContain("Replace the credentials of CP04 paper?");
    expect(page.url()).toContain(`/accounts/${a.id}/credentials`);

    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Replace credentials and log in again" }).click();
    await page
      .getByRole("status")
      .getByText("Credentials replaced. CP04 paper: connected, 1 sub-account.")
      .waitFor();
    expect((await account(a.id)).session?.state).toBe("ready");
    const audit = await w.t.sql`
      select detail from audit where action = 'account.update' and subject = ${a.id}`;
    expect(JSON.stringify(audit.map((r) => r.detail))).toContain("credentials (new)");
  });

  it("CP05 a secret typed to replace credentials is not in the page afterwards, nor in the logs", async () => {
    const made = await w.t.api<{ id: string }>("POST", "/api/accounts", {
      name: "CP05 projectx",
      broker: "projectx",
      credentials: {
        userName: "cp05",
        apiKey: "CP05-old-key",
        firmHost: "http://127.0.0.1:9",
        firmRtcHost: "http://127.0.0.1:9",
      },
    });
    expect(made.status).toBe(201);
    const page = await w.signedInPage();
    await page.goto(w.url(`/accounts/${made.body.id}`));
    const creds = page.getByRole("group", { name: "New ProjectX / TopstepX credentials" });
    await expect(creds.getByLabel("API key").getAttribute("type")).resolves.toBe("password");
    await creds.getByLabel("User name").fill("cp05-new");
    await creds.getByLabel("API key").fill("CP05-new-key-s3cret");
    await creds.getByLabel("Firm API host (optional)").fill("http://127.0.0.1:9");
    await creds.getByLabel("Firm real-time host (optional)").fill("http://127.0.0.1:9");
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Replace credentials and log in again" }).click();
    await page
      .getByRole("alert")
      .getByText(
        /^Credentials replaced, but the session did not come up\. CP05 projectx: down: .*ECONNREFUSED/,
      )
      .waitFor();

    const html = await page.content();
    expect(html).not.toContain("CP05-new-key-s3cret");
    expect(html).not.toContain("CP05-old-key");
    await expect(creds.getByLabel("API key").inputValue()).resolves.toBe("");
    expect(w.t.logs.join("\n")).not.toContain("CP05-new-key-s3cret");
  });
});
