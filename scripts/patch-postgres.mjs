// postinstall: two guards for postgres.js (3.4.x), each of which otherwise kills the relay when a database
// connection drops at the wrong moment:
// 1. a socket that closed while a small write waited in setImmediate: the write throws from a timer,
//    outside any await (porsager/postgres#1154, #1208; fix proposed in #1209, unreleased). Patched, the
//    pending queries fail with a catchable CONNECTION_CLOSED, as they would for any dropped connection.
// 2. a connection cut while it looks up the array types (every new connection does, e.g. reconnects during
//    an outage): the look-up's promise is returned to a caller that ignores it, so its rejection is
//    unhandled. Patched, the failure is dropped there: the connection's own close or error handling fails
//    or retries the queries waiting on it, and a new connection looks the types up again.
// Idempotent; fails the install loudly if a new postgres.js version moved the code, so a guard is never
// silently lost.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const PATCHES = [
  {
    mark: "/* relay: guard nextWrite against a closed socket */",
    original: "function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    patched: `function nextWrite(fn) {
    /* relay: guard nextWrite against a closed socket */
    if (!socket) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    mark: "/* relay: the type look-up's failure is handled by the connection */",
    original: "        return fetchArrayTypes()\n",
    patched:
      "        /* relay: the type look-up's failure is handled by the connection */\n" +
      "        return fetchArrayTypes().catch(() => {})\n",
  },
];

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
  let text = readFileSync(path, "utf8");
  for (const p of PATCHES) {
    if (text.includes(p.mark)) continue;
    if (!text.includes(p.original)) {
      console.error(
        `patch-postgres: ${path} no longer has the expected code for "${p.mark}"; review the guard for this postgres.js version`,
      );
      process.exit(1);
    }
    text = text.replace(p.original, p.patched);
    console.log(`patch-postgres: ${p.mark} in ${file}`);
  }
  writeFileSync(path, text);
}
