/**
 * Runs a plan of fault scenarios against one relay child process, auditing after each once everything
 * settled, and sums the findings: `npm run test:faults` runs the full plan, test/faults a small one.
 */
import { type AuditReport, type Finding, type FindingClass, findingKey } from "./auditor";
import { BROKER_NAMES } from "./brokers";
import { FaultHarness, type RecorderHandle } from "./harness";
import { Rng } from "./rng";
import type { ScenarioContext, ScenarioResult } from "./scenario";
import { brokerDownScenario } from "./scenarios/broker-down";
import {
  delayedReplyScenario,
  penaltyScenario,
  socketDropScenario,
  tokenExpiryScenario,
} from "./scenarios/brokers";
import { databaseScenario } from "./scenarios/database";
import { dbFreezeScenario } from "./scenarios/db-freeze";
import { deleteOpenScenario } from "./scenarios/delete";
import { hostileScenario } from "./scenarios/hostile";
import { type KillPoint, killScenario } from "./scenarios/kill";
import { manualCloseScenario, manualFlattenRestartScenario } from "./scenarios/manual";
import { recorderFloodScenario } from "./scenarios/recorder-flood";
import { relaysScenario } from "./scenarios/relays";
import { repeatedIdsScenario } from "./scenarios/repeated-ids";
import { hostileSizesScenario } from "./scenarios/sizes";
import { slowBodyPlan, slowBodyScenario } from "./scenarios/slow-body";
import { staleExitScenario } from "./scenarios/stale";
import type { TruthOptions } from "./scenarios/truth-support";
import { unknownFloodScenario } from "./scenarios/unknown-flood";
import { settleAndAudit, signalsOf } from "./settle";

/** Issue 12, "the broker is the truth": each runs with followers on Tradovate, ProjectX and Webull. */
export const TRUTH_SCENARIOS = [
  "manual-close",
  "manual-flatten-restart",
  "broker-down-exits",
  "stale-exit",
  "delete-open",
  "hostile-sizes",
  // Last: it restarts every simulator.
  "repeated-ids",
] as const;

