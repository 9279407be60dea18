/**
 * Webull OpenAPI simulator: signed REST on loopback, backed by the shared Venue. See README.md.
 */
export { expectedSignature, expectedStringToSign } from "./auth";
export type { ManualKind, ManualRecord } from "./book";
export type { ErrorBody, RateRule } from "./faults";
export { DEFAULT_RATE_LIMITS } from "./faults";
export type { RecordedRequest, SimOrderRecord, WebullSimOptions } from "./sim";
export { WebullSim } from "./sim";
export type { StandaloneOptions, StandaloneWebull } from "./standalone";
export { startStandalone } from "./standalone";
