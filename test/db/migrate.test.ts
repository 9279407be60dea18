import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe("migrator", () => {
  it("is idempotent and safe when two relays start together", async () => {
    const logger = createLogger({ level: "silent" });
    const results = await Promise.all([
      migrate(db.sql, logger),
      migrate(db.sql, logger),
      migrate(db.sql, logger),
    ]);
    expect(results).toEqual([0, 0, 0]); // the template already carries every migration
    const rows = await db.sql`select id from migrations order by id`;
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });
});
