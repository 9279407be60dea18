/**
 * The console in a real browser: a relay on a test database, served over real HTTP on loopback, and
 * Debian's Chromium driven by playwright-core (`.ci/run` installs it; CHROMIUM_PATH overrides the path).
 *
 * @example
 *   const w = await startConsoleWorld();
 *   const page = await w.signedInPage();
 *   await page.goto(w.url("/recorders"));
 *   await w.stop();
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { createTestDatabase, type TestDatabase } from "../../support/db";
import { ADMIN_TOKEN, startTestRelay, type TestRelay, type TestRelayOptions } from "../../support/relay";

export { ADMIN_TOKEN };

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function chromiumPath(): string {
  const found = CANDIDATES.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error(
      "No Chromium for the console's browser tests: apt-get install chromium (or set CHROMIUM_PATH).",
    );
  }
  return found;
}

export interface ConsoleWorld {
  db: TestDatabase;
  t: TestRelay;
  browser: Browser;
  base: string;
  url(path: string): string;
  /** A fresh browser context (its own cookies), signed in, on the overview. */
  signedInPage(): Promise<Page>;
  newContext(): Promise<BrowserContext>;
  stop(): Promise<void>;
}

export async function startConsoleWorld(o: Omit<TestRelayOptions, "url"> = {}): Promise<ConsoleWorld> {
  const db = await createTestDatabase();
  const t = await startTestRelay({ url: db.url, logLevel: "info", ...o });
  const server = serve({ fetch: t.relay.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Chromium's sandbox needs user namespaces, which a root CI container does not give.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const contexts: BrowserContext[] = [];
  const newContext = async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(ctx);
    return ctx;
  };
  return {
    db,
    t,
    browser,
    base,
    url: (path) => `${base}${path}`,
    newContext,
    async signedInPage() {
      const page = await (await newContext()).newPage();
      await signIn(page, base);
      return page;
    },
    async stop() {
      for (const ctx of contexts) await ctx.close().catch(() => undefined);
      await browser.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open event streams would hold close() forever.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await t.stop();
      await db.drop();
    },
  };
}

export async function signIn(page: Page, base: string, token = ADMIN_TOKEN): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/`);
}

/** Waits until the page's event stream is open, so what happens next arrives live. */
export async function liveConnected(page: Page): Promise<void> {
  // A locator, not waitForFunction: a string predicate that has to poll is evaluated with eval, which the
  // console's CSP (rightly) refuses.
  await page.locator("body[data-live='connected']").waitFor({ state: "attached" });
}
