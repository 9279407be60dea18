/**
 * Fault controls of the simulator: injected rejections, penalty tickets, 429s, swallowed, lost and
 * delayed replies, each scoped to an endpoint ("*" for all) and an optional filter. Penalty tickets are
 * checked here: a resend must carry the identical body plus "p-ticket" and come after p-time seconds.
 */
import { randomBytes } from "node:crypto";
import type { FaultFilter, InjectedFailure, PenaltySpec, Transport } from "./types";

export interface FaultTarget {
  endpoint: string;
  transport: Transport;
  user?: string;
  accountId?: number;
}

interface Rule<T> {
  endpoint: string;
  filter: FaultFilter;
  remaining: number;
  value: T;
}

interface Ticket {
  endpoint: string;
  body: string;
  notBefore: number;
  pTime: number;
  captcha: boolean;
}

export type PenaltyCheck =
  | { kind: "none" }
  | { kind: "cleared"; body: unknown }
  | { kind: "penalty"; reply: { "p-ticket": string; "p-time": number; "p-captcha"?: boolean } };

export const normalizeEndpoint = (endpoint: string) => endpoint.trim().replace(/^\//, "").toLowerCase();

/** JSON with sorted keys, so two bodies compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function withoutTicket(body: unknown): { ticket?: string; rest: unknown } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { rest: body };
  const { "p-ticket": ticket, ...rest } = body as Record<string, unknown>;
  if (typeof ticket !== "string") return { rest: body };
  // A body-less request resent with only the ticket is the identical request.
  return { ticket, rest: Object.keys(rest).length === 0 ? undefined : rest };
}

export class Faults {
  private rejects: Rule<InjectedFailure>[] = [];
  private penalties: Rule<PenaltySpec>[] = [];
  private limits: Rule<null>[] = [];
  private swallows: Rule<null>[] = [];
  private losses: Rule<null>[] = [];
  private delays: Rule<number>[] = [];
  private readonly tickets = new Map<string, Ticket>();

  constructor(private readonly now: () => number) {}

  reject(endpoint: string, failure: InjectedFailure & { count?: number }, filter: FaultFilter = {}) {
    this.rejects.push(this.rule(endpoint, filter, failure.count ?? 1, failure));
  }

  penalize(endpoint: string, spec: PenaltySpec, filter: FaultFilter = {}) {
    this.penalties.push(this.rule(endpoint, filter, spec.count ?? 1, spec));
  }

  rateLimit(endpoint: string, count: number, filter: FaultFilter = {}) {
    this.limits.push(this.rule(endpoint, filter, count, null));
  }

  swallow(endpoint: string, count: number, filter: FaultFilter = {}) {
    this.swallows.push(this.rule(endpoint, filter, count, null));
  }

  lose(endpoint: string, count: number, filter: FaultFilter = {}) {
    this.losses.push(this.rule(endpoint, filter, count, null));
  }

  delay(endpoint: string, ms: number, filter: FaultFilter = {}, count = Number.POSITIVE_INFINITY) {
    this.delays.push(this.rule(endpoint, filter, count, ms));
  }

  clear(): void {
    this.rejects = [];
    this.penalties = [];
    this.limits = [];
    this.swallows = [];
    this.losses = [];
    this.delays = [];
    this.tickets.clear();
  }

  takeRateLimit(t: FaultTarget): boolean {
    return this.take(this.limits, t) !== undefined;
  }

  takeReject(t: FaultTarget): InjectedFailure | undefined {
    return this.take(this.rejects, t);
  }

  takeSwallow(t: FaultTarget): boolean {
    return this.take(this.swallows, t) !== undefined;
  }

  takeLoss(t: FaultTarget): boolean {
    return this.take(this.losses, t) !== undefined;
  }

  takeDelay(t: FaultTarget): number | undefined {
    return this.take(this.delays, t);
  }

  /** A resend with a ticket is cleared (identical body, late enough) or penalized again; else rules apply. */
  checkPenalty(t: FaultTarget, body: unknown): PenaltyCheck {
    const { ticket, rest } = withoutTicket(body);
    if (ticket !== undefined) {
      const issued = this.tickets.get(ticket);
      if (
        issued &&
        !issued.captcha &&
        issued.endpoint === t.endpoint &&
        issued.body === canonical(rest) &&
        this.now() >= issued.notBefore
      ) {
        this.tickets.delete(ticket);
        return { kind: "cleared", body: rest };
      }
      // Too early, altered or unknown: a fresh ticket and a fresh wait.
      return {
        kind: "penalty",
        reply: this.issue(t.endpoint, rest, issued?.pTime ?? 1, issued?.captcha ?? false),
      };
    }
    const spec = this.take(this.penalties, t);
    if (spec === undefined) return { kind: "none" };
    const captcha = spec.captcha ?? t.endpoint === "auth/accesstokenrequest";
    return { kind: "penalty", reply: this.issue(t.endpoint, rest, spec.pTime, captcha) };
  }

  private issue(endpoint: string, body: unknown, pTime: number, captcha: boolean) {
    const ticket = randomBytes(12).toString("hex");
    this.tickets.set(ticket, {
      endpoint,
      body: canonical(body),
      notBefore: this.now() + pTime * 1000,
      pTime,
      captcha,
    });
    return { "p-ticket": ticket, "p-time": pTime, ...(captcha ? { "p-captcha": true } : {}) };
  }

  private rule<T>(endpoint: string, filter: FaultFilter, count: number, value: T): Rule<T> {
    return {
      endpoint: endpoint === "*" ? "*" : normalizeEndpoint(endpoint),
      filter,
      remaining: count,
      value,
    };
  }

  private take<T>(rules: Rule<T>[], t: FaultTarget): T | undefined {
    for (const rule of rules) {
      if (rule.remaining <= 0) continue;
      if (rule.endpoint !== "*" && rule.endpoint !== t.endpoint) continue;
      const f = rule.filter;
      if (f.transport !== undefined && f.transport !== t.transport) continue;
      if (f.user !== undefined && f.user !== t.user) continue;
      if (f.accountId !== undefined && f.accountId !== t.accountId) continue;
      rule.remaining--;
      return rule.value;
    }
    return undefined;
  }
}
