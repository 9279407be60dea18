/**
 * The console's static files, read once at start and served with a content hash as ETag: our stylesheet
 * and script, and TradingView's lightweight-charts (its standalone build, from the npm package). Same
 * origin only, so the console's CSP can forbid every other source.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";

interface Asset {
  body: string;
  type: string;
  etag: string;
}

const here = dirname(fileURLToPath(import.meta.url));

function load(path: string, type: string): Asset {
  const body = readFileSync(path, "utf8");
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` };
}

function chartsPath(): string {
  const pkg = createRequire(import.meta.url).resolve("lightweight-charts/package.json");
  return join(dirname(pkg), "dist", "lightweight-charts.standalone.production.js");
}

let cache: Map<string, Asset> | undefined;

function assets(): Map<string, Asset> {
  if (!cache) {
    const js = "text/javascript; charset=utf-8";
    cache = new Map([
      ["console.css", load(join(here, "assets", "console.css"), "text/css; charset=utf-8")],
      ["console.js", load(join(here, "assets", "console.js"), js)],
      ["history.js", load(join(here, "assets", "history.js"), js)],
      ["recorders.js", load(join(here, "assets", "recorders.js"), js)],
      ["lightweight-charts.js", load(chartsPath(), js)],
      ["icon.svg", load(join(here, "assets", "icon.svg"), "image/svg+xml")],
    ]);
  }
  return cache;
}

export function mountAssets<E extends object>(app: Hono<E & { Bindings: object; Variables: object }>): void {
  app.get("/assets/:name", (c) => {
    const a = assets().get(c.req.param("name"));
    if (!a) return c.text("Not found", 404);
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
    return c.body(a.body, 200, { "content-type": a.type, etag: a.etag, "cache-control": "no-cache" });
  });
}
