/**
 * loss: reaction of the loss monitor, from the quote that crosses a trader's daily loss limit (the
 * Tradovate simulator's `setPrice`) to the `order/liquidateposition` request on the simulator's wire.
 * Each run opens a fresh trader long 1 MNQ through a webhook, lets the monitor price it, then moves the
 * market through the limit. The floor measured in the same runs is the quote's own trip: `setPrice` to the
 * QuoteReceived event inside the relay (what any reaction must wait for).
 *
 * The simulator's clock is `performance` based, so request times on its record are sub-millisecond and on
 * the same clock as the measurement.
 */
import { dec } from "../../src/domain/decimal";
import type { RelayEvent } from "../../src/events";
import { TradovateSim } from "../../src/sim/tradovate/index";
import { api, median, percentile, startRelay } from "./harness";

export interface LossBenchResult {
  lossReactionP50Ms: number;
  lossReactionP99Ms: number;
  runs: number;
  /** Floor: setPrice -> QuoteReceived in the relay, median. */
  lossQuoteP50Ms: number;
  /** Reaction over the floor (medians). */
  lossReactionRatio: number;
}

const clock = () => performance.timeOrigin + performance.now();

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`loss bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function lossBench(databaseUrl: string, o: { runs?: number } = {}): Promise<LossBenchResult> {
  const runs = o.runs ?? 50;
  const sim = new TradovateSim({ now: clock });
  await sim.start();
  const relay = await startRelay({
    databaseUrl,
    // Every run breaches on purpose: the monitor's warnings are the measured path, not news.
    logLevel: "error",
    env: { TRADOVATE_DEMO_URL: sim.restUrl, TRADOVATE_LIVE_URL: sim.restUrl, TRADOVATE_MD_URL: sim.mdUrl },
  });
  const s = relay.relay.services;
  const monitor = relay.relay.monitor;
  const flattened = new Set<string>();
  relay.relay.bus.on((e: RelayEvent) => {
    if (e.type === "BreachFlattened" && e.traderId) flattened.add(e.traderId);
  });
  let crossing: { price: string; seenAt?: number } | undefined;
  s.pool.onEvent((_accountId, e) => {
    if (
      e.type === "QuoteReceived" &&
      crossing &&
      !crossing.seenAt &&
      String(e.last) === String(dec(crossing.price))
    )
      crossing.seenAt = clock();
  });

  const reactions: number[] = [];
  const quotes: number[] = [];
  try {
    sim.addUser({
      name: "bench",
      password: "bench-pw",
      accounts: [{ name: "DEMO-BENCH", balance: dec(1_000_000) }],
    });
    const account = await api<{ id: string }>(relay.url, "POST", "/api/accounts", {
      name: "Tradovate bench",
      broker: "tradovate",
      environment: "demo",
      credentials: {
        username: "bench",
        password: "bench-pw",
        appId: "Relay",
        appVersion: "1.0",
        deviceId: "bench",
      },
    });
    const front = sim.front("MNQ");
    for (let i = 0; i < runs; i++) {
      sim.setPrice(front, dec("21000"));
      const recorder = await api<{ id: string; webhookToken: string }>(relay.url, "POST", "/api/recorders", {
        name: `loss bench ${i}`,
        quantity: 1,
      });
      const trader = await api<{ id: string }>(relay.url, "POST", "/api/traders", {
        recorderId: recorder.id,
        accountId: account.id,
        maxDailyLoss: 50,
      });
      const res = await fetch(`${relay.url}/webhook/${recorder.webhookToken}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ticker: "MNQ1!", action: "buy", price: "21000" }),
      });
      if (res.status !== 202) throw new Error(`loss bench: webhook answered ${res.status}`);
      await until(() => monitor.book.holdingsOf(trader.id).length > 0, "the position to be booked");
      // The monitor streams this contract and has priced the position inside the limit.
      sim.setPrice(front, dec("20995"));
      await until(
        () => String(monitor.book.lastPrice(account.id, front)) === String(dec("20995")),
        "a quote",
      );
      const before = sim.requests({ endpoint: "order/liquidateposition" }).length;
      crossing = { price: "20970" };
      const t0 = clock();
      sim.setPrice(front, dec("20970")); // -60 against a 50 limit
      const request = await until(
        () => sim.requests({ endpoint: "order/liquidateposition" })[before],
        "the liquidation request",
      );
      reactions.push(request.at - t0);
      const seen = await until(() => crossing?.seenAt, "the crossing quote in the relay");
      quotes.push(seen - t0);
      await until(() => flattened.has(trader.id), "the breach to be flat");
    }
  } finally {
    await relay.stop();
    await sim.stop();
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  if (process.env.LOSS_BENCH_DEBUG) console.log(reactions.map(round).join(" "));
  const p50 = median(reactions);
  const floor = median(quotes);
  return {
    lossReactionP50Ms: round(p50),
    lossReactionP99Ms: round(percentile(reactions, 99)),
    runs: reactions.length,
    lossQuoteP50Ms: round(floor),
    lossReactionRatio: round(p50 / floor),
  };
}

// `tsx scripts/bench/loss.ts [runs]` runs it alone on a fresh embedded database.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { startDatabase } = await import("./harness");
  const db = await startDatabase();
  try {
    console.log(await lossBench(db.url, { runs: Number(process.argv[2] ?? 50) }));
  } finally {
    await db.stop();
  }
}
