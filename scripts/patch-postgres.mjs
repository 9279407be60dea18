// postinstall: guards postgres.js (3.4.x) against writing to a socket that closed while a small write
// waited in setImmediate. Unpatched, the write throws from a timer, outside any await, and kills the
// relay (porsager/postgres#1154, #1208; fix proposed in #1209, unreleased). Patched, the pending queries
// fail with a catchable CONNECTION_CLOSED, as they would for any dropped connection.
// Idempotent; fails the install loudly if a new postgres.js version moved the code, so the guard is never
// silently lost.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const MARK = "/* relay: guard nextWrite against a closed socket */";
const ORIGINAL = "function nextWrite(fn) {\n    const x = socket.write(chunk, fn)";
const PATCHED = `function nextWrite(fn) {
    ${MARK}
    if (!socket) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`;

let root;
try {
  // The package exports no package.json: resolve its entry and walk up to the package directory.
  root = dirname(createRequire(import.meta.url).resolve("postgres"));
  while (
    !existsSync(join(root, "package.json")) ||
    JSON.parse(readFileSync(join(root, "package.json"), "utf8")).name !== "postgres"
  ) {
    const up = dirname(root);
    if (up === root) throw new Error("no package directory");
    root = up;
  }
} catch {
  console.log("patch-postgres: postgres is not installed; nothing to patch");
  process.exit(0);
}
for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
  const path = join(root, file);
  const text = readFileSync(path, "utf8");
  if (text.includes(MARK)) continue;
  if (!text.includes(ORIGINAL)) {
    console.error(
      `patch-postgres: ${path} no longer has the expected nextWrite; review the guard for this postgres.js version`,
    );
    process.exit(1);
  }
  writeFileSync(path, text.replace(ORIGINAL, PATCHED));
  console.log(`patch-postgres: guarded ${file}`);
}
