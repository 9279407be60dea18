/** Starts a simulator worker (default tradovate-worker.ts) as a child process and talks to it over IPC. */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";

export class SimProcess {
  private child: ChildProcess | undefined;
  private next = 1;
  private readonly waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();

  constructor(private readonly worker = "tradovate-worker.ts") {}

  async start(): Promise<{ restUrl: string; wsUrl: string; mdUrl: string }> {
    this.spawn();
    return this.call("start") as Promise<{ restUrl: string; wsUrl: string; mdUrl: string }>;
  }

  /** The child process alone, for workers whose `start` takes arguments. */
  spawn(): void {
    this.child = fork(join(import.meta.dirname, this.worker), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m) => {
      const reply = m as { id: number; ok: boolean; result?: unknown; error?: string };
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.ok) w?.ok(reply.result);
      else w?.fail(new Error(reply.error));
    });
  }

  call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.child?.send({ id, cmd, ...args });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    const exited = new Promise((r) => this.child?.once("exit", r));
    await this.call("stop").catch(() => undefined);
    await exited;
  }
}
