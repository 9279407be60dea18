/**
 * Local mirror of one login's Tradovate entities, built from the user/syncrequest snapshot and kept
 * current by `props` events. Each apply returns the changes it made, so a re-sync after a reconnect
 * reports what happened while the socket was down (fills, cancels) exactly like live events.
 *
 * A table (and an index) exists once it holds something: an idle login has an account and a cash
 * balance, and an empty Map costs as much as a small object, times sixteen, times every login.
 */
import type { z } from "zod";
import { ENTITY_SCHEMAS, type MirroredType } from "./wire";

type Entities = { [K in MirroredType]: z.infer<(typeof ENTITY_SCHEMAS)[K]> };
export type EventType = "Created" | "Updated" | "Deleted";
export type Change = {
  [K in MirroredType]: { entityType: K; eventType: EventType; entity: Entities[K]; raw: unknown };
}[MirroredType];

const SNAPSHOT_KEYS: Record<string, MirroredType> = {
  accounts: "account",
  orders: "order",
  orderVersions: "orderVersion",
  commands: "command",
  commandReports: "commandReport",
  executionReports: "executionReport",
  fills: "fill",
  positions: "position",
  cashBalances: "cashBalance",
  contracts: "contract",
  contractMaturities: "contractMaturity",
  products: "product",
};

interface Row<K extends MirroredType> {
  entity: Entities[K];
  json: string;
}

type Tables = { [K in MirroredType]?: Map<number, Row<K>> };

/** Reference data: survives a re-sync, where everything else is replaced by the new snapshot. */
const REFERENCE = ["contract", "contractMaturity", "product"] as const;

const isMirrored = (t: string): t is MirroredType => t in ENTITY_SCHEMAS;

export class Mirror {
  private tables: Tables = {};
  private byClOrdId?: Map<string, number>;
  private fillsByOrder?: Map<number, Set<number>>;
  private commandsByOrder?: Map<number, Set<number>>;
  private latestVersion?: Map<number, number>;
  /** Entities that failed their schema, for diagnostics. */
  skipped = 0;
  synced = false;

