/**
 * Conformance driver for the paper broker: the paper market runs in-process on the shared Venue, its books
 * saved to a test database. Each driver gets a fresh paper market and a fresh paper account. Paper has
 * no network, so it offers no transport faults.
 */
import { randomUUID } from "node:crypto";
import { PaperFactory } from "../../src/brokers/paper";
import { PaperExchange } from "../../src/brokers/paper/exchange";
import type { BrokerEvent } from "../../src/brokers/port";
import { insertAccount } from "../../src/db/accounts";
import { dec, ZERO } from "../../src/domain/decimal";
import { asAccountId, asBrokerAccountId } from "../../src/domain/ids";
import { createLogger } from "../../src/log";
import type { ConformanceDriver, HeldOrder } from "./conformance";
import type { TestDatabase } from "./db";

const BALANCE = dec(50_000);

export async function paperDriver(db: TestDatabase): Promise<ConformanceDriver> {
  const accountId = randomUUID();
  await insertAccount(db.sql, {
    id: accountId,
    name: "Paper conformance",
    broker: "paper",
    environment: "demo",
    credentials: Buffer.from("sealed elsewhere"),
  });
  const exchange = new PaperExchange(db.sql, createLogger({ level: "silent" }));
  const factory = new PaperFactory(exchange);
  const session = factory.create({
    accountId: asAccountId(accountId),
    name: "Paper conformance",
    kind: "paper",
    environment: "demo",
    credentials: { startingBalance: 50_000 },
  });
  const events: BrokerEvent[] = [];
  session.on((e) => events.push(e));
  await session.start();
  const contract = await session.contract("MNQ1!");
  await exchange.setPrice(contract.name, dec("21000"));
  const [sub] = await session.brokerAccounts();
  if (!sub) throw new Error("paper lists no sub-account");
  const book = await exchange.book(accountId);

  return {
    broker: "paper",
    session,
    account: asBrokerAccountId(sub.id),
    contract,
    events,
    startingBalance: BALANCE,
    feePerContract: ZERO,
    setPrice: (price) => exchange.setPrice(contract.name, price),
    heldPosition: () => book.venue.position(accountId, contract.name)?.netPos ?? 0,
    heldOrder(clientOrderId): HeldOrder | undefined {
      const o = book.venue.orderByClientId(clientOrderId);
      if (!o) return undefined;
      return {
        status: o.status,
        side: o.side,
        qty: o.qty,
        ...(o.price !== undefined ? { price: o.price } : {}),
        ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
      };
    },
    received: () =>
      book.venue
        .listOrders(accountId)
        .filter((o) => o.status !== "rejected")
        .map((o) => ({
          ...(o.clientOrderId !== undefined ? { clientOrderId: o.clientOrderId } : {}),
          generated: false,
        })),
    duplicates() {
      const seen = new Map<string, number>();
      for (const o of book.venue.listOrders(accountId))
        if (o.clientOrderId) seen.set(o.clientOrderId, (seen.get(o.clientOrderId) ?? 0) + 1);
      return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    },
    async refusal(base) {
      // Paper fills market orders at the paper market's price; a contract nobody priced has none.
      const unpriced = await session.contract("M2K1!");
      return {
        order: { ...base, contract: unpriced, type: "market" },
        words: new RegExp(`paper trading has no price for ${unpriced.name}`),
      };
    },
    async stop() {
      await session.stop();
      await exchange.save(book);
    },
  };
}
