/** ProjectX Gateway simulator: public surface. Never import this from src/ code outside src/sim or scripts. */

export type { SimContract } from "./contracts";
export type { Rejection } from "./faults";
export type { ManualDesk, ManualKind, ManualRecord } from "./manual";
export { OrderStatus, OrderType } from "./models";
export type {
  EventForm,
  ProjectXSimOptions,
  RecordedClose,
  RecordedInvocation,
  RecordedPlacement,
  RecordedRequest,
  SimAccountInput,
  SimUserInput,
} from "./options";
export { DUPLICATE_TAG_MESSAGE, POSITION_BRACKETS_MESSAGE } from "./place";
export { ProjectXSim } from "./sim";
export { type StandaloneOptions, type StandaloneSim, startStandalone } from "./standalone";