  /** Replaces the mirror with a sync snapshot; returns what is new or different from before. */
  applySnapshot(data: unknown): Change[] {
    const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
    const old = this.tables;
    const next: Tables = {};
    for (const type of REFERENCE) {
      const kept = old[type] as Map<number, unknown> | undefined;
      if (kept) (next as Record<string, unknown>)[type] = new Map(kept);
    }
    this.tables = next;
    this.byClOrdId = undefined;
    this.fillsByOrder = undefined;
    this.commandsByOrder = undefined;
    this.latestVersion = undefined;
    const changes: Change[] = [];
    for (const [key, type] of Object.entries(SNAPSHOT_KEYS)) {
      const list = d[key];
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const before = old[type]?.get(this.idOf(raw) ?? Number.NaN);
        const change = this.upsert(type, raw, "Created");
        if (!change) continue;
        if (before === undefined) changes.push(change);
        else if (before.json !== JSON.stringify(raw))
          changes.push({ ...change, eventType: "Updated" } as Change);
      }
    }
    this.synced = true;
    return changes;
  }

  /** Applies one `props` event (its entity may be an object or an array). */
  applyProps(entityType: string, eventType: string, entity: unknown): Change[] {
    if (!isMirrored(entityType)) return [];
    const items = Array.isArray(entity) ? entity : [entity];
    const changes: Change[] = [];
    for (const raw of items) {
      if (eventType === "Deleted") {
        const id = this.idOf(raw);
        const row = id === undefined ? undefined : this.tables[entityType]?.get(id);
        if (id !== undefined && row) {
          this.tables[entityType]?.delete(id);
          changes.push({ entityType, eventType: "Deleted", entity: row.entity, raw } as Change);
        }
        continue;
      }
      const change = this.upsert(entityType, raw, eventType === "Created" ? "Created" : "Updated");
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Adds entities fetched over REST/WS queries (no change events). */
  merge(entityType: MirroredType, list: unknown): void {
    for (const raw of Array.isArray(list) ? list : [list]) this.upsert(entityType, raw, "Updated");
  }

  get<K extends MirroredType>(type: K, id: number): Entities[K] | undefined {
    return (this.tables[type] as Map<number, Row<K>> | undefined)?.get(id)?.entity;
  }

  all<K extends MirroredType>(type: K): Entities[K][] {
    const table = this.tables[type] as Map<number, Row<K>> | undefined;
    return table ? [...table.values()].map((r) => r.entity) : [];
  }

  /** The command carrying our clOrdId (the New command). */
  commandByClOrdId(clOrdId: string): Entities["command"] | undefined {
    const id = this.byClOrdId?.get(clOrdId);
    return id === undefined ? undefined : this.get("command", id);
  }

  /** The New command of an order (the one with a clOrdId when there is one). */
  commandOf(orderId: number): Entities["command"] | undefined {
    let found: Entities["command"] | undefined;
    for (const id of this.commandsByOrder?.get(orderId) ?? []) {
      const c = this.get("command", id);
      if (!c) continue;
      if (c.clOrdId) return c;
      if (c.commandType === "New" || !found) found = c;
    }
    return found;
  }

  versionOf(orderId: number): Entities["orderVersion"] | undefined {
    const id = this.latestVersion?.get(orderId);
    return id === undefined ? undefined : this.get("orderVersion", id);
  }

  fillsOf(orderId: number): Entities["fill"][] {
    const ids = this.fillsByOrder?.get(orderId) ?? new Set<number>();
    return [...ids].flatMap((id) => {
      const f = this.get("fill", id);
      return f && f.active !== false ? [f] : [];
    });
  }

  cashOf(accountId: number): Entities["cashBalance"] | undefined {
    return this.all("cashBalance").find((c) => c.accountId === accountId);
  }

  /** The table of one entity type, created on its first row. */
  private table<K extends MirroredType>(type: K): Map<number, Row<K>> {
    let table = this.tables[type] as Map<number, Row<K>> | undefined;
    if (!table) {
      table = new Map();
      (this.tables as Record<string, unknown>)[type] = table;
    }
    return table;
  }

  private idOf(raw: unknown): number | undefined {
    const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
    return typeof id === "number" ? id : undefined;
  }

  private upsert<K extends MirroredType>(type: K, raw: unknown, eventType: EventType): Change | undefined {
    const parsed = ENTITY_SCHEMAS[type].safeParse(raw);
    if (!parsed.success) {
      this.skipped++;
      return undefined;
    }
    const entity = parsed.data as Entities[K];
    const id = (entity as { id: number }).id;
    this.table(type).set(id, { entity, json: JSON.stringify(raw) });
    if (type === "command") {
      const c = entity as Entities["command"];
      this.byClOrdId ??= new Map();
      if (c.clOrdId && (c.commandType === "New" || !this.byClOrdId.has(c.clOrdId)))
        this.byClOrdId.set(c.clOrdId, c.id);
      this.commandsByOrder ??= new Map();
      const set = this.commandsByOrder.get(c.orderId) ?? new Set<number>();
      set.add(c.id);
      this.commandsByOrder.set(c.orderId, set);
    } else if (type === "fill") {
      const f = entity as Entities["fill"];
      this.fillsByOrder ??= new Map();
      const set = this.fillsByOrder.get(f.orderId) ?? new Set<number>();
      set.add(f.id);
      this.fillsByOrder.set(f.orderId, set);
    } else if (type === "orderVersion") {
      const v = entity as Entities["orderVersion"];
      this.latestVersion ??= new Map();
      if (v.id >= (this.latestVersion.get(v.orderId) ?? 0)) this.latestVersion.set(v.orderId, v.id);
    }
    return { entityType: type, eventType, entity, raw } as Change;
  }
}
