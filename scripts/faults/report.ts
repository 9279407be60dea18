/** The printed summary of a fault run: one row per scenario, then every offending finding with its ids. */
import type { SuiteResults } from "./suite";

export function formatReport(r: SuiteResults): string {
  const lines: string[] = [];
  const row = (cells: (string | number)[]) =>
    lines.push(
      cells
        .map((c, i) => (i === 0 ? String(c).padEnd(11) : String(c).padStart(i === cells.length - 1 ? 8 : 9)))
        .join(" "),
    );
  row([
    "scenario",
    "alerts",
    "signals",
    "faults",
    "lost",
    "doubled",
    "5xx",
    "mismatch",
    "explained",
    "seconds",
  ]);
  for (const [name, s] of Object.entries(r.scenarios))
    row([
      name,
      s.alertsSent,
      s.signals,
      s.faults,
      s.lost,
      s.duplicated,
      s.fiveXX,
      s.mismatched,
      s.explained,
      (s.durationMs / 1000).toFixed(1),
    ]);
  row([
    "total",
    Object.values(r.scenarios).reduce((a, s) => a + s.alertsSent, 0),
    r.signals,
    r.faults,
    r.lost,
    r.duplicated,
    r.fiveXX,
    r.mismatched,
    r.explained,
    (r.durationMs / 1000).toFixed(1),
  ]);
  lines.push(
    "",
    `seed ${r.seed}; ${r.webhooks} webhook requests, ${r.executions} executions (${Object.entries(
      r.executionStatus,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ", ",
      )}), ${r.brokerOrders} broker orders (${r.brokerOrdersAtSimulator} at the simulators), ${r.relayRestarts} relay restarts, ${r.relayCrashes} relay crashes`,
    `simulators: ${r.brokers
      .filter((b) => b.orders + b.manualOrders > 0 || b.instances > 1)
      .map(
        (b) =>
          `${b.slot} ${b.instances} instance(s), ${b.orders} orders, ${b.manualOrders} manual, ${b.fills} fills`,
      )
      .join("; ")}`,
  );
  for (const [name, s] of Object.entries(r.scenarios)) {
    lines.push("", `[${name}] ${s.title}: faults ${JSON.stringify(s.faultDetail)}`);
    if (Object.values(s.byBroker ?? {}).some((n) => n > 0))
      lines.push(
        `  offending findings by broker: ${Object.entries(s.byBroker)
          .map(([b, n]) => `${b} ${n}`)
          .join(", ")}`,
      );
    for (const n of s.notes.slice(0, 30)) lines.push(`  ${n}`);
    if (s.explained) {
      lines.push(
        `  explained (the relay's own unknown/failed/problem reports): ${JSON.stringify(s.explainedByKind)}`,
      );
      for (const f of s.explainedExamples)
        lines.push(`    e.g. ${f.kind} ${f.id}: ${f.detail.slice(0, 240)}`);
    }
  }
  if (r.findings.length) {
    lines.push("", "OFFENDING FINDINGS:");
    for (const f of r.findings.slice(0, 200)) {
      lines.push(`  ${f.class} ${f.kind} ${f.id}: ${f.detail}`);
      for (const e of r.evidence[`${f.class}|${f.kind}|${f.id}`] ?? [])
        lines.push(`      ${e.slice(0, 400)}`);
    }
    if (r.findings.length > 200)
      lines.push(`  ... and ${r.findings.length - 200} more (see fault-results.json)`);
  }
  lines.push("", `relay logs: ${r.logDir}`);
  return lines.join("\n");
}
