/**
 * The Traders page in Chromium: one recorder linked to many sub-accounts at once with every result shown,
 * enable/disable, editing one trader, and deleting one with flatten closing its paper position.
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
  recorderId: string;
  accountId: string;
  brokerAccountId: string;
  multiplier: string;
  maxDailyLoss: string | null;
  enabled: boolean;
  positions: unknown[];
}

const traders = async () => (await w.t.api<{ traders: ApiTrader[] }>("GET", "/api/traders")).body.traders;

async function paperLogin(name: string): Promise<string> {
  const r = await w.t.api<{ id: string }>("POST", "/api/accounts", { name, broker: "paper" });
  expect(r.status).toBe(201);
  return r.body.id;
}

describe("console traders", () => {
  it("CT01 one recorder is linked to several sub-accounts in one go, each with the multiplier and limit; a refused one says why", async () => {
    const recorder = await w.t.api<{ id: string }>("POST", "/api/recorders", { name: "CT01 recorder" });
    const ids = [await paperLogin("CT01 A"), await paperLogin("CT01 B"), await paperLogin("CT01 C")];
    const page = await w.signedInPage();
    await page.goto(w.url("/traders"));
    await page.getByLabel("Recorder", { exact: true }).selectOption({ label: "CT01 recorder" });
    await page.getByRole("checkbox", { name: "CT01 A / CT01 A (paper)" }).check();
    await page.getByRole("checkbox", { name: "CT01 B / CT01 B (paper)" }).check();
    await page.getByRole("checkbox", { name: "CT01 C / CT01 C (paper)" }).check();
    await page.getByLabel("Multiplier").fill("2.5");
    await page.getByLabel("Daily loss limit per sub-account (dollars)").fill("400");
    await page.getByRole("button", { name: "Link", exact: true }).click();
    await page.getByRole("status").getByText("3 of 3 linked.").waitFor();
    for (const n of ["A", "B", "C"])
      await page.locator(".results").getByText(`CT01 ${n} / CT01 ${n} (paper): ✓ created`).waitFor();

    const linked = (await traders()).filter((t) => t.recorderId === recorder.body.id);
    expect(linked.map((t) => t.accountId).sort()).toEqual([...ids].sort());
    for (const t of linked)
      expect(t).toMatchObject({ multiplier: "2.5", maxDailyLoss: "400", enabled: true });
    const rows = page.locator("#traders tbody tr").filter({ hasText: "CT01 recorder" });
    await expect(rows.count()).resolves.toBe(3);
    await expect(rows.filter({ hasText: "CT01 B (paper)" }).textContent()).resolves.toMatch(
      /×2\.5.*\$400.*yes.*flat/,
    );

    // Again with one already linked: that one is refused in the API's words, the new one is created.
    const d = await paperLogin("CT01 D");
    await page.goto(w.url("/traders"));
    await page.getByLabel("Recorder", { exact: true }).selectOption({ label: "CT01 recorder" });
    await page.getByRole("checkbox", { name: "CT01 A / CT01 A (paper)" }).check();
    await page.getByRole("checkbox", { name: "CT01 D / CT01 D (paper)" }).check();
    await page.getByRole("button", { name: "Link", exact: true }).click();
    await page.getByRole("alert").getByText("1 of 2 linked.").waitFor();
    await page
      .locator(".results")
      .getByText("CT01 A / CT01 A (paper): ✗ This broker sub-account already follows")
      .waitFor();
    expect(
      (await traders()).filter((t) => t.recorderId === recorder.body.id && t.accountId === d),
    ).toHaveLength(1);
    // What was ticked stays ticked, to fix and send again.
    await expect(page.getByRole("checkbox", { name: "CT01 D / CT01 D (paper)" }).isChecked()).resolves.toBe(
      true,
    );
  });

  it("CT02 a multiplier the API refuses is shown next to the field and links nothing", async () => {
    await w.t.api("POST", "/api/recorders", { name: "CT02 recorder" });
    await paperLogin("CT02 A");
    const page = await w.signedInPage();
    await page.goto(w.url("/traders"));
    await page.getByLabel("Recorder", { exact: true }).selectOption({ label: "CT02 recorder" });
    await page.getByRole("checkbox", { name: "CT02 A / CT02 A (paper)" }).check();
    await page.getByLabel("Multiplier").fill("500");
    await page.getByRole("button", { name: "Link", exact: true }).click();
    await page.getByText("must be a number from 0.01 to 100").first().waitFor();
    await expect(page.getByLabel("Multiplier").getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(page.getByLabel("Multiplier").inputValue()).resolves.toBe("500");
    const names = new Map(
      (await w.t.api<{ accounts: { id: string; name: string }[] }>("GET", "/api/accounts")).body.accounts.map(
        (a) => [a.id, a.name],
      ),
    );
    expect((await traders()).some((t) => names.get(t.accountId) === "CT02 A")).toBe(false);
  });

  it("CT03 disable and enable from the list, and editing one trader's multiplier and limit", async () => {
    const { traderIds } = await paperSetup(w.t, { multipliers: [1], recorderName: "CT03 recorder" });
    const id = traderIds[0] as string;
    const page = await w.signedInPage();
    await page.goto(w.url("/traders"));
    await page
      .getByRole("button", { name: "Disable CT03 recorder on Paper 1 / Paper 1 (paper)" })
      .first()
      .click();
    await page.getByRole("status").getByText("Trader disabled").waitFor();
    expect((await w.t.api<ApiTrader>("GET", `/api/traders/${id}`)).body.enabled).toBe(false);
    await page
      .locator(`tr[data-trader="${id}"]`)
      .getByRole("button", { name: /^Enable / })
      .click();
    await page.getByRole("status").getByText("Trader enabled.").waitFor();
    expect((await w.t.api<ApiTrader>("GET", `/api/traders/${id}`)).body.enabled).toBe(true);

    await page.goto(w.url(`/traders/${id}`));
    await page.getByLabel("Multiplier").fill("1.25");
    await page.getByLabel("Daily loss limit (dollars)").fill("300");
    await page.getByLabel("Enabled (copies new signals)").uncheck();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").getByText("Saved.").waitFor();
    expect((await w.t.api<ApiTrader>("GET", `/api/traders/${id}`)).body).toMatchObject({
      multiplier: "1.25",
      maxDailyLoss: "300",
      enabled: false,
    });
    await page.getByLabel("Multiplier").fill("abc");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("must be a number from 0.01 to 100").waitFor();
    expect((await w.t.api<ApiTrader>("GET", `/api/traders/${id}`)).body.multiplier).toBe("1.25");
  });

  it("CT04 delete asks first, shows the API's refusal while a position is open, and with flatten closes it and removes the trader", async () => {
    const { traderIds, token } = await paperSetup(w.t, { multipliers: [1], recorderName: "CT04 recorder" });
    const id = traderIds[0] as string;
    const hook = await w.t.webhook(
      token,
      JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000", id: "ct04" }),
    );
    expect(hook.status).toBe(202);
    await waitFor(
      async () =>
        (await w.t.api<ApiTrader>("GET", `/api/traders/${id}`)).body.positions.length === 1
          ? true
          : undefined,
      "the paper position",
    );
    const page = await w.signedInPage();
    await page.goto(w.url("/traders"));
    await page
      .locator(`tr[data-trader="${id}"]`)
      .getByText(/long 1 MNQ\w+ @ 21000/)
      .waitFor();
    await page.goto(w.url(`/traders/${id}`));

    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Delete trader" }).click();
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete trader" }).click();
    await page
      .getByRole("alert")
      .getByText(/holds long 1 MNQ/)
      .waitFor();
    expect((await w.t.api("GET", `/api/traders/${id}`)).status).toBe(200);

    await page.getByLabel(/Flatten first/).check();
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete trader" }).click();
    await page.getByRole("status").getByText("Trader flattened and deleted.").waitFor();
    expect((await w.t.api("GET", `/api/traders/${id}`)).status).toBe(404);
    const [left] = await w.t.sql`
      select coalesce(sum(net_qty), 0)::int as net from positions where trader_id = ${id}`;
    expect(left).toMatchObject({ net: 0 });
    expect(await page.locator(`tr[data-trader="${id}"]`).count()).toBe(0);
  });
});
