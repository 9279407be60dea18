/**
 * `npx tsx scripts/faults/pg-outage.ts`: the relay's own database pool (src/db/client.ts `connect`) through
 * a cuttable proxy, 32 workers querying while the database is cut for 1.5 s. Prints how long queries took
 * once the database was back. TradingView cancels a webhook after 3 s and never re-sends it, so no query
 * may hang anywhere near that long after an outage; exits 1 when one did. (With postgres.js's default
 * reconnect back-off, shared by the whole pool and capped at 20 s, they hang for up to ~20 s.)
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/db/client";
import { EmbeddedDatabase } from "../../src/db/embedded";
import { createLogger } from "../../src/log";
import { DbProxy, viaProxy } from "./db-proxy";

const logger = createLogger({ level: "silent" });
const dir = await mkdtemp(join(tmpdir(), "pg-outage-"));
await chmod(dir, 0o755);
const db = new EmbeddedDatabase({ dataDir: dir, logger, durable: false });
const url = await db.start();
const u = new URL(url);
const proxy = new DbProxy(u.hostname, Number(u.port));
await proxy.start();
const sql = connect(viaProxy(url, proxy.port), logger, { max: 30 });
await sql`select 1`;

let cutAt = 0;
let restoredAt = 0;
let stop = false;
const slow: string[] = [];
const worker = async () => {
  while (!stop) {
    const t = Date.now();
    let outcome = "ok";
    try {
      await sql`select pg_sleep(0.01)`;
    } catch (error) {
      outcome = String((error as Error).message ?? error).slice(0, 60);
    }
    const ms = Date.now() - t;
    if (ms > 3_000) slow.push(`issued at +${t - cutAt} ms after the cut: ${ms} ms (${outcome})`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const workers = Array.from({ length: 32 }, worker);
await new Promise((r) => setTimeout(r, 1_000));
proxy.cut();
cutAt = Date.now();
await new Promise((r) => setTimeout(r, 1_500));
proxy.restore();
restoredAt = Date.now();
await new Promise((r) => setTimeout(r, 25_000));
stop = true;
await Promise.all(workers);
console.log(`database cut for ${restoredAt - cutAt} ms; ${slow.length} queries took longer than 3 s:`);
for (const line of slow.slice(0, 40)) console.log(`  ${line}`);
await sql.end({ timeout: 2 });
await proxy.stop();
await db.stop();
await rm(dir, { recursive: true, force: true });
process.exit(slow.length ? 1 : 0);
