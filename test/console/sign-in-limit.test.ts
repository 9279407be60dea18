/** Guessing the admin token from the console's sign-in form: ten tries a minute per sender address. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ADMIN_TOKEN, type ConsoleWorld, startConsoleWorld } from "./support/browser";

let w: ConsoleWorld;
beforeAll(async () => {
  w = await startConsoleWorld();
});
afterAll(() => w?.stop());

it("CS09 after ten sign-in attempts in a minute the next is refused (429), even with the right token", async () => {
  const page = await (await w.newContext()).newPage();
  await page.goto(w.url("/login"));
  const csrf = (await page.locator('input[name="_csrf"]').getAttribute("value")) ?? "";
  const attempt = (token: string) =>
    page.request.post(w.url("/login"), { form: { _csrf: csrf, token, next: "/" }, maxRedirects: 0 });
  for (let i = 0; i < 10; i++)
    expect((await attempt(`wrong-token-${i}-0000000000000000`)).status()).toBe(401);
  const refused = await attempt(ADMIN_TOKEN);
  expect(refused.status()).toBe(429);
  expect(await refused.text()).toContain("Too many sign-in attempts");
  expect((await page.context().cookies()).some((c) => c.name === "relay_console")).toBe(false);
  expect(w.t.logs.some((l) => l.includes('"event":"ConsoleSignInThrottled"'))).toBe(true);
});
