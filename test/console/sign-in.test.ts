/**
 * The console in Chromium: sign-in into an HttpOnly SameSite=Strict cookie, CSRF on every form, sign-out,
 * live updates over server-sent events, the kill switch and its banner.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { ADMIN_TOKEN, type ConsoleWorld, liveConnected, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

describe("console sign-in", () => {
  it("CS01 a wrong token is refused; the admin token signs in to a cookie the page's script cannot read, and no page shows it", async () => {
    const page = await (await w.newContext()).newPage();
    await page.goto(w.url("/"));
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.getByLabel("Admin token").fill("not-the-token-at-all-0000000");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("not the admin token");

    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(w.url("/"));
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Overview");

    const cookie = (await page.context().cookies()).find((c) => c.name === "relay_console");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Strict");
    expect(await page.evaluate("document.cookie")).not.toContain("relay_console");
    expect(await page.content()).not.toContain(ADMIN_TOKEN);
    expect(w.t.logs.join("\n")).not.toContain(ADMIN_TOKEN);
  });

  it("CS02 a page asked for before sign-in is shown after it; a foreign next= never leaves the relay", async () => {
    const page = await (await w.newContext()).newPage();
    await page.goto(w.url("/?x=1"));
    expect(page.url()).toContain("/login?next=");
    await page.goto(w.url("/login?next=//evil.example.com/"));
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(w.url("/"));
  });

  it("CS03 a form without its CSRF token, or from another site, is refused and changes nothing", async () => {
    const page = await w.signedInPage();
    const noToken = await page.request.post(w.url("/kill/stop"), { form: { _csrf: "forged" } });
    expect(noToken.status()).toBe(403);
    const csrf = await page.locator('form[action="/kill/stop"] input[name="_csrf"]').getAttribute("value");
    const crossSite = await page.request.post(w.url("/kill/stop"), {
      form: { _csrf: csrf ?? "" },
      headers: { origin: "https://evil.example.com" },
    });
    expect(crossSite.status()).toBe(403);
    const state = await w.t.api<{ stopped: boolean }>("GET", "/api/emergency");
    expect(state.body.stopped).toBe(false);
  });

  it("CS04 sign-out ends the session: the old cookie opens nothing", async () => {
    const page = await w.signedInPage();
    const cookie = (await page.context().cookies()).find((c) => c.name === "relay_console");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    const replay = await fetch(w.url("/"), {
      headers: { cookie: `relay_console=${cookie?.value}` },
      redirect: "manual",
    });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toContain("/login");
  });

  it("CS05 console pages allow scripts and styles from the relay only; the API keeps its own policy", async () => {
    const res = await fetch(w.url("/login"));
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const api = await fetch(w.url("/api/status"));
    expect(api.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

describe("console overview", () => {
  it("CS06 an alert sent to the webhook appears in the last signals without a reload", async () => {
    const { token } = await paperSetup(w.t, { multipliers: [1], recorderName: "Live recorder" });
    const page = await w.signedInPage();
    await liveConnected(page);
    const res = await w.t.webhook(token, JSON.stringify({ ticker: "MNQ1!", action: "buy", id: "cs06" }));
    expect(res.status).toBe(202);
    await page.locator("#last-signals").getByText('"id":"cs06"').waitFor();
    // Not a reload: the page's own document is still the one loaded before the alert.
    expect(await page.evaluate("Number(document.body.dataset.liveUpdates)")).toBeGreaterThan(0);
  });

  it("CS07 the kill switch: stop asks first, then the banner says so on every page; resume clears it", async () => {
    const page = await w.signedInPage();
    page.once("dialog", (d) => void d.dismiss());
    await page.getByRole("button", { name: "Stop entries" }).click();
    expect((await w.t.api<{ stopped: boolean }>("GET", "/api/emergency")).body.stopped).toBe(false);

    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Stop entries" }).click();
    await page.getByRole("alert", { name: "Alerts" }).getByText("Kill switch on").waitFor();
    expect((await w.t.api<{ stopped: boolean }>("GET", "/api/emergency")).body.stopped).toBe(true);

    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Resume entries" }).click();
    await page.getByRole("status").getByText("Entries allowed again").waitFor();
    await waitFor(
      async () => (await page.locator("#alerts").textContent())?.trim() === "",
      "the banner cleared",
    );
  });

  it("CS08 a signed-in session is refused for the API without its bearer token", async () => {
    const page = await w.signedInPage();
    const res = await page.request.get(w.url("/api/status"));
    expect(res.status()).toBe(401);
  });
});
