/**
 * One operation at a time per (account, sub-account, contract): reading the broker's position and sending
 * the order that depends on it must not interleave with another close, flatten or protect of the same
 * contract in this process, or two closes that each saw "long 2" would together make it short 2.
 */
export class ContractLocks {
  private readonly tails = new Map<string, Promise<void>>();

  static key(accountId: string, brokerAccountId: string, contract: string): string {
    return `${accountId}|${brokerAccountId}|${contract}`;
  }

  /** Runs `work` after every earlier holder of `key` is done. Not re-entrant: never nest the same key. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
