/**
 * The paper market: one venue (matching engine) per paper account, one shared board of last prices.
 * A price from an alert or from POST /api/paper/prices moves the whole paper market, so resting
 * take-profits and stops of every paper account react to it. Each account's book is saved to Postgres
 * after every change, before the caller hears the outcome, so paper trading survives restarts.
 */

import type { Sql } from "../../db/client";
import { loadPaperState, paperVersion, savePaperState } from "../../db/paper";
import { specFromTable } from "../../domain/contract";
import { type Dec, dec } from "../../domain/decimal";
import { decodeSnapshot, encodeSnapshot } from "../../domain/venue/codec";
import { Venue } from "../../domain/venue/engine";
import type { Logger } from "../../log";

export const PAPER_SUB_ACCOUNT = "PAPER";
const DEFAULT_BALANCE = dec(50_000);

interface Book {
  accountId: string;
  venue: Venue;
  dirty: boolean;
  saving: Promise<void>;
  /** Version of the saved book this venue reflects. */
  version: number;
  /** The trading day whose realized P&L the book holds. */
  tradingDay: string | null;
}

export class PaperExchange {
  private readonly books = new Map<string, Promise<Book>>();
  private readonly prices = new Map<string, Dec>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    /** The trading day at an instant (futures days roll at 17:00 Chicago by default, not midnight). */
    private readonly dayOf: (at: Date) => string = (at) => at.toISOString().slice(0, 10),
  ) {}

  /** The account's venue, loaded from its saved book or opened with the starting balance. */
  book(accountId: string, startingBalance: Dec = DEFAULT_BALANCE): Promise<Book> {
    let book = this.books.get(accountId);
    if (!book) {
      book = this.open(accountId, startingBalance);
      this.books.set(accountId, book);
      book.catch(() => this.books.delete(accountId));
    }
    return book;
  }

  lastPrice(contract: string): Dec | undefined {
    return this.prices.get(contract);
  }

  /** Moves the paper market; every loaded book that changed is saved. */
  async setPrice(contract: string, price: Dec): Promise<void> {
    if (this.prices.get(contract) === price) return;
    this.prices.set(contract, price);
    const books = await Promise.all(this.books.values());
    for (const b of books) b.venue.setPrice(contract, price);
    await Promise.all(books.map((b) => this.save(b)));
  }

  /**
   * Before acting on a book: if another relay saved it since we loaded it, load theirs. (Only one relay
   * executes an account's orders at a time, so this is a hand-over, not a race.)
   */
  async sync(book: Book): Promise<void> {
    await book.saving;
    if ((await paperVersion(this.sql, book.accountId)) === book.version) {
      this.rollDay(book);
      return;
    }
    const saved = await loadPaperState(this.sql, book.accountId);
    if (!saved) return;
    book.venue.restore(decodeSnapshot(saved.state));
    book.version = saved.version;
    book.tradingDay = saved.tradingDay;
    for (const [contract, price] of this.prices) book.venue.setPrice(contract, price);
    book.dirty = false;
    this.rollDay(book);
  }

  /** A book first touched in a new trading day starts it with today's realized P&L at zero. */
  private rollDay(book: Book): void {
    const today = this.dayOf(this.now());
    if (book.tradingDay === today) return;
    if (book.tradingDay !== null) book.venue.resetDay();
    book.tradingDay = today;
    book.dirty = true;
  }

  /** Writes the book if it changed since the last save; saves of one book never overlap. */
  save(book: Book): Promise<void> {
    book.saving = book.saving.then(async () => {
      if (!book.dirty) return;
      book.dirty = false;
      const version = await savePaperState(
        this.sql,
        book.accountId,
        encodeSnapshot(book.venue.snapshot()),
        book.version,
        book.tradingDay ?? this.dayOf(this.now()),
      );
      if (version === undefined) {
        this.logger.error(
          { event: "PaperBookConflict", accountId: book.accountId },
          "another relay changed this paper book at the same time; reloading theirs",
        );
        await this.sync(book);
      } else book.version = version;
    });
    return book.saving;
  }

  private async open(accountId: string, startingBalance: Dec): Promise<Book> {
    const venue = new Venue({ spec: (c) => specFromTable(c, this.now()), clock: () => this.now().getTime() });
    const saved = await loadPaperState(this.sql, accountId);
    if (saved) venue.restore(decodeSnapshot(saved.state));
    venue.addAccount(accountId, startingBalance);
    const book: Book = {
      accountId,
      venue,
      dirty: !saved,
      saving: Promise.resolve(),
      version: saved?.version ?? 0,
      tradingDay: saved?.tradingDay ?? null,
    };
    this.rollDay(book);
    venue.on((e) => {
      if (e.type !== "price") book.dirty = true;
    });
    for (const [contract, price] of this.prices) venue.setPrice(contract, price);
    await this.save(book);
    return book;
  }
}
