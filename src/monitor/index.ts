/**
 * The loss monitor and kill switch. Import only this file from outside src/monitor.
 *
 * @example (what src/runtime.ts does)
 *   const monitor = createLossMonitor({ sql, logger, bus, pool, directory, fills, config });
 *   entryGates.push(monitor.gate);
 *   await directory.start(); await monitor.start(); await pool.warmInUse(); ...
 *   // GET /api/loss-monitor: lossMonitorRoutes(services, monitor); POST /api/emergency/*: emergencyRoutes(services, monitor)
 */
import { LossMonitor, type LossMonitorDeps } from "./monitor";

export function createLossMonitor(deps: LossMonitorDeps): LossMonitor {
  return new LossMonitor(deps);
}

export { validRule } from "../domain/trading-day";
export type { Breach } from "./breaches";
export type { AccountFlattenReport, FlattenReport } from "./emergency";
export type { KillSwitchState } from "./kill-switch";
export type { FlattenState } from "./machine";
export { LossMonitor, type LossMonitorDeps } from "./monitor";
export { type LossSnapshot, lossSnapshot, monitorStatus } from "./present";
export { loadPropRules, savePropRules } from "./prop-repo";
export { type AccountLossSettings, loadAccountLossSettings, setAccountLossSettings } from "./repo";
export { SessionFlattener } from "./session-flatten";
