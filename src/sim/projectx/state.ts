/** Shared state the REST routes and the hubs work on, and the route contract. */
import type { z } from "zod";
import type { ConnectionLog } from "../connections";
import type { Book } from "./book";
import type { Result } from "./commands";
import type { ContractCatalog } from "./contracts";
import type { SimAccount, SimUser } from "./options";
import type { Recorder } from "./recorder";
import type { TokenIssuer } from "./tokens";

export interface SimState {
  readonly book: Book;
  readonly contracts: ContractCatalog;
  readonly tokens: TokenIssuer;
  readonly recorder: Recorder;
  /** The TCP connections the server accepted, numbered. */
  readonly connections: ConnectionLog;
  readonly users: Map<string, SimUser>;
  readonly now: () => number;
  /** The account if it exists and belongs to the user. */
  account(userName: string | undefined, accountId: unknown): SimAccount | undefined;
}

/** A route's answer: an envelope (HTTP 200) or a ProblemDetails with an HTTP status. */
export type RouteResult = Result | { problem: number; title: string };

export interface Route<S extends z.ZodType = z.ZodType> {
  /** False only for loginKey: every other endpoint needs the bearer token. */
  auth: boolean;
  schema: S;
  handle(state: SimState, user: string | undefined, body: z.infer<S>): RouteResult;
}

export function route<S extends z.ZodType>(
  schema: S,
  handle: (state: SimState, user: string | undefined, body: z.infer<S>) => RouteResult,
  auth = true,
): Route {
  return { auth, schema, handle: handle as Route["handle"] };
}

export const okResult = (payload?: Record<string, unknown>): Result => ({
  errorCode: 0,
  errorMessage: null,
  payload,
});
