/**
 * A deploy stops the relay the way Docker and Railway do: SIGTERM to `npm start`, the container's first
 * process, and nothing else. The signal must reach the relay itself, so that it stops taking webhooks,
 * drains its executions and closes its sockets, instead of npm exiting alone and leaving the relay
 * running without a parent until the platform kills it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { waitFor } from "../support/wait";

let db: TestDatabase;
let npm: ChildProcess | undefined;
let dataDir: string;
const lines: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok,
    () => false,
  );

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "relay-npm-start-"));
});

afterAll(async () => {
  // The whole process group, so a relay left behind by npm cannot outlive the test.
  if (npm?.pid) {
    try {
      process.kill(-npm.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start under a deploy", () => {
  it("D01 SIGTERM to npm alone reaches the relay: it drains, says so and leaves nothing running", async () => {
    const port = await freePort();
    const health = `http://127.0.0.1:${port}/health`;
    npm = spawn("npm", ["start"], {
      cwd: process.cwd(),
      // Its own process group: the test signals npm only, as a container runtime does.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_URL: db.url,
        CREDENTIALS_KEY: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        RELAY_ADMIN_TOKEN: "deploy-test-admin-token-0123456789",
        DATA_DIR: dataDir,
        DEMO_SETUP: "false",
        LOG_LEVEL: "info",
      },
    });
    for (const stream of [npm.stdout, npm.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => lines.push(...chunk.split("\n")));
    }
    // "exit", not "close": a relay left behind would hold npm's pipes open forever.
    const exited = new Promise<void>((done) => npm?.once("exit", () => done()));

    await waitFor(() => answers(health), "the relay to answer /health", 90_000);

    npm.kill("SIGTERM");
    await exited;
    const events = () =>
      lines.flatMap((l) => {
        try {
          return [(JSON.parse(l) as { event?: string }).event];
        } catch {
          return [];
        }
      });
    await waitFor(() => events().includes("ShutdownFinished"), "the relay to log ShutdownFinished", 30_000);
    expect(events()).toContain("ShutdownStarted");
    // No relay left behind: the port is closed once npm has gone.
    await waitFor(async () => !(await answers(health)), "the relay's port to close", 20_000);
  }, 120_000);
});
