/**
 * The app factory: every dependency comes in through `Services`, nothing is global, so tests build an app
 * on a test database and call `app.request()` in-process.
 *
 * @example
 *   const app = createApp(services);
 *   const res = await app.request("/health");
 */
import { IncomingMessage } from "node:http";
import { type ErrorHandler, Hono, type NotFoundHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { consoleRoutes, isConsolePath } from "../console/index";
import { LiveFeed } from "../console/live";
import { envelope, RelayError } from "../errors";
import { fromIncoming, fromRequest } from "../intake/source";
import { maskWebhookPath } from "../log";
import { requireAdmin } from "./auth";
import type { Env, Services } from "./context";
import { docsPage } from "./docs-page";
import { metricsGuard, securityHeaders } from "./hardening";
import { openApiDocument } from "./openapi";
import { accountRoutes } from "./routes/accounts";
import { emergencyRoutes } from "./routes/emergency";
import { executionRoutes } from "./routes/executions";
import { leaderRoutes } from "./routes/leader";
import { lossMonitorRoutes } from "./routes/loss-monitor";
import { manualTradeRoutes } from "./routes/manual-trades";
import { paperRoutes } from "./routes/paper";
import { recorderRoutes } from "./routes/recorders";
import { signalRoutes } from "./routes/signals";
import { statusRoutes } from "./routes/status";
import { traderRoutes } from "./routes/traders";
import { tradeRoutes } from "./routes/trades";
import { webhookLogRoutes } from "./routes/webhooks";

export function createApp(s: Services): Hono<Env> {
  const app = new Hono<Env>();
  // First, so every response gets the headers: errors, 404s, webhook replies, 401s.
  app.use("*", securityHeaders(s.config.publicUrl, isConsolePath));
  const live = new LiveFeed(s.bus);

  const onError: ErrorHandler<Env> = (error, c) => {
    if (error instanceof RelayError) return c.json(envelope(error.code, error.message), error.status);
    s.logger.error(
      {
        event: "RequestFailed",
        path: maskWebhookPath(c.req.path),
        error: String(error),
        stack: (error as Error).stack,
      },
      "request failed",
    );
    const isWebhook = c.req.path.startsWith("/webhook/");
    // A handled webhook never gets a 5xx that would make TradingView re-send; only "not recorded" is 503.
    return c.json(
      isWebhook
        ? {
            status: "error",
            error: { code: "not_recorded", message: "The signal could not be recorded; please resend." },
          }
        : envelope("internal", "Something went wrong on our side; it has been logged."),
      isWebhook ? 503 : 500,
    );
  };
  const notFound: NotFoundHandler<Env> = (c) =>
    c.json(envelope("not_found", `No route ${c.req.method} ${maskWebhookPath(c.req.path)}.`), 404);
  app.onError(onError);
  app.notFound(notFound);

  app.get("/health", (c) => c.json({ status: "ok", instance: s.config.instanceId }));

  // Nothing here is a secret (counts, states, latencies): open unless METRICS_TOKEN is set.
  app.use("/metrics", metricsGuard(s.config.METRICS_TOKEN));
  app.get("/metrics", async (c) => {
    s.metrics.sessions.reset();
    const counts = new Map<string, number>();
    for (const session of s.pool.sessions()) {
      const k = `${session.broker}|${session.status.state}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const [k, n] of counts) {
      const [broker = "", state = ""] = k.split("|");
      s.metrics.sessions.set({ broker, state }, n);
    }
    const depth = s.dispatcher.depth();
    s.metrics.queue.set({ state: "queued" }, depth.queued);
    s.metrics.queue.set({ state: "running" }, depth.running);
    return c.text(await s.metrics.registry.metrics(), 200, {
      "content-type": s.metrics.registry.contentType,
    });
  });

  app.post("/webhook/:token", async (c) => {
    const peer = s.peerAddress?.(c.env) ?? c.env?.incoming?.socket?.remoteAddress;
    const incoming = c.env?.incoming;
    const source = incoming instanceof IncomingMessage ? fromIncoming(incoming) : fromRequest(c.req.raw);
    const reply = await s.intake.handle(c.req.param("token"), source, peer);
    live.publish(() => {
      const b = reply.body as { status?: string; signalId?: string };
      return {
        type: "webhook",
        at: new Date().toISOString(),
        status: String(b.status ?? reply.status),
        ...(b.signalId ? { signalId: b.signalId } : {}),
      };
    });
    return c.json(reply.body, reply.status as 200);
  });

  // The API's description and its reference page hold no secret (paths, field names and types, no value
  // of any credential or token; src/http/openapi.ts), so they are served without the admin token: a tool
  // can read them before it is given one. Registered before the /api token check, which they end before.
  app.get("/api/openapi.json", (c) => c.json(openApiDocument()));
  app.get("/api/docs", (c) => c.html(docsPage()));

  const api = new Hono<Env>();
  // The console calls `api` in-process (src/console/api.ts): the same envelope for its errors.
  api.onError(onError);
  api.notFound(notFound);
  api.use("*", requireAdmin(s.auth));
  api.use(
    "*",
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => c.json(envelope("payload_too_large", "Request bodies are limited to 64 KiB."), 413),
    }),
  );
  api.route("/accounts", accountRoutes(s));
  api.route("/recorders", recorderRoutes(s));
  api.route("/recorders", leaderRoutes(s)); // issue 14: leader copying
  api.route("/traders", traderRoutes(s));
  api.route("/signals", signalRoutes(s));
  api.route("/manual-trades", manualTradeRoutes(s)); // issue 15: manual trades, as signals
  api.route("/webhooks", webhookLogRoutes(s));
  api.route("/executions", executionRoutes(s));
  api.route("/status", statusRoutes(s));
  api.route("/paper", paperRoutes(s));
  api.route("/emergency", emergencyRoutes(s, s.lossMonitor));
  api.route("/loss-monitor", lossMonitorRoutes(s, s.lossMonitor));
  api.route("/", tradeRoutes(s)); // issue 15: /trades, /trades.csv, /pnl/daily
  app.route("/api", api);
  // Issue 15: the console, at / (src/console/): signed-in browsers, every change through `api` above.
  app.route("/", consoleRoutes(s, api, live));

  return app;
}
