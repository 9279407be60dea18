/**
 * CPU time of this process (the relay) and of the embedded PostgreSQL (postmaster and its backends, read
 * from /proc on Linux) over a measured part: on a shared 2-core machine this says who used the cores.
 */
import { readdir, readFile } from "node:fs/promises";
import type { Sql } from "../../src/db/client";

export interface CpuSplit {
  /** CPU seconds used by the relay's process over the part. */
  relaySeconds: number;
  /** CPU seconds used by PostgreSQL's processes (undefined where /proc cannot tell). */
  databaseSeconds: number | undefined;
}

const TICKS_PER_SECOND = 100;

async function stat(pid: string): Promise<{ ppid: string; ticks: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: f[1] ?? "", ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

async function databaseTicks(postmaster: string): Promise<number> {
  let ticks = (await stat(postmaster))?.ticks ?? 0;
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const s = await stat(pid);
    if (s?.ppid === postmaster) ticks += s.ticks;
  }
  return ticks;
}

/** CPU seconds a process has used so far (0 where /proc cannot tell). */
export async function processSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  return ((await stat(String(pid)))?.ticks ?? 0) / TICKS_PER_SECOND;
}

/** CPU seconds PostgreSQL's processes have used so far (the server `sql` is connected to). */
export async function databaseSeconds(sql: Sql): Promise<number | undefined> {
  try {
    const [row] = await sql`select pg_backend_pid() as pid`;
    const postmaster = (await stat(String(row?.pid)))?.ppid;
    return postmaster ? (await databaseTicks(postmaster)) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

export async function startCpuSplit(sql: Sql): Promise<{ stop(): Promise<CpuSplit> }> {
  const db0 = await databaseSeconds(sql);
  const relay0 = process.cpuUsage();
  return {
    async stop() {
      const relay = process.cpuUsage(relay0);
      const db1 = await databaseSeconds(sql);
      return {
        relaySeconds: (relay.user + relay.system) / 1e6,
        databaseSeconds: db0 !== undefined && db1 !== undefined ? db1 - db0 : undefined,
      };
    },
  };
}
