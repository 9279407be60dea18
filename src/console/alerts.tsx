/**
 * The banner on every page: today's loss-limit breaches and the kill switch, read from the API's
 * /loss-monitor (the monitor's own view). Refreshed live when a breach or the kill switch changes.
 */
import type { ApiCall } from "./api";

interface Subject {
  accountName?: string | null;
  recorderName?: string | null;
  breachedAt: string | null;
  breach: { reason: string; state: string; limit: string; pnlAtBreach: string; error: string | null } | null;
}

interface Snapshot {
  killSwitch: { stopped: boolean; since: string | null; actor: string | null; reason: string | null };
  traders: Subject[];
  accounts: Subject[];
}

export async function banner(api: ApiCall) {
  const r = await api<Snapshot>("GET", "/loss-monitor");
  if (!r.ok) return null;
  const { killSwitch, traders, accounts } = r.body;
  const breached = [
    ...accounts.filter((a) => a.breach).map((a) => ({ who: `Account ${a.accountName ?? ""}`, b: a.breach })),
    ...traders
      .filter((t) => t.breach)
      .map((t) => ({ who: `Trader ${t.recorderName ?? ""} on ${t.accountName ?? ""}`, b: t.breach })),
  ];
  if (!killSwitch.stopped && breached.length === 0) return null;
  return (
    <section class="banner" role="alert" aria-label="Alerts">
      {killSwitch.stopped ? (
        <p>
          <strong>Kill switch on:</strong> no new entries anywhere
          {killSwitch.reason ? ` (${killSwitch.reason})` : ""}. Exits and closes still run.
        </p>
      ) : null}
      {breached.map(({ who, b }) => (
        <p class="breach">
          <strong>Loss limit breached:</strong> {who}: P&amp;L {b?.pnlAtBreach} against a limit of {b?.limit}
          {`; flatten ${b?.state ?? ""}`}
          {b?.error ? ` (${b.error})` : ""}.
        </p>
      ))}
    </section>
  );
}
