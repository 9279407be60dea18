/**
 * Runs autocannon in its own process (so the load generator does not steal the server's event loop) and
 * returns its JSON summary.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
}

export async function autocannon(o: {
  url: string;
  connections: number;
  seconds: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  idReplacement?: boolean;
}): Promise<LoadResult> {
  const bin = join(process.cwd(), "node_modules", ".bin", "autocannon");
  const args = ["-j", "-c", String(o.connections), "-d", String(o.seconds), "-m", o.method ?? "GET"];
  if (o.body !== undefined) args.push("-b", o.body);
  if (o.idReplacement) args.push("-I");
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push("-H", `${k}=${v}`);
  args.push(o.url);
  const out = await new Promise<string>((ok, fail) => {
    const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      text += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.on("close", (code) => (code === 0 ? ok(text) : fail(new Error(`autocannon exited ${code}: ${err}`))));
  });
  const j = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  return {
    requestsPerSec: j.requests.average,
    p50Ms: j.latency.p50,
    p99Ms: j.latency.p99,
    total: j.requests.total,
    non2xx: j.non2xx,
    errors: j.errors,
  };
}
