/**
 * Local runs keep a generated credentials key under DATA_DIR, created once with owner-only permissions.
 * Production (DATABASE_URL set) must pass CREDENTIALS_KEY instead; config enforces that.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeKey } from "../config";

export async function loadOrCreateKeyFile(dataDir: string): Promise<{ key: Buffer; created: boolean }> {
  const path = join(dataDir, "credentials.key");
  try {
    const key = decodeKey(await readFile(path, "utf8"));
    if (!key) throw new Error(`${path} does not hold a 32-byte key; restore it from backup or remove it`);
    return { key, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  // "wx" fails if another process created the file first; then read theirs.
  try {
    await writeFile(path, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600);
    return { key, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return loadOrCreateKeyFile(dataDir);
  }
}
