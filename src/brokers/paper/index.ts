/** Paper broker factory: credentials are optional ({ startingBalance }). */
import { z } from "zod";
import { dec } from "../../domain/decimal";
import type { BrokerFactory, SessionContext } from "../port";
import type { PaperExchange } from "./exchange";
import { PaperSession } from "./session";

const credentials = z.strictObject({ startingBalance: z.number().positive().max(1e12).optional() });

export class PaperFactory implements BrokerFactory {
  readonly kinds = ["paper"] as const;

  constructor(
    private readonly exchange: PaperExchange,
    private readonly now: () => Date = () => new Date(),
  ) {}

  validateCredentials(input: unknown): { ok: true } | { ok: false; message: string } {
    const parsed = credentials.safeParse(input ?? {});
    if (parsed.success) return { ok: true };
    return {
      ok: false,
      message: "paper credentials may only hold startingBalance (a positive number of dollars)",
    };
  }

  create(context: SessionContext): PaperSession {
    const parsed = credentials.parse(context.credentials ?? {});
    return new PaperSession(
      context.accountId,
      context.name,
      this.exchange,
      dec(parsed.startingBalance ?? 50_000),
      this.now,
    );
  }
}
