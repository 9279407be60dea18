/**
 * Response hardening for every route: standard security headers (errors, 404s and webhook replies
 * included), and the optional bearer token in front of /metrics.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { envelope } from "../errors";
import type { Env } from "./context";

/**
 * nosniff, no framing, no referrer, a Content-Security-Policy that lets a JSON API load nothing, HSTS when
 * the relay is reached over https (PUBLIC_URL), no X-Powered-By.
 */
export function securityHeaders(
  publicUrl: string,
  isConsolePath: (path: string) => boolean = () => false,
): MiddlewareHandler<Env> {
  const common = {
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    strictTransportSecurity: publicUrl.startsWith("https:") ? "max-age=31536000; includeSubDomains" : false,
    crossOriginResourcePolicy: "same-origin",
    removePoweredBy: true,
  } as const;
  const api = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
    ...common,
  });
  // The console's pages load their own stylesheet and scripts, post forms and stream events, all from
  // this relay and nowhere else: no inline script or style, no other origin.
  const console = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
    ...common,
    // Same-origin requests carry their origin (the console's forms are checked by it), others nothing.
    referrerPolicy: "same-origin",
  });
  return (c, next) => (isConsolePath(c.req.path) ? console(c, next) : api(c, next));
}

const sha = (s: string) => createHash("sha256").update(s).digest();

/** METRICS_TOKEN unset: /metrics stays open. Set: `Authorization: Bearer <token>`, compared in constant time. */
export function metricsGuard(token: string | undefined): MiddlewareHandler<Env> {
  const expected = token === undefined ? undefined : sha(token);
  return async (c, next) => {
    if (!expected) return next();
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!match?.[1] || !timingSafeEqual(sha(match[1]), expected)) {
      return c.json(
        envelope(
          "unauthorized",
          "Missing or wrong metrics token: send Authorization: Bearer <METRICS_TOKEN>.",
        ),
        401,
        {
          "www-authenticate": 'Bearer realm="metrics"',
        },
      );
    }
    await next();
  };
}
