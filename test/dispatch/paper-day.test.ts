/** The paper broker's "realized today" starts again at each trading-day roll (17:00 Chicago), not at midnight. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaperExchange } from "../../src/brokers/paper/exchange";
import { insertAccount } from "../../src/db/accounts";
import { dec, toStr } from "../../src/domain/decimal";
import { tradingDay } from "../../src/domain/trading-day";
import { createLogger } from "../../src/log";
import { createTestDatabase, type TestDatabase } from "../support/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

describe("paper trading day", () => {
  it("D01 resets realized-today at the roll, keeps the balance, across a restart too", async () => {
    const id = "11111111-2222-3333-4444-555555555555";
    await insertAccount(db.sql, {
      id,
      name: "p",
      broker: "paper",
      environment: "demo",
      credentials: Buffer.from([1]),
    });
    let now = new Date("2026-11-20T22:30:00Z"); // Friday 16:30 Chicago: trading day 2026-11-20
    const rule = { roll: "17:00", timeZone: "America/Chicago" };
    const exchange = () =>
      new PaperExchange(
        db.sql,
        createLogger({ level: "silent" }),
        () => now,
        (at) => tradingDay(at, rule),
      );
    const first = exchange();
    const book = await first.book(id);
    await first.setPrice("MNQZ6", dec("21000"));
    book.venue.place({ account: id, contract: "MNQZ6", side: "buy", type: "market", qty: 1 });
    await first.setPrice("MNQZ6", dec("21010"));
    book.venue.place({ account: id, contract: "MNQZ6", side: "sell", type: "market", qty: 1 });
    await first.save(book);
    expect(toStr(book.venue.account(id)?.realizedToday ?? dec(0))).toBe("20");

    now = new Date("2026-11-20T23:10:00Z"); // 17:10 Chicago: the next trading day has begun
    const restarted = exchange();
    const again = await restarted.book(id);
    expect(toStr(again.venue.account(id)?.realizedToday ?? dec(-1))).toBe("0");
    expect(toStr(again.venue.account(id)?.balance ?? dec(0))).toBe("50020");
    // Same day later on: nothing resets again.
    now = new Date("2026-11-21T02:00:00Z");
    await restarted.sync(again);
    expect(toStr(again.venue.account(id)?.balance ?? dec(0))).toBe("50020");
  });
});
