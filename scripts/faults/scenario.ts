/**
 * What every scenario shares: its context (harness, seeded randomness, database outage windows), how it
 * reports (faults injected, notes, findings of its own), and how alerts are made and sent.
 */
import type { Finding, FindingClass } from "./auditor";
import type { WebhookRecord } from "./client";
import type { FaultHarness, RecorderHandle } from "./harness";
import type { Rng } from "./rng";

export interface Outage {
  from: number;
  /** Infinity while the database is still cut. */
  to: number;
}

export interface ScenarioContext {
  h: FaultHarness;
  rng: Rng;
  log: (line: string) => void;
  /** Database cuts so far: a 503 `not_recorded` sent during one is legitimate. */
  outages: Outage[];
}

export interface ScenarioResult {
  name: string;
  title: string;
  /** Logical alerts sent (re-sends of one alert count once). */
  alertsSent: number;
  faults: number;
  faultDetail: Record<string, number>;
  notes: string[];
  /** Findings only the scenario can make (e.g. a hostile request missing from the raw log). */
  findings: Finding[];
}

export type Action = "buy" | "sell" | "exit";

export class ScenarioRun {
  private alerts = 0;
  readonly result: ScenarioResult;

  constructor(name: string, title: string) {
    this.result = { name, title, alertsSent: 0, faults: 0, faultDetail: {}, notes: [], findings: [] };
  }

  get name(): string {
    return this.result.name;
  }

  /** Counts injected faults under a label (`kills`, `socketDrops`, ...). */
  fault(label: string, n = 1): void {
    this.result.faults += n;
    this.count(label, n);
  }

  /** A figure that is not a fault (e.g. sockets hit by one drop). */
  count(label: string, n = 1): void {
    this.result.faultDetail[label] = (this.result.faultDetail[label] ?? 0) + n;
  }

  note(text: string): void {
    this.result.notes.push(text);
  }

  finding(cls: FindingClass, kind: string, id: string, detail: string): void {
    this.result.findings.push({ class: cls, kind, id, detail });
  }

  /**
   * A new logical alert. With `withId` it carries an alert id (executed at most once ever); without, its
   * price is unique so two different alerts never fall into one dedup window.
   */
  alert(action: Action, o: { withId?: boolean } = {}): { key: string; body: string } {
    this.alerts++;
    this.result.alertsSent++;
    const key = `${this.result.name}-${this.alerts}`;
    const price = (21_000 + this.alerts * 0.25).toFixed(2);
    const body = { ticker: "MNQ1!", action, price, ...(o.withId === false ? {} : { id: key }) };
    return { key, body: JSON.stringify(body) };
  }
}

/** A new logical alert with any fields (ticker MNQ1! unless given); an alert id unless `withId` is false. */
export function customAlert(
  run: ScenarioRun,
  fields: Record<string, unknown>,
  o: { withId?: boolean } = {},
): { key: string; body: string } {
  const { key } = run.alert("buy", o);
  const body = { ticker: "MNQ1!", ...fields, ...(o.withId === false ? {} : { id: key }) };
  return { key, body: JSON.stringify(body) };
}

/** Traders of the recorder with an open position in the relay's book. */
export async function openPositions(h: FaultHarness, r: RecorderHandle): Promise<number> {
  const ids = r.followers.map((f) => f.traderId);
  const [row] = await h.sql`
    select count(*)::int as n from positions where trader_id = any(${ids}::uuid[]) and net_qty <> 0`;
  return (row?.n as number | undefined) ?? 0;
}

/** Buy when flat, exit when anything is open: every signal makes orders. */
export async function nextAction(h: FaultHarness, r: RecorderHandle): Promise<"buy" | "exit"> {
  return (await openPositions(h, r)) > 0 ? "exit" : "buy";
}

/** Sends one alert and waits until every execution has ended. */
export async function plainSignal(
  ctx: ScenarioContext,
  run: ScenarioRun,
  r: RecorderHandle,
  action: Action,
): Promise<WebhookRecord> {
  const { key, body } = run.alert(action);
  const rec = await ctx.h.client.send(run.name, key, r.token, body);
  await ctx.h.waitQuiet();
  return rec;
}

export function describeReply(rec: WebhookRecord): string {
  return rec.status !== undefined ? String(rec.status) : `no reply (${rec.error ?? "?"})`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done()` or the deadline; returns whether it happened. */
export async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}
