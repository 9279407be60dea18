/**
 * The console: pages served by the relay itself at `/`, rendered on the server (Hono JSX), live over
 * server-sent events. Signed-in browsers only (src/console/session.ts); every form is CSRF-checked here,
 * once, before any page's handler; every change goes through the admin API in-process (src/console/api.ts).
 */
import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { Env, Services } from "../http/context";
import { apiCaller, type ConsoleKit } from "./api";
import { mountAssets } from "./assets";
import type { ConsoleEnv } from "./env";
import type { LiveFeed } from "./live";
import { accountsPages } from "./pages/accounts";
import { controlPages } from "./pages/control";
import { historyPages } from "./pages/history";
import { overviewPages } from "./pages/overview";
import { recorderPages } from "./pages/recorders";
import { signInPages } from "./pages/sign-in";
import { signalPages } from "./pages/signals";
import { tradePages } from "./pages/trade";
import { tradersPages } from "./pages/traders";
import { ConsoleSessions, SESSION_COOKIE, same, sameOrigin } from "./session";

/** Paths that are not the console's: the API, the webhook, health and metrics keep their own rules. */
export function isConsolePath(path: string): boolean {
  return !/^\/(api|webhook|health|metrics)(\/|$)/.test(path);
}

const PUBLIC = /^\/(login|assets\/[^/]+)$/;

export function consoleRoutes(s: Services, api: Hono<Env>, live: LiveFeed): Hono<ConsoleEnv> {
  const kit: ConsoleKit = {
    s,
    api: apiCaller(api),
    // Without a configured key, a random one: sessions then end with the process, never a guessable key.
    sessions: new ConsoleSessions(s.config.CREDENTIALS_KEY ?? randomBytes(32).toString("hex")),
  };
  const app = new Hono<ConsoleEnv>();

  app.use("*", async (c, next) => {
    const path = c.req.path;
    if (!isConsolePath(path)) return next();
    const unsafe = !["GET", "HEAD", "OPTIONS"].includes(c.req.method);
    if (unsafe && !sameOrigin(c)) return c.text("Cross-site request refused.", 403);
    if (PUBLIC.test(path)) return next();
    const session = kit.sessions.read(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === "GET") return c.redirect(`/login?next=${encodeURIComponent(path)}`, 303);
      return c.text("Signed out: sign in again.", 401);
    }
    if (unsafe) {
      const header = c.req.header("x-csrf-token");
      const type = c.req.header("content-type") ?? "";
      const form = header === undefined && /form/.test(type) ? (await c.req.parseBody())._csrf : undefined;
      const sent = header ?? (typeof form === "string" ? form : "");
      if (!same(sent, session.csrf)) return c.text("This form expired; reload the page and try again.", 403);
    }
    c.set("session", session);
    c.header("cache-control", "no-store");
    await next();
  });

  mountAssets(app);
  app.route("/", signInPages(kit));
  app.get("/events", (c) => live.stream(c));
  app.route("/", overviewPages(kit));
  app.route("/", controlPages(kit));
  app.route("/", signalPages(kit));
  app.route("/", tradePages(kit));
  app.route("/", historyPages(kit));
  app.route("/", accountsPages(kit));
  app.route("/", tradersPages(kit));
  app.route("/", recorderPages(kit));
  return app;
}
