/**
 * The console's page shell: skip link, navigation, the live alert banner and the page. Server-rendered
 * HTML that works without script; /assets/console.js adds live updates, copy buttons and confirmations.
 */
import type { Child } from "hono/jsx";

export const NAV = [
  { href: "/", label: "Overview", key: "overview" },
  { href: "/signals", label: "Signals", key: "signals" },
  { href: "/recorders", label: "Recorders", key: "recorders" },
  { href: "/accounts", label: "Accounts", key: "accounts" },
  { href: "/traders", label: "Traders", key: "traders" },
  { href: "/history", label: "History", key: "history" },
  { href: "/trade", label: "Manual trade", key: "trade" },
  { href: "/control", label: "Control center", key: "control" },
] as const;

export type NavKey = (typeof NAV)[number]["key"];

export interface PageProps {
  title: string;
  active?: NavKey;
  /** The session's CSRF token: every form carries it (see CsrfField). */
  csrf?: string;
  /** The alert banner (breaches, kill switch), refreshed live: src/console/alerts.tsx. */
  banner?: Child;
  /** Scripts beyond console.js, served from /assets (CSP: same origin only). */
  scripts?: string[];
  children?: Child;
}

export function Page(p: PageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${p.title} · Copy relay`}</title>
        <link rel="icon" href="/assets/icon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/console.css" />
        <script src="/assets/console.js" defer />
        {(p.scripts ?? []).map((src) => (
          <script src={src} defer />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {p.csrf ? (
          <header class="top">
            <nav aria-label="Console">
              <ul>
                {NAV.map((n) => (
                  <li>
                    <a href={n.href} aria-current={p.active === n.key ? "page" : undefined}>
                      {n.label}
                    </a>
                  </li>
                ))}
                <li>
                  <a href="/api/docs">API</a>
                </li>
              </ul>
            </nav>
            <form method="post" action="/logout" class="signout">
              <CsrfField token={p.csrf} />
              <button type="submit">Sign out</button>
            </form>
          </header>
        ) : null}
        {p.csrf ? (
          <div
            id="alerts"
            data-live-on="BreachDetected BreachFlattened KillSwitchUsed SessionLost SessionRestored"
          >
            {p.banner}
          </div>
        ) : null}
        <main id="main" tabindex={-1}>
          <h1>{p.title}</h1>
          {p.children}
        </main>
      </body>
    </html>
  );
}

export function CsrfField(p: { token: string }) {
  return <input type="hidden" name="_csrf" value={p.token} />;
}

/** A message after a change: role=status, so screen readers announce it. */
export function Flash(p: { ok?: string | undefined; error?: string | undefined }) {
  if (p.error)
    return (
      <p class="flash error" role="alert">
        {p.error}
      </p>
    );
  if (p.ok)
    return (
      <p class="flash ok" role="status">
        {p.ok}
      </p>
    );
  return null;
}

/**
 * Where a form's POST sends the browser (303): back to `path` with the API's refusal, or with `ok` after a
 * change; the page shows it with <Flash>.
 */
export function flashUrl(
  path: string,
  r: { ok: true } | { ok: false; error: { message: string } },
  ok: string,
): string {
  return r.ok
    ? `${path}?ok=${encodeURIComponent(ok)}`
    : `${path}?error=${encodeURIComponent(r.error.message)}`;
}

/** The API's message for one control, under it; `id` is what the control's aria-describedby names. */
export function FieldError(p: { id: string; message: string | undefined }) {
  return p.message ? (
    <p class="field-error" id={p.id}>
      {p.message}
    </p>
  ) : null;
}
