/**
 * Lookups whose answer is the same for every login of a broker host (contract specs: ids, tick size,
 * value per point), run once when several logins ask at the same time, e.g. the first alert of a
 * fan-out. Each login still runs the lookup with its own credentials; another login's failure (its token
 * refused, its socket down) is never taken as this login's answer: it then looks up on its own.
 *
 * @example
 *   const flights = new SharedFlights<ContractSpec>();
 *   const spec = await flights.run("MNQ1!", () => lookUpWithMyLogin("MNQ1!"));
 */
export class SharedFlights<V> {
  private readonly running = new Map<string, Promise<V>>();

  async run(key: string, lookup: () => Promise<V>): Promise<V> {
    const other = this.running.get(key);
    if (other) {
      try {
        return await other;
      } catch {
        // Not this login's answer: ask with its own credentials below.
      }
    }
    const mine = lookup();
    if (!this.running.has(key)) this.running.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.running.get(key) === mine) this.running.delete(key);
    }
  }
}
