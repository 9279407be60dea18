/** Options, users and recorded entries of the ProjectX simulator. */
import type { Dec } from "../../domain/decimal";
import { dec } from "../../domain/decimal";

export type EventForm = "wrapped" | "bare" | "array";

export interface ProjectXSimOptions {
  /** Lifetime of issued tokens; 24 h like the real gateway. */
  tokenLifetimeMs?: number;
  /** REST rate limit: `max` requests per sliding `windowMs`, per user. Default 200 / 60 s. */
  rateLimit?: { max: number; windowMs: number };
  /** User hub payloads as `{action,data}` (live TopstepX, default), bare objects (docs) or wrapped in an array. */
  eventForm?: EventForm;
  /** Server pings on the hubs; SignalR clients time out after 30 s without one. */
  hubPingMs?: number;
  /** Fees per contract per fill; default $0.37 for micros, $1.40 otherwise. */
  feePerContract?: (root: string) => Dec;
  /** Listen port; 0 (ephemeral) unless a standalone run asks for a fixed one. */
  port?: number;
  /**
   * First order and trade ids (defaults 9001 and 8601): a test can make a new instance hand out the ids an
   * earlier one did, as a gateway whose ids start over (another firm, a reset environment).
   */
  firstIds?: { order?: number; trade?: number };
  now?: () => number;
}

export interface SimAccountInput {
  name: string;
  balance: Dec | number | string;
  /** Auto OCO Brackets mode (native brackets accepted); false = Position Brackets mode. */
  autoOco?: boolean;
  simulated?: boolean;
  canTrade?: boolean;
  /** Listed by Account/search {onlyActiveAccounts:true}. */
  active?: boolean;
}

export interface SimUserInput {
  userName: string;
  apiKey: string;
  accounts: SimAccountInput[];
}

export interface SimAccount {
  id: number;
  name: string;
  userName: string;
  autoOco: boolean;
  simulated: boolean;
  canTrade: boolean;
  active: boolean;
  /** Fees charged so far; the reported balance is net of them. */
  fees: Dec;
}

export interface SimUser {
  userName: string;
  apiKey: string;
  accountIds: number[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  /** User the bearer token belongs to, when it was valid. */
  user?: string;
  at: number;
  /** HTTP status sent; 0 while pending or when the reply was swallowed. */
  status: number;
  swallowed?: boolean;
  /** The TCP connection it came on (numbered from 1): requests of one client pool share numbers. */
  connection: number;
}

export interface RecordedInvocation {
  hub: "user" | "market";
  user: string;
  target: string;
  arguments: unknown[];
  at: number;
}

export interface RecordedPlacement {
  accountId: number;
  customTag: string | null;
  orderId?: number;
  success: boolean;
  errorCode: number;
  /** True when the tag was already held by a live (accepted) order of the account. */
  duplicateTag: boolean;
  at: number;
}

export interface RecordedClose {
  accountId: number;
  contractId: string;
  size?: number;
  success: boolean;
  errorCode: number;
  at: number;
}

const MICROS = new Set([
  "MES",
  "MNQ",
  "MYM",
  "M2K",
  "MGC",
  "SIL",
  "MHG",
  "MCL",
  "MBT",
  "MET",
  "M6E",
  "QM",
  "QG",
]);

export function defaultFee(root: string): Dec {
  return MICROS.has(root) ? dec("0.37") : dec("1.4");
}

export const DAY_MS = 86_400_000;