export const SCENARIOS = [
  "kill",
  "sockets",
  "delays",
  "penalties",
  "tokens",
  "database",
  "db-freeze",
  "recorder-flood",
  "hostile",
  "slow-body",
  "unknown-flood",
  "relays",
  ...TRUTH_SCENARIOS,
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
type TruthName = (typeof TRUTH_SCENARIOS)[number];
/** Scenarios that trade on the Tradovate fan-out recorders. */
const LEGACY_TRADING: readonly ScenarioName[] = [
  "sockets",
  "delays",
  "penalties",
  "tokens",
  "database",
  "db-freeze",
  "recorder-flood",
  "relays",
];

export interface SuitePlan {
  seed: number;
  only?: ScenarioName[];
  /** Followers of the kill scenario's recorder. */
  killTraders: number;
  killPoints: KillPoint[];
  /** Issue 16, the relays scenario: fan-outs with one of two joined relays SIGKILLed. */
  relayKills?: number;
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
  /** Followers per broker of each recorder of the broker-truth scenarios. */
  truthPerBroker: number;
  /** Pause after a manual action at the broker (or a restart) before the next step. */
  manualSettleMs: number;
  /** How long every broker stays unreachable in broker-down-exits. */
  brokerDownMs: number;
  /** Then ProjectX alone, this long (past the 30 s reconnect cap); 0 skips it. */
  longBrokerDownMs: number;
  /** maxSignalAgeSeconds of the stale-exit recorder. */
  staleMaxAgeSeconds: number;
  /** maxSignalAgeSeconds of the recorder whose entry is sent while the brokers are down. */
  outageEntryMaxAgeSeconds: number;
  /** Simulator restarts in repeated-ids (each followed by a round), before the account move. */
  idRestarts: number;
  quietTimeoutMs: number;
  graceMs: number;
  /** How long the database stays frozen in `db-freeze` (default 20 s), and its alerts' spacing. */
  freezeMs?: number;
  freezeIntervalMs?: number;
  /** How long one recorder floods at 200 alerts/s in `recorder-flood` (default 5 s). */
  floodMs?: number;
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
  /** Offending findings that name each broker (in their id or detail). */
  byBroker: Record<string, number>;
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
  /** Per simulator slot: instances started (restarts + 1), orders of ours, manual orders, fills. */
  brokers: { slot: string; instances: number; orders: number; manualOrders: number; fills: number }[];
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
    private readonly truth: Partial<Record<string, RecorderHandle>>,
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
      const trading = LEGACY_TRADING.filter(wants);
      const recorders: { kill?: RecorderHandle; main?: RecorderHandle; hostile?: RecorderHandle } = {};
      if (wants("kill") || (trading.length && plan.followers === 0)) {
        log(`setting up ${plan.killTraders} followers for the kill fan-out...`);
        recorders.kill = await h.recorder("Kill fan-out", plan.killTraders);
      }
      if (trading.length > 0) {
        if (plan.followers > 0)
          log(`setting up ${plan.followers} followers for the broker and database faults...`);
        recorders.main =
          plan.followers > 0 ? await h.recorder("Broker faults", plan.followers) : recorders.kill;
      }
      if (wants("hostile")) recorders.hostile = await h.recorder("Hostile input", 0);
      const truth: Partial<Record<string, RecorderHandle>> = {};
      const n = plan.truthPerBroker * BROKER_NAMES.length;
      const three = { brokers: BROKER_NAMES };
      const make = async (key: string, name: string, settings: Record<string, unknown> = {}, count = n) => {
        truth[key] = await h.recorder(name, count, settings, three);
      };
      const wanted = TRUTH_SCENARIOS.filter(wants);
      if (wanted.length)
        log(`setting up ${plan.truthPerBroker} follower(s) per broker for ${wanted.join(", ")}...`);
      if (wants("manual-close")) await make("manual-close", "Manual close");
      if (wants("manual-flatten-restart")) await make("manual-flatten-restart", "Manual flatten (MES)");
      if (wants("broker-down-exits")) {
        await make("broker-down-exits", "Exits while brokers are down");
        await make("broker-down-entries", "Entry while brokers are down", {
          maxSignalAgeSeconds: plan.outageEntryMaxAgeSeconds,
        });
      }
      if (wants("stale-exit"))
        await make("stale-exit", "Stale exits", { maxSignalAgeSeconds: plan.staleMaxAgeSeconds });
      if (wants("delete-open")) {
        await make("delete-traders", "Delete traders");
        await make("delete-accounts", "Delete accounts");
        await make("delete-spare", "Linked during delete", {}, 0);
      }
      if (wants("hostile-sizes")) await make("hostile-sizes", "Hostile sizes");
      if (wants("repeated-ids")) await make("repeated-ids", "Repeated broker ids");
      log(`setup done in ${Date.now() - started} ms (relay logs: ${h.logDir})`);
      return new FaultSuite(plan, h, ctx, recorders, truth);
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
      case "db-freeze":
        result = await dbFreezeScenario(ctx, {
          recorder: need(recorders.main),
          freezeMs: plan.freezeMs ?? 20_000,
          intervalMs: plan.freezeIntervalMs ?? 500,
          resendDelayMs: plan.resendDelayMs,
        });
        break;
      case "recorder-flood":
        result = await recorderFloodScenario(ctx, {
          recorder: need(recorders.main),
          floodPerSecond: 200,
          floodMs: plan.floodMs ?? 5_000,
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
      case "slow-body":
        result = await slowBodyScenario(ctx, slowBodyPlan(plan));
        break;
      case "unknown-flood":
        result = await unknownFloodScenario(ctx);
        break;
      case "relays":
        result = await relaysScenario(ctx, { recorder: need(recorders.main), kills: plan.relayKills ?? 2 });
        break;
      default:
        result = await this.runTruth(name, ctx);
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
    const offending = fresh.filter((f) => f.class !== "explained");
    const byBroker: Record<string, number> = {};
    for (const b of BROKER_NAMES)
      byBroker[b] = offending.filter((f) => f.id.includes(b) || f.detail.includes(b)).length;
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
      findings: offending,
      byBroker,
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

  private async runTruth(name: TruthName, ctx: ScenarioContext): Promise<ScenarioResult> {
    const { plan } = this;
    const need = (key: string) => {
      const r = this.truth[key];
      if (!r) throw new Error(`scenario ${name} is not in this plan`);
      return r;
    };
    const base: TruthOptions = { perBroker: plan.truthPerBroker, settleMs: plan.manualSettleMs };
    switch (name) {
      case "manual-close":
        return manualCloseScenario(ctx, { ...base, recorder: need(name) });
      case "manual-flatten-restart":
        return manualFlattenRestartScenario(ctx, { ...base, recorder: need(name) });
      case "broker-down-exits":
        return brokerDownScenario(ctx, {
          ...base,
          exits: need("broker-down-exits"),
          entries: need("broker-down-entries"),
          outageMs: plan.brokerDownMs,
          longOutageMs: plan.longBrokerDownMs,
        });
      case "stale-exit":
        return staleExitScenario(ctx, {
          ...base,
          recorder: need(name),
          maxAgeSeconds: plan.staleMaxAgeSeconds,
        });
      case "delete-open":
        return deleteOpenScenario(ctx, {
          ...base,
          traders: need("delete-traders"),
          accounts: need("delete-accounts"),
          spare: need("delete-spare"),
        });
      case "hostile-sizes":
        return hostileSizesScenario(ctx, { ...base, recorder: need(name) });
      case "repeated-ids":
        return repeatedIdsScenario(ctx, { ...base, recorder: need(name), restarts: plan.idRestarts });
    }
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
      brokers: h.brokers.all().map((slot) => ({
        slot: `${slot.broker}/${slot.slot}`,
        instances: slot.generations.length,
        orders: slot.generations.reduce((n, g) => n + g.orders().filter((o) => !o.manual).length, 0),
        manualOrders: slot.generations.reduce((n, g) => n + g.orders().filter((o) => o.manual).length, 0),
        fills: slot.generations.reduce((n, g) => n + g.tape.length, 0),
      })),
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
