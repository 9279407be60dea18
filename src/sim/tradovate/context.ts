/**
 * What a request handler sees: the shared simulator state (`SimWorld`) and the caller (`CallContext`),
 * plus small reply helpers. Handlers are transport-agnostic: REST and WS call the same functions.
 */
import type { Venue } from "../../domain/venue/engine";
import type { SimAuth, SimSession, SimUser } from "./auth";
import type { Catalog } from "./catalog";
import type { EntityStore } from "./entities";
import type { Recorder } from "./recorder";
import type { Trails } from "./trails";
import type { Transport } from "./types";

export interface SimWorld {
  venue: Venue;
  catalog: Catalog;
  store: EntityStore;
  auth: SimAuth;
  recorder: Recorder;
  /** TrailingStop orders following the market. */
  trails: Trails;
  now: () => number;
  findMissing: "notFound" | "empty";
}

export interface CallContext {
  /** Absent only for auth/accesstokenrequest. */
  user?: SimUser;
  session?: SimSession;
  transport: Transport;
  connectionId: number;
  /** Lower-case endpoint, no leading slash. */
  endpoint: string;
  rawEndpoint: string;
  query: URLSearchParams;
  /** The Bearer token (REST) or the token the socket authorized with. */
  token?: string;
}

/** An HTTP status and a JSON body (undefined: empty body; a string for non-2xx is the error text). */
export interface Reply {
  status: number;
  body?: unknown;
}

export const ok = (body?: unknown): Reply => ({ status: 200, body });
export const failure = (failureReason: string, failureText: string): Reply => ({
  status: 200,
  body: { failureReason, failureText },
});
export const badRequest = (text: string): Reply => ({ status: 400, body: text });
export const notFound = (text: string): Reply => ({ status: 404, body: text });
export const accessDenied = (): Reply => failure("UnknownReason", "Access is denied");
