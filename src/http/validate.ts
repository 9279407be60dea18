/** Request parsing with zod: the first problem becomes a clear 400 message naming the field. */
import type { Context } from "hono";
import type { z } from "zod";
import { RelayError } from "../errors";

export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  const field = issue.path.join(".");
  if (issue.code === "unrecognized_keys")
    return `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`;
  return field ? `${field}: ${issue.message}` : issue.message;
}

export function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw new RelayError("invalid_request", describeIssue(result.error));
  return result.data;
}

export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new RelayError("invalid_request", "The request body must be JSON.");
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID cannot exist: answer 404, not a database error. */
export function idParam(c: Context, what: string): string {
  const id = c.req.param("id") ?? "";
  if (!UUID.test(id)) throw new RelayError("not_found", `No ${what} with id "${id.slice(0, 64)}".`);
  return id;
}

/** A list's `limit`: 1 to LIMIT_MAX, LIMIT_DEFAULT when absent. */
export const LIMIT_MAX = 500;
export const LIMIT_DEFAULT = 50;

export function limitParam(c: Context, max = LIMIT_MAX, fallback = LIMIT_DEFAULT): number {
  const raw = c.req.query("limit");
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new RelayError("invalid_request", `limit must be a whole number from 1 to ${max}.`);
  return n;
}
