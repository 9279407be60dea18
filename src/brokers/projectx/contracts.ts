/**
 * Symbol -> ProjectX contract through Contract/search (front month from `activeContract`, tick size and
 * tick value from the gateway: valuePerPoint = tickValue / tickSize), cached for ten minutes. The
 * contracts are the firm's (its gateway host), the same for every login on it: the cache is one
 * `ContractCache` per host, shared by every login's directory; each login still asks with its own token.
 */
import { type ContractSpec, parseSymbol } from "../../domain/contract";
import { SharedFlights } from "../shared-lookups";
import type { CallResult, ProjectXHttp } from "./http";
import { ProjectXUnavailable } from "./orders";
import { parseContractId, searchTextsFor, specOf } from "./parse";
import { type ContractWire, contractByIdReplySchema, contractSearchReplySchema } from "./wire";

const TTL_MS = 10 * 60_000;

function why(reply: Exclude<CallResult<unknown>, { kind: "ok" }>): string {
  return reply.kind === "failed" ? (reply.errorMessage ?? `code ${reply.errorCode}`) : reply.reason;
}

/** What every login of one gateway host knows about contracts (held by the factory, per API URL). */
export class ContractCache {
  readonly specs = new Map<string, { spec: ContractSpec; at: number }>();
  readonly flights = new SharedFlights<ContractSpec>();
}

export class ContractDirectory {
  constructor(
    private readonly http: ProjectXHttp,
    private readonly cache: ContractCache,
  ) {}

  async resolve(symbol: string): Promise<ContractSpec> {
    const key = symbol.trim().toUpperCase();
    const hit = this.cache.specs.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.spec;
    return this.cache.flights.run(key, async () => {
      const spec = await this.lookup(symbol.trim());
      this.cache.specs.set(key, { spec, at: Date.now() });
      return spec;
    });
  }

  /** The gateway id for a spec, looked up by name when the spec does not carry it; throws when unknown. */
  async idOf(spec: ContractSpec): Promise<string> {
    if (spec.brokerContractId) return spec.brokerContractId;
    const found = (await this.resolve(spec.name)).brokerContractId;
    if (!found) throw new ProjectXUnavailable(`ProjectX lists no contract for ${spec.name}`);
    return found;
  }

  private async lookup(symbol: string): Promise<ContractSpec> {
    if (parseContractId(symbol)) {
      const reply = await this.http.post(
        "/api/Contract/searchById",
        { contractId: symbol },
        contractByIdReplySchema,
      );
      if (reply.kind !== "ok")
        throw new ProjectXUnavailable(`ProjectX contract lookup for ${symbol} failed (${why(reply)})`);
      const wire = reply.body.contract ?? reply.body.contracts?.[0];
      const spec = wire ? specOf(wire) : undefined;
      if (!spec) throw new ProjectXUnavailable(`ProjectX lists no contract ${symbol}`);
      return spec;
    }
    const parsed = parseSymbol(symbol);
    if (parsed.kind === "other") throw new ProjectXUnavailable(`not a futures symbol: ${symbol}`);
    let candidates: ContractWire[] = [];
    for (const text of searchTextsFor(parsed.root)) {
      const reply = await this.http.post(
        "/api/Contract/search",
        { searchText: text, live: false },
        contractSearchReplySchema,
      );
      if (reply.kind !== "ok")
        throw new ProjectXUnavailable(`ProjectX contract search for ${symbol} failed (${why(reply)})`);
      candidates = (reply.body.contracts ?? []).filter((c) => parseContractId(c.id)?.root === parsed.root);
      if (candidates.length > 0) break;
    }
    const ordered = candidates
      .map((c) => ({ c, id: parseContractId(c.id) }))
      .filter((x) => x.id !== undefined)
      .sort(
        (a, b) => (a.id?.year ?? 0) * 12 + (a.id?.month ?? 0) - ((b.id?.year ?? 0) * 12 + (b.id?.month ?? 0)),
      );
    let chosen: ContractWire | undefined;
    if (parsed.kind === "dated") {
      chosen = ordered.find((x) => x.id?.month === parsed.month && x.id.year === parsed.year)?.c;
    } else {
      const front = Math.max(
        0,
        ordered.findIndex((x) => x.c.activeContract),
      );
      chosen = ordered[front + parsed.nth - 1]?.c;
    }
    const spec = chosen ? specOf(chosen) : undefined;
    if (!spec) throw new ProjectXUnavailable(`ProjectX lists no contract for ${symbol}`);
    return spec;
  }
}
