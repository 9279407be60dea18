/** The conformance list against the paper broker (in-process paper market on a test database). */
import { afterAll, beforeAll } from "vitest";
import { paperDriver } from "../support/conformance-paper";
import { createTestDatabase, type TestDatabase } from "../support/db";
import { conformance } from "./scenarios";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

conformance("paper", () => paperDriver(db));
