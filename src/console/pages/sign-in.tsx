/**
 * Sign-in and sign-out. The admin token is typed once into a password field, checked like the API checks
 * it, and exchanged for a session cookie; it is never put in a page, a URL or a log line.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { AddressSet, clientAddress } from "../../intake/client-ip";
import { RateLimiter } from "../../intake/rate-limit";
import type { ConsoleKit } from "../api";
import type { ConsoleEnv } from "../env";
import { CsrfField, Flash, Page } from "../layout";
import { PRE_COOKIE, same } from "../session";

/** Only a path on this relay: never an absolute or protocol-relative URL (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.startsWith("/login")
    ? next
    : "/";
}

function SignIn(p: { csrf: string; next: string; error?: string }) {
  return (
    <Page title="Sign in">
      <form method="post" action="/login" class="signin">
        <CsrfField token={p.csrf} />
        <input type="hidden" name="next" value={p.next} />
        <Flash error={p.error} />
        <label for="token">Admin token</label>
        <p class="hint" id="token-hint">
          Printed by the relay on its first start (or RELAY_ADMIN_TOKEN).
        </p>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          aria-describedby="token-hint"
          size={40}
        />
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
    </Page>
  );
}

/** Sign-in attempts per sender address: a burst of 10, then 10 a minute (a guessed token gets nowhere). */
const ATTEMPTS_PER_MINUTE = 10;

export function signInPages(k: ConsoleKit) {
  const app = new Hono<ConsoleEnv>();
  const attempts = new RateLimiter(ATTEMPTS_PER_MINUTE, ATTEMPTS_PER_MINUTE);
  const proxies = AddressSet.fromList(k.s.config.TRUSTED_PROXIES);

  app.get("/login", (c) => {
    if (k.sessions.read(getCookie(c, "relay_console"))) return c.redirect(safeNext(c.req.query("next")), 303);
    return c.html(<SignIn csrf={k.sessions.preToken(c)} next={safeNext(c.req.query("next"))} />);
  });

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const pre = getCookie(c, PRE_COOKIE);
    const sent = typeof form._csrf === "string" ? form._csrf : "";
    if (!pre || !same(pre, sent)) {
      return c.html(
        <SignIn csrf={k.sessions.preToken(c)} next={next} error="This form expired; please sign in again." />,
        403,
      );
    }
    const peer = k.s.peerAddress?.(c.env) ?? c.env?.incoming?.socket?.remoteAddress;
    const sender = clientAddress(peer, c.req.header("x-forwarded-for") ?? null, proxies) ?? "unknown";
    if (!attempts.take(sender)) {
      k.s.logger.warn({ event: "ConsoleSignInThrottled", sender }, "too many console sign-in attempts");
      return c.html(
        <SignIn
          csrf={pre}
          next={next}
          error="Too many sign-in attempts from here; wait a minute and try again."
        />,
        429,
      );
    }
    const token = typeof form.token === "string" ? form.token.trim() : "";
    if (!token || !(await k.s.auth.verify(token))) {
      k.s.logger.warn({ event: "ConsoleSignInRefused" }, "console sign-in with a wrong token");
      return c.html(
        <SignIn csrf={pre} next={next} error="That is not the admin token. Check it and try again." />,
        401,
      );
    }
    const { cookie } = k.sessions.issue();
    k.sessions.setCookie(c, cookie);
    k.s.logger.info({ event: "ConsoleSignedIn" }, "console signed in");
    return c.redirect(next, 303);
  });

  app.post("/logout", (c) => {
    k.sessions.revoke(c.get("session"));
    k.sessions.clearCookie(c);
    k.s.logger.info({ event: "ConsoleSignedOut" }, "console signed out");
    return c.redirect("/login", 303);
  });

  return app;
}
