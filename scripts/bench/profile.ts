/**
 * BENCH_PROFILE=1: a CPU profile of this process (the relay runs in it) over a measured part only, written
 * as a .cpuprofile (Chrome DevTools / speedscope), and its top entries by self time for the log.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface Profile {
  /** Stops, writes the file and returns the top `top` entries by self time ("12.3% name file:line"). */
  stop(file: string, top?: number): Promise<string[]>;
}

export async function startProfile(): Promise<Profile> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    async stop(file: string, top = 25) {
      const { profile } = await session.post("Profiler.stop");
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      return selfTime(profile.nodes as ProfileNode[], top);
    },
  };
}

function selfTime(nodes: ProfileNode[], top: number): string[] {
  const by = new Map<string, number>();
  let total = 0;
  for (const n of nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const f = n.callFrame;
    const where = f.url
      ? ` ${f.url.replace(/^.*node_modules\//, "").replace(/^.*\/src\//, "src/")}:${f.lineNumber + 1}`
      : "";
    const key = `${f.functionName || "(anonymous)"}${where}`;
    by.set(key, (by.get(key) ?? 0) + hits);
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${((100 * v) / Math.max(1, total)).toFixed(1).padStart(5)}% ${k}`);
}
