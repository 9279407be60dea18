/**
 * ProjectX Gateway adapter (TopstepX and other prop firms): the broker factory for kind "projectx".
 *
 * @example
 *   const factory = createProjectXFactory({ logger });
 *   const session = factory.create({ accountId, name, kind: "projectx", environment: "live",
 *     credentials: { userName: "jdoe", apiKey: "..." } });
 *   await session.start();
 */
import type { BrokerFactory, BrokerKind, BrokerSession, SessionContext } from "../port";
import { credentialsProblem, credentialsSchema, type ProjectXFactoryOptions, resolveConfig } from "./config";
import { ContractCache } from "./contracts";
import { ProjectXSession } from "./session";

export type { BracketOutcome } from "./brackets";
export {
  type BracketMode,
  credentialsSchema,
  DEFAULT_API_URL,
  DEFAULT_RTC_URL,
  type ProjectXCredentials,
  type ProjectXFactoryOptions,
} from "./config";
export { describeError, ERROR_CODES } from "./errors";
export type { BracketTicks } from "./orders";
export { ProjectXUnavailable } from "./orders";
export { ProjectXSession } from "./session";

export class ProjectXFactory implements BrokerFactory {
  readonly kinds: readonly BrokerKind[] = ["projectx"];
  /** Contract specs per gateway host (firm), shared by every login on it. */
  private readonly contracts = new Map<string, ContractCache>();

  constructor(private readonly options: ProjectXFactoryOptions) {}

  validateCredentials(credentials: unknown): { ok: true } | { ok: false; message: string } {
    const parsed = credentialsSchema.safeParse(credentials);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, message: `ProjectX credentials: ${issue?.message ?? "invalid"}` };
    }
    const problem = credentialsProblem(parsed.data);
    return problem ? { ok: false, message: `ProjectX credentials: ${problem}` } : { ok: true };
  }

  create(context: SessionContext): ProjectXSession & BrokerSession {
    const parsed = credentialsSchema.safeParse(context.credentials);
    if (!parsed.success)
      throw new RangeError("ProjectX credentials are invalid; validate them before create()");
    const config = resolveConfig(this.options, parsed.data);
    let contracts = this.contracts.get(config.apiUrl);
    if (!contracts) {
      contracts = new ContractCache();
      this.contracts.set(config.apiUrl, contracts);
    }
    return new ProjectXSession({
      accountId: context.accountId,
      environment: context.environment,
      credentials: parsed.data,
      config,
      logger: this.options.logger,
      contracts,
    });
  }
}

export function createProjectXFactory(options: ProjectXFactoryOptions): ProjectXFactory {
  return new ProjectXFactory(options);
}
