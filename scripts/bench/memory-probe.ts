/**
 * Where a process's memory is, at one moment: Node's own counters, the V8 heap by space (what is
 * committed and what is physically resident), and the kernel's view (/proc/self/smaps) split into the
 * malloc heap, anonymous mappings (V8 pages, other malloc arenas, large allocations) and mapped files.
 * Also a heap snapshot reduced to bytes per object kind, to diff two moments.
 */
import { readFile, rm } from "node:fs/promises";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

export interface MemoryProbe {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Resident bytes of the V8 heap (all spaces): committed pages that are touched. */
  v8Physical: number;
  /** smaps: the brk heap (glibc's main malloc arena). */
  mallocHeap: number;
  /** smaps: anonymous mappings (V8 pages, thread malloc arenas, mmap'd allocations). */
  anonymous: number;
  /** smaps: mapped files (node binary, libraries). */
  files: number;
  spaces: Record<string, { used: number; committed: number; physical: number }>;
}

/** Forces full collections when the process runs with --expose-gc (twice: weak callbacks, then sweep). */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

async function smaps(): Promise<{ mallocHeap: number; anonymous: number; files: number }> {
  const out = { mallocHeap: 0, anonymous: 0, files: 0 };
  let text: string;
  try {
    text = await readFile("/proc/self/smaps", "utf8");
  } catch {
    return out; // not Linux
  }
  let kind: keyof typeof out | undefined;
  for (const line of text.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      kind =
        name === "[heap]"
          ? "mallocHeap"
          : name === ""
            ? "anonymous"
            : name.startsWith("/")
              ? "files"
              : undefined;
      continue;
    }
    if (kind && line.startsWith("Rss:")) out[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  return out;
}

export async function probe(): Promise<MemoryProbe> {
  const m = process.memoryUsage();
  const spaces: MemoryProbe["spaces"] = {};
  let v8Physical = 0;
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = {
      used: s.space_used_size,
      committed: s.space_size,
      physical: s.physical_space_size,
    };
    v8Physical += s.physical_space_size;
  }
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    v8Physical,
    ...(await smaps()),
    spaces,
  };
}

/** Bytes and counts per object kind (constructor name for objects; node type otherwise). */
export type HeapKinds = Map<string, { count: number; bytes: number }>;

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Writes a heap snapshot, reduces it to bytes per kind, deletes the file. Costs seconds and memory. */
export async function heapKinds(dir: string): Promise<HeapKinds> {
  const file = writeHeapSnapshot(`${dir}/heap-${process.pid}-${Date.now()}.heapsnapshot`);
  try {
    const snap = JSON.parse(await readFile(file, "utf8")) as SnapshotFile;
    const fields = snap.snapshot.meta.node_fields;
    const types = snap.snapshot.meta.node_types[0];
    const width = fields.length;
    const typeAt = fields.indexOf("type");
    const nameAt = fields.indexOf("name");
    const sizeAt = fields.indexOf("self_size");
    const kinds: HeapKinds = new Map();
    for (let i = 0; i < snap.nodes.length; i += width) {
      const type = types[snap.nodes[i + typeAt] ?? 0] ?? "?";
      const name = snap.strings[snap.nodes[i + nameAt] ?? 0] ?? "?";
      const key =
        type === "object" || type === "native"
          ? `${type === "native" ? "native " : ""}${name}`
          : type === "closure"
            ? "(closures)"
            : `(${type})`;
      const k = kinds.get(key) ?? { count: 0, bytes: 0 };
      k.count++;
      k.bytes += snap.nodes[i + sizeAt] ?? 0;
      kinds.set(key, k);
    }
    return kinds;
  } finally {
    if (!process.env.KEEP_HEAP_SNAPSHOTS) await rm(file, { force: true });
  }
}

/** The kinds that grew most between two snapshots, per unit (session). */
export function kindGrowth(
  before: HeapKinds,
  after: HeapKinds,
  units: number,
  top = 25,
): { kind: string; countPerUnit: number; bytesPerUnit: number }[] {
  const rows = [...after].map(([kind, a]) => {
    const b = before.get(kind) ?? { count: 0, bytes: 0 };
    return { kind, countPerUnit: (a.count - b.count) / units, bytesPerUnit: (a.bytes - b.bytes) / units };
  });
  return rows.sort((x, y) => y.bytesPerUnit - x.bytesPerUnit).slice(0, top);
}
