/**
 * Runs a plan of fault scenarios against one relay child process, auditing after each once everything
 * settled, and sums the findings: `npm run test:faults` runs the full plan, test/faults a small one.
 */
import { type AuditReport, type Finding, type FindingClass, findingKey } from "./auditor";
import { FaultHarness, type RecorderHandle } from "./harness";
import { Rng } from "./rng";
import type { ScenarioContext, ScenarioResult } from "./scenario";
import {
  delayedReplyScenario,
  penaltyScenario,
  socketDropScenario,
  tokenExpiryScenario,
} from "./scenarios/brokers";
import { databaseScenario } from "./scenarios/database";
import { hostileScenario } from "./scenarios/hostile";
import { type KillPoint, killScenario } from "./scenarios/kill";
import { settleAndAudit, signalsOf } from "./settle";

export const SCENARIOS = ["kill", "sockets", "delays", "penalties", "tokens", "database", "hostile"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface SuitePlan {
  seed: number;
  only?: ScenarioName[];
  /** Followers of the kill scenario's recorder. */
  killTraders: number;
  killPoints: KillPoint[];
  /** Followers of the recorder every other trading scenario uses; 0 reuses the kill recorder. */
  followers: number;
  socketRounds: number;
  delayRounds: number;
  delayMs: number;
  penaltyRounds: number;
  tokenRounds: number;
  outageMs: number;
  outageIntervalMs: number;
  resendDelayMs: number;
  hostileBodies: number;
  rawRepeats: number;
  concurrency: number;
  quietTimeoutMs: number;
  graceMs: number;
  /** Use this database instead of an embedded one. */
  databaseUrl?: string;
  relayEnv?: Record<string, string>;
}

export interface ScenarioSummary {
  title: string;
  alertsSent: number;
  signals: number;
  faults: number;
  faultDetail: Record<string, number>;
  lost: number;
  duplicated: number;
  fiveXX: number;
  mismatched: number;
  explained: number;
  durationMs: number;
  settleMs: number;
  notes: string[];
  findings: Finding[];
  /** What the relay itself reported as unknown/failed or done with problems, by kind, with examples. */
  explainedByKind: Record<string, number>;
  explainedExamples: Finding[];
}

export interface SuiteResults {
  seed: number;
  durationMs: number;
  signals: number;
  faults: number;
  lost: number;
  duplicated: number;
  fiveXX: number;
  mismatched: number;
  explained: number;
  webhooks: number;
  executions: number;
  brokerOrders: number;
  brokerOrdersAtSimulator: number;
  relayRestarts: number;
  relayCrashes: number;
  executionStatus: Record<string, number>;
  scenarios: Record<string, ScenarioSummary>;
  /** Every finding that counts against the run (lost, duplicated, fiveXX, mismatched). */
  findings: Finding[];
  /** Executions that ended unknown/failed with a reason, and what they explain. */
  explainedByKind: Record<string, number>;
  explainedExamples: Finding[];
  /** Relay log lines mentioning an offending id. */
  evidence: Record<string, string[]>;
  logDir: string;
  /** Set when the harness itself failed and the run stopped early. */
  error?: string;
}

/**
 * One harness, one relay, scenarios run one at a time: `run(name)` runs a scenario, waits until everything
 * settled, audits, and returns what was new in that audit; `finish()` stops everything and sums up.
 */
export class FaultSuite {
  private readonly seen = new Map<string, Finding>();
  readonly scenarios: Record<string, ScenarioSummary> = {};
  private last: AuditReport | undefined;
  private readonly started = Date.now();

  private constructor(
    private readonly plan: SuitePlan,
    readonly h: FaultHarness,
    private readonly ctx: ScenarioContext,
    private readonly recorders: { kill?: RecorderHandle; main?: RecorderHandle; hostile?: RecorderHandle },
  ) {}

  static async start(plan: SuitePlan, log: (line: string) => void): Promise<FaultSuite> {
    const started = Date.now();
    const wants = (s: ScenarioName) => !plan.only || plan.only.includes(s);
    const h = await FaultHarness.start({
      ...(plan.databaseUrl ? { databaseUrl: plan.databaseUrl } : {}),
      ...(plan.relayEnv ? { relayEnv: plan.relayEnv } : {}),
      log,
    });
    try {
      const ctx: ScenarioContext = { h, rng: new Rng(plan.seed), log, outages: [] };
      const trading = SCENARIOS.filter((s) => s !== "hostile" && wants(s));
      const recorders: { kill?: RecorderHandle; main?: RecorderHandle; hostile?: RecorderHandle } = {};
      if (wants("kill") || (trading.length && plan.followers === 0)) {
        log(`setting up ${plan.killTraders} followers for the kill fan-out...`);
        recorders.kill = await h.recorder("Kill fan-out", plan.killTraders);
      }
      if (trading.some((s) => s !== "kill")) {
        if (plan.followers > 0)
          log(`setting up ${plan.followers} followers for the broker and database faults...`);
        recorders.main =
          plan.followers > 0 ? await h.recorder("Broker faults", plan.followers) : recorders.kill;
      }
      if (wants("hostile")) recorders.hostile = await h.recorder("Hostile input", 0);
      log(`setup done in ${Date.now() - started} ms (relay logs: ${h.logDir})`);
      return new FaultSuite(plan, h, ctx, recorders);
    } catch (error) {
      await h.stop().catch(() => undefined);
      throw error;
    }
  }

  /** Scenarios of the plan, in the order they run. */
  get planned(): ScenarioName[] {
    return SCENARIOS.filter((s) => !this.plan.only || this.plan.only.includes(s));
  }

  async run(name: ScenarioName): Promise<ScenarioSummary> {
    const { plan, recorders } = this;
    const ctx: ScenarioContext = { ...this.ctx, rng: this.ctx.rng.fork(name) };
    const need = (r: RecorderHandle | undefined) => {
      if (!r) throw new Error(`scenario ${name} is not in this plan`);
      return r;
    };
    const t0 = Date.now();
    this.ctx.log(`scenario ${name}...`);
    let result: ScenarioResult;
    switch (name) {
      case "kill":
        result = await killScenario(ctx, { recorder: need(recorders.kill), points: plan.killPoints });
        break;
      case "sockets":
        result = await socketDropScenario(ctx, { recorder: need(recorders.main), rounds: plan.socketRounds });
        break;
      case "delays":
        result = await delayedReplyScenario(ctx, {
          recorder: need(recorders.main),
          rounds: plan.delayRounds,
          delayMs: plan.delayMs,
        });
        break;
      case "penalties":
        result = await penaltyScenario(ctx, { recorder: need(recorders.main), rounds: plan.penaltyRounds });
        break;
      case "tokens":
        result = await tokenExpiryScenario(ctx, { recorder: need(recorders.main), rounds: plan.tokenRounds });
        break;
      case "database":
        result = await databaseScenario(ctx, {
          recorder: need(recorders.main),
          outageMs: plan.outageMs,
          intervalMs: plan.outageIntervalMs,
          resendDelayMs: plan.resendDelayMs,
        });
        break;
      case "hostile":
        result = await hostileScenario(ctx, {
          recorder: need(recorders.hostile),
          bodies: plan.hostileBodies,
          rawRepeats: plan.rawRepeats,
          concurrency: plan.concurrency,
        });
        break;
    }
    const ranMs = Date.now() - t0;
    const { report, waitedMs } = await settleAndAudit(this.ctx, {
      quietTimeoutMs: plan.quietTimeoutMs,
      graceMs: plan.graceMs,
    });
    this.last = report;
    const fresh: Finding[] = [];
    for (const f of [...result.findings, ...report.findings]) {
      const k = findingKey(f);
      if (this.seen.has(k)) continue;
      this.seen.set(k, f);
      fresh.push(f);
    }
    if (this.h.relay.unexpectedExits.length) {
      const f: Finding = {
        class: "lost",
        kind: "relay_crashed",
        id: `relay-${this.h.relay.unexpectedExits.length}`,
        detail: JSON.stringify(this.h.relay.unexpectedExits),
      };
      if (!this.seen.has(findingKey(f))) {
        this.seen.set(findingKey(f), f);
        fresh.push(f);
      }
    }
    const count = (c: FindingClass) => fresh.filter((f) => f.class === c).length;
    const summary: ScenarioSummary = {
      title: result.title,
      alertsSent: result.alertsSent,
      signals: await signalsOf(this.ctx, name),
      faults: result.faults,
      faultDetail: result.faultDetail,
      lost: count("lost"),
      duplicated: count("duplicated"),
      fiveXX: count("fiveXX"),
      mismatched: count("mismatched"),
      explained: count("explained"),
      durationMs: Date.now() - t0,
      settleMs: waitedMs,
      notes: result.notes,
      findings: fresh.filter((f) => f.class !== "explained"),
      ...explainedOf(fresh),
    };
    this.scenarios[name] = summary;
    this.ctx.log(
      `  ${name}: ${ranMs} ms + ${waitedMs} ms settling; lost ${summary.lost}, duplicated ${summary.duplicated}, 5xx ${summary.fiveXX}, mismatched ${summary.mismatched}, explained ${summary.explained}`,
    );
    for (const f of summary.findings.slice(0, 20))
      this.ctx.log(`    ${f.class} ${f.kind} ${f.id}: ${f.detail}`);
    return summary;
  }

  /** Stops the relay, the simulator and the database; sums every scenario. */
  async finish(): Promise<SuiteResults> {
    const { h } = this;
    await h.stop().catch((e) => this.ctx.log(`harness stop failed: ${String(e)}`));
    const all = [...this.seen.values()];
    const by = (c: FindingClass) => all.filter((f) => f.class === c);
    const { explainedByKind, explainedExamples } = explainedOf(all);
    const offending = all.filter((f) => f.class !== "explained");
    const evidence: Record<string, string[]> = {};
    for (const f of offending.slice(0, 50)) {
      const needle = f.id.split("|")[0] ?? f.id;
      const lines = h.relay
        .lines((l) => l.line.includes(needle), 5)
        .map((l) => `[relay generation ${l.generation}] ${l.line}`);
      if (lines.length) evidence[findingKey(f)] = lines;
    }
    const last = this.last;
    return {
      seed: this.plan.seed,
      durationMs: Date.now() - this.started,
      signals: last?.signals ?? 0,
      faults: Object.values(this.scenarios).reduce((a, s) => a + s.faults, 0),
      lost: by("lost").length,
      duplicated: by("duplicated").length,
      fiveXX: by("fiveXX").length,
      mismatched: by("mismatched").length,
      explained: by("explained").length,
      webhooks: h.client.records.length,
      executions: last?.executions ?? 0,
      brokerOrders: last?.brokerOrders ?? 0,
      brokerOrdersAtSimulator: last?.simOrders ?? 0,
      relayRestarts: h.relay.generation - 1,
      relayCrashes: h.relay.unexpectedExits.length,
      executionStatus: last?.executionStatus ?? {},
      scenarios: this.scenarios,
      findings: offending,
      explainedByKind,
      explainedExamples,
      evidence,
      logDir: h.logDir,
    };
  }
}

/** Explained findings by kind, with the first three of each kind as examples. */
function explainedOf(findings: Finding[]): {
  explainedByKind: Record<string, number>;
  explainedExamples: Finding[];
} {
  const explainedByKind: Record<string, number> = {};
  const explainedExamples: Finding[] = [];
  for (const f of findings) {
    if (f.class !== "explained") continue;
    explainedByKind[f.kind] = (explainedByKind[f.kind] ?? 0) + 1;
    if ((explainedByKind[f.kind] ?? 0) <= 3) explainedExamples.push(f);
  }
  return { explainedByKind, explainedExamples };
}

/** Every scenario of the plan, then the totals; the harness is stopped whatever happens. */
export async function runSuite(plan: SuitePlan, log: (line: string) => void): Promise<SuiteResults> {
  const suite = await FaultSuite.start(plan, log);
  let error: string | undefined;
  try {
    for (const name of suite.planned) await suite.run(name);
  } catch (e) {
    // A harness failure (not a finding): stop everything, keep what was measured, say what broke.
    error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    log(`the run stopped early: ${error}`);
  }
  const results = await suite.finish();
  return error ? { ...results, error } : results;
}
