/**
 * The relay as a real child process (`node --import tsx src/main.ts`), configured only through its
 * environment, that the harness can start, SIGKILL and start again with the same INSTANCE_ID and database.
 * Every log line goes to a file per generation; warnings and errors are also kept in memory for reports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface RelayProcessOptions {
  /** Repository root: the child runs `src/main.ts` from here. */
  repoRoot: string;
  /** The relay's environment (DATABASE_URL, PORT, INSTANCE_ID, ...); nothing else is inherited but PATH/HOME. */
  env: Record<string, string>;
  /** Where `relay-<generation>.log` files go. */
  logDir: string;
  /** How long a start may take (pre-warming every session, resuming, reconciling). Default 180 s. */
  startTimeoutMs?: number;
  /**
   * Start the relay again after an exit we did not cause, like a process supervisor (Railway's restart
   * policy) would, so one crash is measured and the run goes on. Default true.
   */
  restartOnCrash?: boolean;
  /** Prefix of its log files, for several relays in one directory (default none). */
  name?: string;
  /** Options for Node itself, before the script (`--cpu-prof` and the like, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

export interface RelayLogLine {
  generation: number;
  level: number;
  event?: string;
  line: string;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Log lines worth keeping in memory besides warnings and errors. */
const KEPT_EVENTS = new Set(["ExecutionsResumed", "RelayListening", "SignalNotRecorded", "RequestFailed"]);

export class RelayProcess {
  generation = 0;
  readonly url: string;
  readonly port: number;
  /** Warnings, errors and a few notable events of every generation. */
  readonly notable: RelayLogLine[] = [];
  /** Exits we did not cause (a crash is a finding of its own). */
  readonly unexpectedExits: {
    generation: number;
    code: number | null;
    signal: string | null;
    /** What the process wrote outside its log (an uncaught error's stack). */
    stderr: string;
  }[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private expectingExit = false;
  private disposed = false;
  /** The supervisor's restart after a crash, while it runs. */
  private recovering: Promise<void> | undefined;
  private readonly onHarnessExit = () => this.child?.kill("SIGKILL");

  constructor(private readonly o: RelayProcessOptions) {
    const port = Number(o.env.PORT);
    if (!Number.isInteger(port) || port <= 0) throw new Error("RelayProcess needs a fixed PORT");
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    process.on("exit", this.onHarnessExit);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Another relay like this one (same database, brokers and settings) under its own id and port. */
  sibling(instanceId: string, port: number): RelayProcess {
    return new RelayProcess({
      ...this.o,
      name: `${instanceId}-`,
      env: { ...this.o.env, INSTANCE_ID: instanceId, PORT: String(port) },
    });
  }

  logFile(generation = this.generation): string {
    return join(this.o.logDir, `${this.o.name ?? ""}relay-${generation}.log`);
  }

  /** Starts a new generation and resolves once /health answers (the relay opens its port last). */
  async start(): Promise<void> {
    if (this.running) throw new Error("the relay is already running");
    this.generation++;
    const generation = this.generation;
    const out: WriteStream = createWriteStream(this.logFile(generation));
    const child = spawn(process.execPath, [...(this.o.nodeArgs ?? []), "--import", "tsx", "src/main.ts"], {
      cwd: this.o.repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...this.o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.expectingExit = false;
    this.exited = new Promise((done) =>
      child.once("close", (code, signal) => {
        if (!this.expectingExit) {
          this.unexpectedExits.push({ generation, code, signal, stderr: this.stderrOf(generation) });
          this.superviseRestart();
        }
        done();
      }),
    );
    for (const [stream, stderr] of [
      [child.stdout, false],
      [child.stderr, true],
    ] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        out.write(`${line}\n`);
        this.keep(generation, line, stderr);
      });
    }
    void this.exited.then(() => out.end());

    const deadline = Date.now() + (this.o.startTimeoutMs ?? 180_000);
    for (;;) {
      if (!this.running) {
        throw new Error(
          `the relay exited during start (generation ${generation}); see ${this.logFile(generation)}:\n${this.tail(generation)}`,
        );
      }
      if (await this.healthy()) return;
      if (Date.now() > deadline)
        throw new Error(`the relay did not open its port in time; see ${this.logFile()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL, now: nothing of the relay runs after this call returns. */
  kill(): void {
    if (!this.child || !this.running) return;
    this.expectingExit = true;
    this.child.kill("SIGKILL");
  }

  async waitExit(): Promise<void> {
    await this.exited;
  }

  /** Resolves once a crashed relay has been started again (at once when nothing crashed). */
  async recovered(): Promise<void> {
    while (this.recovering) await this.recovering;
  }

  private superviseRestart(): void {
    if (this.disposed || this.o.restartOnCrash === false || this.recovering) return;
    // A crash loop is not worth chasing: five crashes and the run reports them as they are.
    if (this.unexpectedExits.length > 5) return;
    this.recovering = new Promise<void>((r) => setTimeout(r, 1_000))
      .then(() => (this.running || this.disposed ? undefined : this.start()))
      .catch(() => undefined)
      .finally(() => {
        this.recovering = undefined;
      });
  }

  /** Graceful stop (SIGTERM: stop intake, drain, close sockets), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.disposed = true;
    await this.recovered();
    if (!this.child || !this.running) return;
    this.expectingExit = true;
    this.child.kill("SIGTERM");
    const killer = setTimeout(() => this.child?.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(killer);
  }

  dispose(): void {
    this.disposed = true;
    this.kill();
    process.off("exit", this.onHarnessExit);
  }

  /** Kept lines matching an event name or a text, for reports. */
  lines(match: (l: RelayLogLine) => boolean, max = 20): RelayLogLine[] {
    return this.notable.filter(match).slice(0, max);
  }

  private async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  private keep(generation: number, line: string, stderr: boolean): void {
    let parsed: { level?: unknown; event?: unknown } | undefined;
    try {
      parsed = JSON.parse(line) as { level?: unknown; event?: unknown };
    } catch {
      // Not a log line: the start banner (stdout) or an uncaught error's stack (stderr), kept as an error.
      if (stderr && line.trim()) this.notable.push({ generation, level: 50, line });
      return;
    }
    const level =
      typeof parsed.level === "number"
        ? parsed.level
        : (LEVELS[typeof parsed.level === "string" ? parsed.level : "info"] ?? 30);
    const event = typeof parsed.event === "string" ? parsed.event : undefined;
    if (level >= 40 || (event && KEPT_EVENTS.has(event)))
      this.notable.push({ generation, level, line, ...(event ? { event } : {}) });
    if (this.notable.length > 200_000) this.notable.splice(0, 100_000);
  }

  private stderrOf(generation: number): string {
    return this.notable
      .filter((l) => l.generation === generation && l.event === undefined && !l.line.startsWith("{"))
      .slice(-8)
      .map((l) => l.line)
      .join("\n");
  }

  private tail(generation: number): string {
    return this.notable
      .filter((l) => l.generation === generation)
      .slice(-15)
      .map((l) => l.line)
      .join("\n");
  }
}
