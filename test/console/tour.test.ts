/**
 * Every console page, on a desktop and on a phone: it renders, breaks no rule of the console's CSP, logs
 * no script error, names every control (label, aria-label or aria-labelledby), keeps text at WCAG AA
 * contrast (4.5:1) and fits a phone's width. `UPDATE_SCREENSHOTS=1` also writes the README's screenshots
 * (docs/screenshots/<page>.png).
 */
import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NAV } from "../../src/console/layout";
import { paperSetup } from "../support/relay";
import { waitFor } from "../support/wait";
import { type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
let signalId = "";
let recorderId = "";
let traderId = "";
let accountId = "";
beforeAll(async () => {
  w = await startConsoleWorld();
  const setup = await paperSetup(w.t, {
    multipliers: [1, 2],
    recorderName: "NQ Scalper",
    settings: { quantity: 1, stopLossTicks: 20, takeProfit: [{ ticks: 40, trimPercent: 100 }] },
  });
  recorderId = setup.recorderId;
  traderId = setup.traderIds[0] ?? "";
  accountId = setup.accountIds[0] ?? "";
  // A trade that hit its take-profit (history has a day and a curve), then one still open (overview).
  const buy = async (id: string, price: string) => {
    await w.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price });
    const res = await w.t.webhook(setup.token, JSON.stringify({ ticker: "MNQ1!", action: "buy", id, price }));
    const signal = res.body.signalId as string;
    await waitFor(async () => {
      const rows = await w.t.sql`select status from executions where signal_id = ${signal}`;
      return rows.length === 2 && rows.every((r) => r.status === "done");
    }, "both traders filled");
    return signal;
  };
  await buy("tour-1", "21000");
  await w.t.api("POST", "/api/paper/prices", { symbol: "MNQ1!", price: "21010" });
  await waitFor(async () => {
    const rows = await w.t.sql`select count(*)::int as n from trades where status = 'closed'`;
    return rows[0]?.n === 2;
  }, "both take-profits filled");
  signalId = await buy("tour-2", "21010");
});
afterAll(() => w?.stop());

/** Run in the page: controls without an accessible name, and text under 4.5:1 against its background. */
const AUDIT = `(() => {
  const named = (el) => (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") ||
    el.getAttribute("aria-labelledby") || el.getAttribute("title");
  const unnamed = [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => el.type !== "hidden" && el.offsetParent !== null)
    .filter((el) => el.tagName === "BUTTON" ? !(el.textContent.trim() || el.getAttribute("aria-label")) : !named(el))
    .map((el) => el.outerHTML.slice(0, 120));
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const lowContrast = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.offsetParent === null) continue;
    const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
    const back = lum(bg(el));
    const ratio = (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05);
    if (ratio < 4.5) lowContrast.push(n.textContent.trim().slice(0, 40) + " " + ratio.toFixed(2));
  }
  return { unnamed, lowContrast, overflow: document.documentElement.scrollWidth > window.innerWidth + 1 };
})()`;

interface Audit {
  unnamed: string[];
  lowContrast: string[];
  overflow: boolean;
}

function pages(): { name: string; path: string }[] {
  return [
    ...NAV.map((n) => ({ name: n.key, path: n.href })),
    { name: "signal", path: `/signals/${signalId}` },
    { name: "recorder", path: `/recorders/${recorderId}` },
    { name: "trader", path: `/traders/${traderId}` },
    { name: "account", path: `/accounts/${accountId}` },
    { name: "new-account", path: "/accounts/new" },
  ];
}

async function visit(page: Page, path: string) {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  const res = await page.goto(w.url(path));
  await page.waitForLoadState("networkidle").catch(() => undefined);
  return { status: res?.status(), errors };
}

describe("console tour", () => {
  for (const viewport of [
    { label: "desktop", width: 1280, height: 900 },
    { label: "phone", width: 390, height: 844 },
  ]) {
    it(`CV01 (${viewport.label}) every page renders with its heading, no script error or CSP violation, every control named, AA contrast`, async () => {
      const page = await w.signedInPage();
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      for (const p of pages()) {
        const { status, errors } = await visit(page, p.path);
        expect(status, p.path).toBe(200);
        expect(await page.getByRole("heading", { level: 1 }).count(), p.path).toBe(1);
        expect(errors, p.path).toEqual([]);
        const audit = (await page.evaluate(AUDIT)) as Audit;
        expect(audit.unnamed, `${p.path}: controls without a name`).toEqual([]);
        expect(audit.lowContrast, `${p.path}: text under 4.5:1`).toEqual([]);
        if (viewport.label === "phone") expect(audit.overflow, `${p.path}: wider than a phone`).toBe(false);
        if (process.env.UPDATE_SCREENSHOTS === "1") {
          mkdirSync("docs/screenshots", { recursive: true });
          await page.screenshot({ path: `docs/screenshots/${p.name}-${viewport.label}.png`, fullPage: true });
        }
      }
    });
  }

  it("CV02 the keyboard reaches everything: the skip link first, then the navigation, and the skip link lands in the page", async () => {
    const page = await w.signedInPage();
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate("document.activeElement.id")).toBe("main");
    await page.goto(w.url("/"));
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      seen.push(String(await page.evaluate("document.activeElement.textContent.trim()")));
    }
    for (const n of NAV) expect(seen).toContain(n.label);
  });
});
