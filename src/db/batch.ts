/**
 * Micro-batching of database calls: calls made in the same tick (a fan-out of N traders does N of each)
 * are sent as one multi-row statement, so the database sees one round trip instead of N.
 *
 * @example
 *   const lookup = new Batcher<string, Row | undefined>(async (ids) => { ...one query...; return rowsInOrder });
 *   const row = await lookup.add(id);
 */
export class Batcher<I, O> {
  private queue: { item: I; ok: (o: O) => void; fail: (e: unknown) => void }[] = [];
  private scheduled = false;
  private running = false;

  /**
   * @param serial one batch at a time: later calls wait for the batch in flight and go in the next one
   *   (for work whose batches must not overlap, such as booking fills onto positions).
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly max = 500,
    private readonly serial = false,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((ok, fail) => {
      this.queue.push({ item, ok, fail });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.serial && this.running) return;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max);
      this.running = true;
      this.run(batch.map((b) => b.item))
        .then(
          (results) => {
            batch.forEach((b, i) => {
              b.ok(results[i] as O);
            });
          },
          (error) => {
            for (const b of batch) b.fail(error);
          },
        )
        .finally(() => {
          this.running = false;
          if (this.serial && this.queue.length > 0) this.flush();
        });
      if (this.serial) return;
    }
  }
}
